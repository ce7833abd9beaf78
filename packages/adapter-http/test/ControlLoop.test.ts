/**
 * The control loop on MariaDB, through real HTTP: one scenario per way the engine and the cloud
 * drifted apart before the reconcile loop (docs/STATE_MACHINE.md, "Reconciliation"), each of which
 * failed on the release before it, plus the scripted v5 agent through an emergency whose launch
 * reports are lost across a server restart. Skipped loudly when MariaDB is unreachable (failed
 * under CI=true).
 */
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, layer } from "@effect/vitest"
import { Engine, type Ids, Jobs } from "@spotfleet/engine"
import { Clock, Context, Effect, Exit, Fiber, Layer, Ref, Scope } from "effect"
import { countEvents, eventsOf, legacyCall } from "./legacy.js"
import { type AgentLog, FakeCloud, runAgent } from "./legacyAgent.js"
import * as MariaDb from "./mariadb.js"
import * as Sim from "./simAgent.js"
import { call, createTenant, serverLayer, TestServer } from "./utils.js"

const reachable = await MariaDb.reachable("the control-loop scenarios")
const { stores } = MariaDb.freshStore("spotfleet_loop")

const get = (path: string, token: string) => Effect.map(call("GET", path, { token }), (r) => Sim.ok(r, `GET ${path}`) as any)
const post = (path: string, token: string, body: unknown = {}) => Effect.map(call("POST", path, { token, body }), (r) => Sim.ok(r, `POST ${path}`) as any)

/** A clock `shiftMillis` ahead of the real one (the jobs read time only through `Clock`). */
const shiftedClock = (shiftMillis: number): Clock.Clock => {
  const base = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + shiftMillis,
    currentTimeMillis: Effect.sync(() => base.unsafeCurrentTimeMillis() + shiftMillis),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(shiftMillis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() + BigInt(shiftMillis) * 1_000_000n),
    sleep: (d) => base.sleep(d)
  }
}

const view = (agent: Sim.SimAgent) => get(`/api/agents/${agent.agentId}`, agent.token)

const inventoryItem = (instanceId: string, pool: string, tags: Record<string, string>, state = "running") => ({ instanceId, state, pool, tags })

/** Runs the command sweep the way the server's job does (optionally at a later time). */
const sweep = (shiftMillis = 0) => Jobs.sweep.pipe(Effect.withClock(shiftedClock(shiftMillis)))

/** Registers an agent, gets it a ready REPLICA and promotes it: the old PRIMARY is demoted with `autoTerminate` and a TERMINATE is queued. */
const withDemotedPrimary = (token: string, name: string) =>
  Effect.gen(function*() {
    const agent = yield* Sim.register(token, { logicalAgentId: name, pool: "t3.medium.us-east-1a", config: { terminateWaitSeconds: 0 } })
    yield* post(`/api/agents/${agent.agentId}/replicas`, token)
    const [launch] = yield* agent.poll
    const replicaId = yield* agent.execute(launch!)
    const replica = (yield* agent.instances).find((i) => i.cloudInstanceId === replicaId)!
    yield* post(`/api/agents/${agent.agentId}/instances/${replica.id}/promote`, token)
    const [promote] = yield* agent.poll
    yield* agent.execute(promote!)
    return { agent, replicaId: replicaId!, oldPrimary: agent.instanceId }
  })

// -- a server that can be restarted over the same MariaDB database ------------------------------

interface RestartableService {
  /** Runs with the current server (its `TestServer` and engine); the base URL follows restarts. */
  readonly withServer: <A, E>(effect: Effect.Effect<A, E, TestServer | Engine.Engine>) => Effect.Effect<A, E>
  /** Stops the server (its engine and in-memory state with it) and starts a new one on the same database. */
  readonly restart: Effect.Effect<void>
}

class Restartable extends Context.Tag("test/Restartable")<Restartable, RestartableService>() {}

const restartableLayer = Layer.scoped(
  Restartable,
  Effect.gen(function*() {
    const storeContext = yield* Layer.build(stores)
    type Running = { readonly scope: Scope.CloseableScope; readonly context: Context.Context<TestServer | Engine.Engine> }
    const start = Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(serverLayer(Layer.succeedContext(storeContext)), scope)
      return { scope, context } satisfies Running
    }).pipe(Effect.orDie)
    let current: Running = yield* start
    yield* Effect.addFinalizer(() => Scope.close(current.scope, Exit.void))
    // Reads the running server's address on every request, so a client outlives restarts.
    const server = { get baseUrl() { return Context.get(current.context, TestServer).baseUrl } }
    return {
      withServer: <A, E>(effect: Effect.Effect<A, E, TestServer | Engine.Engine>) =>
        Effect.suspend(() => Effect.provide(effect, Context.add(current.context, TestServer, server))),
      restart: Effect.gen(function*() {
        yield* Scope.close(current.scope, Exit.void)
        current = yield* start
      })
    } satisfies RestartableService
  })
).pipe(Layer.provide(FetchHttpClient.layer))

const suite = reachable ? layer(serverLayer(stores), { timeout: "120 seconds", excludeTestServices: true }) : undefined

if (suite === undefined) {
  describe.skip("the control loop over HTTP (MariaDB)", () => {})
} else {
  suite("the control loop over HTTP (MariaDB)", (it) => {
    it.effect("1. a TERMINATE that fails is queued again, and the instance counts as running until it is seen gone", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop1-${crypto.randomUUID()}`)
        const { agent, oldPrimary, replicaId } = yield* withDemotedPrimary(tenant.token, "t-1")
        const serving = inventoryItem(replicaId, "t3.medium.us-east-1a", { ManagedBy: "spotfleet" })
        const [terminate] = yield* agent.poll
        assert.strictEqual(terminate?.type, "TERMINATE_INSTANCE")
        yield* agent.execute(terminate!, "UnauthorizedOperation")
        const after = yield* view(agent)
        const old = after.instances.find((i: any) => i.cloudInstanceId === oldPrimary)
        assert.strictEqual(old.role, "TERMINATED")
        const retry = after.commands.filter((c: any) => c.type === "TERMINATE_INSTANCE" && c.instanceId === old.id && c.status === "pending")
        assert.strictEqual(retry.length, 1, "the TERMINATE is queued again")
        assert.isAbove(retry[0].notBefore, Date.now(), "after a backoff")
        assert.isNull(old.terminationConfirmedAt, "a TERMINATE sent is not a fact")
        // The inventory still lists it running: nothing more is queued (one attempt at a time).
        yield* post(`/api/agents/${agent.agentId}/heartbeat`, agent.token, {
          inventory: { instances: [serving, inventoryItem(oldPrimary, "t3.medium.us-east-1a", { ManagedBy: "spotfleet" })] }
        })
        assert.strictEqual((yield* agent.commands).filter((c) => c.type === "TERMINATE_INSTANCE" && c.status === "pending").length, 1)
        // …until it is gone from the inventory: confirmed, and the retry is no longer needed.
        yield* post(`/api/agents/${agent.agentId}/heartbeat`, agent.token, { inventory: { instances: [serving, inventoryItem(oldPrimary, "t3.medium.us-east-1a", {}, "terminated")] } })
        const confirmed = (yield* view(agent)).instances.find((i: any) => i.cloudInstanceId === oldPrimary)
        assert.isNumber(confirmed.terminationConfirmedAt)
        const events = yield* eventsOf(tenant.id as Ids.TenantId, agent.agentId as Ids.AgentId)
        assert.strictEqual(countEvents(events, "TerminationRetried"), 1)
        assert.strictEqual(countEvents(events, "TerminationConfirmed", (d) => d.how === "inventory"), 1)
      }))

    it.effect("2. a launch whose report is lost is found in the inventory and confirmed, not left as an orphan", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop2-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "t-2", pool: "t3.medium.us-east-1a" })
        yield* post(`/api/agents/${agent.agentId}/replicas`, agent.token)
        const [launch] = yield* agent.poll
        assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
        // The agent launched it (with our tags and the launch token) and crashed before reporting.
        const orphan = `i-orphan-${crypto.randomUUID().slice(0, 8)}`
        yield* post(`/api/agents/${agent.agentId}/heartbeat`, agent.token, {
          inventory: {
            instances: [
              inventoryItem(agent.instanceId, "t3.medium.us-east-1a", { ManagedBy: "spotfleet" }),
              inventoryItem(orphan, "t3.medium.us-east-1a", { ManagedBy: "spotfleet", "spotfleet:launch-token": String(launch!.params.temp_instance_id) }),
              inventoryItem("i-not-ours", "m5.large.us-east-1b", { Name: "database" })
            ]
          }
        })
        const roles = yield* agent.roles
        assert.strictEqual(roles[orphan], "REPLICA")
        assert.isUndefined(roles["i-not-ours"], "unmanaged instances are left alone")
        const events = yield* eventsOf(tenant.id as Ids.TenantId, agent.agentId as Ids.AgentId)
        assert.strictEqual(countEvents(events, "InstanceAdopted", (d) => d.matchedBy === "token" && d.as === "replica"), 1)
      }))

    it.effect("3. a replica that arrives after the sweep expired its emergency is promoted, not killed and launched again", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop3-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "t-3", pool: "t3.medium.us-east-1a" })
        yield* post(`/api/agents/${agent.agentId}/termination-notice`, agent.token, {
          instanceId: agent.instanceId,
          terminationTime: new Date(Date.now() + 1_500).toISOString()
        })
        const [launch] = yield* agent.poll
        assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
        yield* Effect.sleep("1700 millis")
        // The sweep runs just before the reclaim is reported: the launch expired at the deadline.
        yield* sweep()
        assert.strictEqual((yield* agent.commands).find((c) => c.id === launch!.id)?.status, "expired")
        yield* post(`/api/agents/${agent.agentId}/instances/terminated`, agent.token, { instanceId: agent.instanceId })
        // The replica boots a few seconds later and reports its launch.
        const replicaId = yield* agent.execute(launch!)
        const after = yield* view(agent)
        const replica = after.instances.find((i: any) => i.cloudInstanceId === replicaId)
        assert.strictEqual(replica.role, "REPLICA", "the late replica is kept")
        const promote = after.commands.find((c: any) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.instanceId === replica.id)
        assert.isDefined(promote, "and promoted")
        assert.isUndefined(
          after.commands.find((c: any) => c.type === "TERMINATE_INSTANCE" && c.params.instance_id === replicaId),
          "not terminated as late"
        )
        const [next] = yield* agent.poll
        assert.strictEqual(next?.type, "PROMOTE_REPLICA_TO_PRIMARY")
        yield* agent.execute(next!)
        assert.strictEqual((yield* agent.onePrimary("after the promotion")).cloudInstanceId, replicaId)
      }))

    it.effect("4. a v5 agent re-sending the same termination notice after its deadline opens no second emergency", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop4-${crypto.randomUUID()}`)
        const host = `i-v5host-${crypto.randomUUID().slice(0, 8)}`
        const reg = yield* legacyCall(tenant.token, "POST", "/api/agents/register", legacyRegister(host))
        const agentId: string = reg.body.agent_id
        const terminationTime = new Date(Date.now() + 1_000).toISOString().replace(/\.\d{3}Z$/, "Z")
        const notice = { cloud_instance_id: host, notice_type: "TERMINATION", termination_time: terminationTime }
        assert.strictEqual((yield* legacyCall(tenant.token, "POST", `/api/agents/${agentId}/termination-report`, notice)).status, 200)
        yield* Effect.sleep("2100 millis")
        yield* sweep() // the deadline passed: the notice is cleared, its launch expired
        for (let n = 0; n < 3; n++) {
          assert.strictEqual((yield* legacyCall(tenant.token, "POST", `/api/agents/${agentId}/termination-report`, notice)).status, 200)
        }
        const events = yield* eventsOf(tenant.id as Ids.TenantId, agentId as Ids.AgentId)
        assert.strictEqual(countEvents(events, "NoticeReceived"), 1, "one notice")
        assert.strictEqual(countEvents(events, "EmergencyLaunch", (d) => d.step === "launch"), 1, "one emergency launch")
      }))

    it.effect("5. the early PROMOTE is never handed to a v5 agent, nor queued again after a failure", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop5-${crypto.randomUUID()}`)
        const host = `i-v5host-${crypto.randomUUID().slice(0, 8)}`
        const agentId: string = (yield* legacyCall(tenant.token, "POST", "/api/agents/register", legacyRegister(host))).body.agent_id
        // 21 s to the deadline: within a second the promote margin (20 s) is reached.
        const terminationTime = new Date(Date.now() + 21_000).toISOString().replace(/\.\d{3}Z$/, "Z")
        yield* legacyCall(tenant.token, "POST", `/api/agents/${agentId}/termination-report`, { cloud_instance_id: host, notice_type: "TERMINATION", termination_time: terminationTime })
        const first = (yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/commands/pending`)).body.commands
        assert.deepStrictEqual(first.map((c: any) => c.command_type), ["LAUNCH_INSTANCE"])
        yield* Effect.sleep("1200 millis")
        const handed: Array<any> = []
        for (let n = 0; n < 3; n++) {
          const commands = (yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/commands/pending`)).body.commands as Array<any>
          handed.push(...commands)
          for (const c of commands) {
            // What the v5 agent answers to a PROMOTE without a replica id.
            yield* legacyCall(tenant.token, "POST", `/api/agents/${agentId}/action-result`, {
              request_id: c.request_id,
              agent_id: agentId,
              result: "FAILURE",
              cloud_instance_id: null,
              error_message: "no replica None",
              metadata: {}
            })
          }
          yield* Effect.sleep("300 millis")
        }
        assert.deepStrictEqual(handed.filter((c) => c.command_type === "PROMOTE_REPLICA_TO_PRIMARY").map((c) => c.params.replica_instance_id), [])
        const queued = (yield* Effect.flatMap(Engine.Engine, (e) => Effect.orDie(e.getAgent(tenant.id as Ids.TenantId, agentId as Ids.AgentId)))).commands
        assert.strictEqual(queued.filter((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY").length, 0)
      }))

    it.effect("6. a switch whose agent stops polling expires, closes its flow with a reason, and unblocks other flows", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop6-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "t-6", pool: "t3.medium.us-east-1a" })
        yield* post(`/api/agents/${agent.agentId}/switch`, agent.token, { pool: "t3.medium.us-east-1b" })
        // The agent never polls again. Sixteen minutes later the sweep runs.
        yield* sweep(16 * 60_000)
        const after = yield* view(agent)
        assert.isNull(after.agent.flow, "no flow stays open")
        assert.strictEqual(after.commands.find((c: any) => c.type === "LAUNCH_INSTANCE").status, "expired")
        const finished = (yield* eventsOf(tenant.id as Ids.TenantId, agent.agentId as Ids.AgentId)).filter((e) => e.type === "FlowFinished")
        assert.strictEqual(finished.length, 1)
        assert.strictEqual(finished[0]!.data.result, "failed")
        assert.isString(finished[0]!.data.reason)
        // A lower-priority flow is possible again.
        const replica = yield* call("POST", `/api/agents/${agent.agentId}/replicas`, { token: agent.token, body: {} })
        assert.strictEqual(replica.status, 200, replica.text)
      }))

    it.effect("7b. a report key is scoped by agent: another agent's report with the same key is never answered with the first one's result", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop7b-${crypto.randomUUID()}`)
        const a = yield* Sim.register(tenant.token, { logicalAgentId: "t-7a", pool: "t3.medium.us-east-1a" })
        const b = yield* Sim.register(tenant.token, { logicalAgentId: "t-7b", pool: "t3.medium.us-east-1b" })
        const key = `report-${crypto.randomUUID()}`
        const report = (agent: Sim.SimAgent, price: number) =>
          call("POST", `/api/agents/${agent.agentId}/pricing-report`, {
            token: agent.token,
            headers: { "x-request-id": key },
            body: { prices: [{ pool: "c5.large.us-east-1c", price }] }
          })
        const first = yield* report(a, 0.041)
        assert.strictEqual(first.status, 200, first.text)
        // The same agent again: the first answer, nothing written twice.
        const replay = yield* report(a, 0.041)
        assert.deepStrictEqual(replay.body, first.body)
        // Another agent with the same key: not the first agent's answer (its prices would be lost).
        const other = yield* report(b, 0.052)
        assert.notDeepEqual(other.body, first.body, "another agent's report answered with the first one's result")
        assert.strictEqual(other.status, 409, other.text)
        assert.strictEqual(other.body.error.code, "IdempotencyKeyReused")
      }))

    it.effect("8. a v1 termination notice whose time is already past gets the engine's budget (both dialects, one rule)", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`loop8-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "t-8", pool: "t3.medium.us-east-1a" })
        const before = Date.now()
        yield* post(`/api/agents/${agent.agentId}/termination-notice`, agent.token, {
          instanceId: agent.instanceId,
          terminationTime: new Date(before - 60_000).toISOString()
        })
        const after = yield* view(agent)
        assert.isAtLeast(after.agent.notice.deadline, before + 110_000, "two minutes from now, not a minute ago")
        const launch = after.commands.find((c: any) => c.type === "LAUNCH_INSTANCE")
        assert.isAtLeast(launch.expiresAt, before + 110_000)
        assert.isAtMost(launch.expiresAt, Date.now() + 120_000)
        // The same notice again (same instance, same time) is the same notice.
        yield* post(`/api/agents/${agent.agentId}/termination-notice`, agent.token, {
          instanceId: agent.instanceId,
          terminationTime: new Date(before - 60_000).toISOString()
        })
        assert.strictEqual(countEvents(yield* eventsOf(tenant.id as Ids.TenantId, agent.agentId as Ids.AgentId), "NoticeReceived"), 1)
      }))
  })

  describe("the scripted v5 agent through an emergency whose launch reports are lost across a server restart (MariaDB)", () => {
    layer(restartableLayer, { timeout: "120 seconds", excludeTestServices: true })((it) => {
      it.effect("ends with one PRIMARY, no orphan, and one PROMOTE", () =>
        Effect.gen(function*() {
          const restartable = yield* Restartable
          const tenant = yield* restartable.withServer(createTenant(`loop-v5-${crypto.randomUUID()}`))
          const cloud = new FakeCloud()
          const host = cloud.add({ id: `i-0host${crypto.randomUUID().slice(0, 8)}`, state: "running", az: "us-east-1a", type: "t3.medium", lifecycle: "spot", tags: { Role: "primary", ManagedBy: "SpotOptimizer" } })
          cloud.add({ id: "i-0unmanaged0000002", state: "running", az: "us-east-1b", type: "m5.large", lifecycle: "on-demand", tags: { Name: "unrelated" } })
          const stop = yield* Ref.make(false)
          const paused = yield* Ref.make(false)
          const waiting = yield* Ref.make(false)
          const dropLaunchReports = yield* Ref.make(true)
          const agentRef = yield* Ref.make<string | null>(null)
          const log: AgentLog = { calls: [], failures: [], fatal: [], executed: [] }
          const fiber = yield* Effect.fork(restartable.withServer(runAgent({
            token: tenant.token,
            cloud,
            host,
            timers: { heartbeatMillis: 150, pollMillis: 40, noticeMillis: 80, launchMillis: 60, terminateMillis: 30 },
            stop,
            log,
            agentId: agentRef,
            onStep: Effect.void,
            dropLaunchReports,
            paused,
            waiting
          })))
          const agentView = Effect.gen(function*() {
            const engine = yield* Engine.Engine
            return yield* Effect.orDie(engine.getAgent(tenant.id as Ids.TenantId, (yield* Ref.get(agentRef))! as Ids.AgentId))
          })
          const waitFor = (what: string, check: Effect.Effect<boolean, never, TestServer | Engine.Engine>) =>
            restartable.withServer(Effect.gen(function*() {
              const deadline = Date.now() + 20_000
              while (!(yield* check)) {
                if (Date.now() > deadline || log.fatal.length > 0) {
                  const state = (yield* Ref.get(agentRef)) === null ? null : yield* agentView
                  assert.fail(`timed out waiting for ${what}; fatal: ${log.fatal.join("; ")}; failures: ${log.failures.slice(0, 3).join("; ")}; ` +
                    `engine: ${JSON.stringify(state === null ? null : { flow: state.agent.flow, instances: state.instances.map((i) => [i.role, i.cloudInstanceId, i.pool]), commands: state.commands.map((c) => [c.type, c.status, c.expiresAt]) })}; ` +
                    `cloud: ${JSON.stringify([...cloud.instances.values()].map((i) => [i.id, i.state, i.type, i.az, i.lifecycle]))}; executed: ${JSON.stringify(log.executed)}`)
                }
                yield* Effect.sleep(20)
              }
            }))
          yield* waitFor("registration", Effect.map(Ref.get(agentRef), (id) => id !== null))
          yield* restartable.withServer(call("PATCH", `/api/agents/${(yield* Ref.get(agentRef))!}/config`, { token: tenant.token, body: { terminateWaitSeconds: 0 } }))
          // The cloud announces the reclaim of the agent's instance in 40 s.
          cloud.notices.set(host.id, Date.now() + 40_000)
          // The agent launches the replica; its reports are lost because the server goes down, and
          // the agent waits for it. The server restarts (a new engine on the same database).
          yield* waitFor("the replica launched, its reports lost, the agent waiting", Ref.get(waiting))
          assert.deepStrictEqual(log.executed.map((e) => e.result).at(-1), "SUCCESS (reports lost)")
          yield* restartable.restart
          yield* Ref.set(dropLaunchReports, false)
          yield* Ref.set(paused, false)
          // The next inventory shows the replica: the engine finds its launch and promotes it.
          yield* waitFor(
            "the replica promoted and the old instance terminated",
            Effect.map(agentView, (v) =>
              v.instances.filter((i) => i.role === "PRIMARY").length === 1 &&
              v.instances.find((i) => i.role === "PRIMARY")!.cloudInstanceId !== host.id &&
              cloud.instances.get(host.id)!.state === "terminated")
          )
          yield* Ref.set(stop, true)
          yield* Fiber.join(fiber)
          assert.deepStrictEqual(log.fatal, [])
          const v = yield* restartable.withServer(agentView)
          const primary = v.instances.find((i) => i.role === "PRIMARY")!
          assert.strictEqual(cloud.instances.get(primary.cloudInstanceId!)?.state, "running")
          // No orphan: everything with our tags that runs is live in the engine.
          const live = new Set(v.instances.filter((i) => i.role === "PRIMARY" || i.role === "REPLICA" || i.role === "ZOMBIE").map((i) => i.cloudInstanceId))
          for (const instance of cloud.instances.values()) {
            if (instance.state === "running" && instance.tags.ManagedBy === "SpotOptimizer") assert.isTrue(live.has(instance.id), `${instance.id} runs unmanaged`)
          }
          assert.strictEqual(log.executed.filter((e) => e.type === "PROMOTE_REPLICA_TO_PRIMARY").length, 1, "one PROMOTE")
          assert.strictEqual(v.commands.filter((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY").length, 1, "one PROMOTE queued")
          assert.strictEqual(log.failures.length, 0, log.failures.join("\n"))
        }))
    })
  })
}

function legacyRegister(instanceId: string) {
  return {
    cloud_account: "",
    project_id: "default",
    region: "us-east-1",
    hostname: "ip-10-0-1-17",
    agent_version: "5.0.1-production",
    instance_id: instanceId,
    instance_type: "t3.medium",
    az: "us-east-1a",
    ami_id: "ami-03cf127a",
    mode: "unknown",
    logical_agent_id: instanceId
  }
}

