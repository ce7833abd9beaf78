/**
 * The ten integration scenarios of issue 13, one test each, on MariaDB (`TEST_MYSQL_URL`, default
 * `mysql://root@127.0.0.1:3306`, a fresh database dropped after) through real HTTP, with simulated
 * agents that poll, execute and report. Jobs (auto-switch, consolidation, zombie retention) run
 * in-process against the server's own store. Skipped loudly when MariaDB is unreachable (failed
 * under CI=true).
 */
import { assert, describe, layer } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { AutoSwitch, ConsolidationJob, DecisionLog, DecisionModel, EventLog, Jobs } from "@spotfleet/engine"
import { Effect, Layer } from "effect"
import * as Sim from "./simAgent.js"
import { call, createTenant, serverLayer, shiftedClock } from "./utils.js"

const reachable = await MysqlTestDatabase.reachable("the ten scenarios")
const mysqlStores = MysqlTestDatabase.layerStore({ prefix: "spotfleet_scn" }).pipe(Layer.orDie)
const decisionLog = DecisionLog.makeMemory()

const stores = Layer.merge(
  mysqlStores,
  Layer.succeed(DecisionLog.DecisionLog, decisionLog)
)

const get = (path: string, token: string) => Effect.map(call("GET", path, { token }), (r) => Sim.ok(r, `GET ${path}`) as any)
const post = (path: string, token: string, body: unknown = {}, headers: Record<string, string> = {}) =>
  call("POST", path, { token, body, headers })

const eventTypes = (agentId: string, token: string) =>
  Effect.map(get(`/api/events?agentId=${agentId}&limit=500`, token), (r) => (r.events as Array<{ type: string }>).map((e) => e.type))

const metric = (text: string, name: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `))
  return line === undefined ? 0 : Number(line.split(" ")[1])
}


/** Reports prices as the agent does (observed now). */
const reportPrices = (agent: Sim.SimAgent, prices: Record<string, number>) =>
  Effect.map(
    post(`/api/agents/${agent.agentId}/pricing-report`, agent.token, { prices: Object.entries(prices).map(([pool, price]) => ({ pool, price })) }),
    (r) => Sim.ok(r, "pricing-report")
  )

/** Runs a switch the agent was handed to its end: LAUNCH → executed → PROMOTE → executed. Answers the PROMOTE. */
const completeSwitch = (agent: Sim.SimAgent) =>
  Effect.gen(function*() {
    const [launch] = yield* agent.poll
    assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
    yield* agent.execute(launch!)
    yield* agent.onePrimary("with the target running")
    const [promote] = yield* agent.poll
    assert.strictEqual(promote?.type, "PROMOTE_REPLICA_TO_PRIMARY")
    yield* agent.execute(promote!)
    return promote!
  })

const suite = reachable ? layer(serverLayer(stores), { timeout: "120 seconds", excludeTestServices: true }) : undefined

if (suite === undefined) {
  describe.skip("the ten scenarios over HTTP (MariaDB)", () => {})
} else {
  suite("the ten scenarios over HTTP (MariaDB)", (it) => {
    it.effect("1. normal heartbeat processing", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s1-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "hb-1", pool: "t3.medium.us-east-1a" })
        const before = metric((yield* call("GET", "/metrics")).text, "spotfleet_heartbeats_received_total")
        const eventsBefore = yield* eventTypes(agent.agentId, tenant.token)
        for (let i = 0; i < 5; i++) {
          const beat = Sim.ok(yield* post(`/api/agents/${agent.agentId}/heartbeat`, agent.token), "heartbeat") as any
          assert.strictEqual(beat.liveness, "online")
        }
        const after = metric((yield* call("GET", "/metrics")).text, "spotfleet_heartbeats_received_total")
        assert.strictEqual(after - before, 5)
        const view = yield* get(`/api/agents/${agent.agentId}`, tenant.token)
        assert.strictEqual(view.agent.liveness, "online")
        assert.isNotNull(view.agent.lastHeartbeatAt)
        assert.isAbove(view.agent.lastHeartbeatAt, Date.now() - 60_000)
        assert.deepStrictEqual(yield* agent.poll, [], "a heartbeat queues nothing")
        assert.strictEqual((yield* eventTypes(agent.agentId, tenant.token)).length, eventsBefore.length, "a heartbeat is not a state change")
        yield* agent.onePrimary("after heartbeats")
        const unknown = yield* post("/api/agents/agent-unknown/heartbeat", tenant.token)
        assert.strictEqual(unknown.status, 404)
      }))

    it.effect("2. manual switch with downtime tracking", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s2-${crypto.randomUUID()}`)
        const from = "m5.large.us-east-2a"
        const to = "m5.large.us-east-2b"
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "sw-1", pool: from, config: { autoTerminate: true, terminateWaitSeconds: 0 } })
        Sim.ok(yield* post(`/api/agents/${agent.agentId}/switch`, tenant.token, { pool: to }), "switch")
        const promote = yield* completeSwitch(agent)
        const primary = yield* agent.onePrimary("after the switch")
        assert.strictEqual(primary.pool, to)
        const report = yield* post(`/api/agents/${agent.agentId}/switch-report`, agent.token, {
          fromInstanceId: agent.instanceId,
          toInstanceId: primary.cloudInstanceId,
          startedAt: new Date(Date.now() - 4_200).toISOString(),
          completedAt: new Date().toISOString(),
          request_id: promote.requestId
        })
        assert.strictEqual((Sim.ok(report, "switch-report") as any).accepted, 1)
        const { switches } = yield* get(`/api/switches?agentId=${agent.agentId}`, tenant.token)
        assert.strictEqual(switches.length, 1)
        assert.strictEqual(switches[0].result, "succeeded")
        assert.strictEqual(switches[0].trigger, "manual")
        assert.strictEqual(switches[0].downtimeSource, "agent")
        assert.closeTo(switches[0].downtimeSeconds, 4.2, 0.01)
        const downtime = yield* get("/api/analytics/downtime", tenant.token)
        assert.strictEqual(downtime.succeeded, 1)
        assert.closeTo(downtime.maxSeconds, 4.2, 0.01)
        const [terminate] = yield* agent.step()
        assert.strictEqual(terminate?.type, "TERMINATE_INSTANCE")
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "TERMINATED")
      }))

    it.effect("3. auto-switch via the ML decision", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s3-${crypto.randomUUID()}`)
        const from = "c5.large.us-west-1a"
        const to = "c5.large.us-west-1b"
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "ml-1", pool: from, config: { autoSwitch: true, minPoolDurationHours: 0 } })
        yield* agent.step()
        yield* reportPrices(agent, { [from]: 0.06, [to]: 0.015, [`ondemand:${from}`]: 0.085 })
        const summary = yield* AutoSwitch.runOnce().pipe(
          Effect.provide(DecisionModel.layerRuleBased),
          Effect.provideService(DecisionLog.DecisionLog, decisionLog),
          Effect.orDie
        )
        assert.isAtLeast(summary.switches, 1)
        const { decisions } = yield* get(`/api/decisions?agentId=${agent.agentId}`, tenant.token)
        assert.strictEqual(decisions[0].decision.action, "SWITCH")
        assert.strictEqual(decisions[0].decision.targetPool, to)
        assert.isTrue(decisions[0].acted)
        yield* completeSwitch(agent)
        assert.strictEqual((yield* agent.onePrimary("after the ML switch")).pool, to)
        const { switches } = yield* get(`/api/switches?agentId=${agent.agentId}`, tenant.token)
        assert.strictEqual(switches[0].trigger, "ml")
        assert.strictEqual(switches[0].result, "succeeded")
      }))

    it.effect("4. emergency rebalance flow", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s4-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "rb-1", pool: "r5.large.eu-north-1a" })
        yield* agent.notice("rebalance", agent.instanceId)
        const [launch] = yield* agent.step()
        assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
        assert.strictEqual(launch?.priority, 100)
        const primary = yield* agent.onePrimary("with the prepared replica")
        assert.strictEqual(primary.cloudInstanceId, agent.instanceId, "a rebalance only prepares: the PRIMARY stays")
        assert.strictEqual(Object.values(yield* agent.roles).filter((r) => r === "REPLICA").length, 1)
        assert.deepStrictEqual(yield* agent.poll, [])
        const { events } = yield* get(`/api/emergency-events?agentId=${agent.agentId}`, tenant.token)
        assert.includeMembers(events.map((e: { type: string }) => e.type), ["NoticeReceived", "EmergencyLaunch"])
      }))

    it.effect("5. emergency termination flow", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s5-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "tn-1", pool: "r5.large.eu-north-1b" })
        yield* agent.notice("termination", agent.instanceId)
        const [launch] = yield* agent.poll
        assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
        assert.strictEqual(launch?.priority, 100)
        yield* agent.onePrimary("while the replacement launches")
        yield* agent.execute(launch!)
        const [promote] = yield* agent.poll
        assert.strictEqual(promote?.type, "PROMOTE_REPLICA_TO_PRIMARY")
        yield* agent.execute(promote!)
        const primary = yield* agent.onePrimary("after the emergency")
        assert.notStrictEqual(primary.cloudInstanceId, agent.instanceId)
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "TERMINATED")
        const view = yield* get(`/api/agents/${agent.agentId}`, tenant.token)
        assert.isNull(view.agent.flow, "the emergency is over")
        const { events } = yield* get(`/api/emergency-events?agentId=${agent.agentId}`, tenant.token)
        assert.includeMembers(events.map((e: { type: string }) => e.type), ["NoticeReceived", "EmergencyLaunch", "NoticeCleared"])
      }))

    it.effect("6. pricing data consolidation", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s6-${crypto.randomUUID()}`)
        const pool = "t3.large.ap-south-1a"
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "px-1", pool })
        const slot = 300_000
        const t0 = Math.floor((Date.now() - 3 * 3600_000) / slot) * slot
        for (const [n, price] of [[0, 0.03], [2, 0.034], [4, 0.031]] as const) {
          Sim.ok(
            yield* post(`/api/agents/${agent.agentId}/pricing-report`, agent.token, {
              prices: [{ pool, price, observedAt: new Date(t0 + n * slot + 500).toISOString() }]
            }),
            "pricing-report"
          )
        }
        const job = yield* ConsolidationJob.make({ fillPolicy: "step" })
        const run = yield* job.run({ from: t0, to: t0 + 5 * slot })
        assert.strictEqual(run.status, "succeeded")
        const history = yield* get(`/api/prices/history?pool=${pool}&from=${t0}`, tenant.token)
        assert.deepStrictEqual(
          history.points.filter((p: { at: number }) => p.at < t0 + 5 * slot).map((p: any) => [p.at - t0, p.source, p.price]),
          [[0, "agent", 0.03], [slot, "interpolated", 0.03], [2 * slot, "agent", 0.034], [3 * slot, "interpolated", 0.034], [4 * slot, "agent", 0.031]]
        )
        const { runs } = yield* get("/api/prices/consolidation-runs?limit=5", tenant.token)
        assert.isTrue(runs.some((r: { id: string; filled: number }) => r.id === run.id && r.filled === 2))
      }))

    it.effect("7. optimistic lock conflict resolution (concurrent requests on one agent)", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s7-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "ol-1", pool: "t3.medium.us-east-1c" })
        const initial = (yield* get(`/api/agents/${agent.agentId}`, tenant.token)).agent
        const patches = Array.from({ length: 12 }, (_, i) => ({ terminateWaitSeconds: 60 + i }))
        const results = yield* Effect.forEach(
          [
            ...patches.map((payload) => call("PATCH", `/api/agents/${agent.agentId}/config`, { token: tenant.token, body: payload })),
            ...Array.from({ length: 6 }, () => post(`/api/agents/${agent.agentId}/heartbeat`, agent.token)),
            post(`/api/agents/${agent.agentId}/replicas`, tenant.token)
          ],
          (e) => e,
          { concurrency: "unbounded" }
        )
        for (const r of results) assert.include([200, 409], r.status, r.text)
        const applied = results.slice(0, patches.length).filter((r) => r.status === 200).length
        assert.isAtLeast(applied, 1)
        const after = (yield* get(`/api/agents/${agent.agentId}`, tenant.token)).agent
        assert.strictEqual(after.configVersion, initial.configVersion + applied, "every accepted change bumped the version once, none was lost")
        assert.include(patches.map((p) => p.terminateWaitSeconds), after.config.terminateWaitSeconds)
        // Conflicts answered 409 name themselves; the state stays consistent.
        for (const r of results.filter((x) => x.status === 409)) assert.isString(r.body.error.code)
        yield* agent.onePrimary("after the concurrent writes")
        const launches = (yield* agent.commands).filter((c) => c.type === "LAUNCH_INSTANCE")
        assert.isAtMost(launches.length, 1, "one replica request, at most one LAUNCH")
      }))

    it.effect("8. idempotency verification (same X-Request-ID repeated and concurrent)", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s8-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "id-1", pool: "t3.medium.eu-west-2a" })
        const log = yield* EventLog.EventLog
        const before = yield* log.latestId
        const headers = { "x-request-id": `notice-${crypto.randomUUID()}` }
        const send = post(`/api/agents/${agent.agentId}/rebalance-notice`, agent.token, { instanceId: agent.instanceId }, headers)
        const concurrent = yield* Effect.all(Array.from({ length: 8 }, () => send), { concurrency: "unbounded" })
        const repeated = yield* Effect.all(Array.from({ length: 3 }, () => send))
        const all = [...concurrent, ...repeated]
        for (const r of all) assert.include([200, 409], r.status, r.text)
        const ok = all.filter((r) => r.status === 200)
        assert.isAtLeast(ok.length, 3, "every repeat after the first answer succeeds")
        for (const r of repeated) assert.strictEqual(r.status, 200)
        for (const r of ok) assert.deepStrictEqual(r.body, ok[0]!.body, "a repeat answers the first answer")
        const events = (yield* get(`/api/events?agentId=${agent.agentId}&limit=500`, tenant.token)).events as Array<{ id: number; type: string }>
        assert.strictEqual(events.filter((e) => e.id > before && e.type === "NoticeReceived").length, 1, "the notice was processed once")
        assert.strictEqual((yield* agent.commands).filter((c) => c.type === "LAUNCH_INSTANCE").length, 1)

        // A register repeated with the same key answers the same agent, and a key reused for
        // another kind of request is refused.
        const body = { logicalAgentId: "id-2", instanceId: "i-idem-2", pool: "t3.medium.eu-west-2a" }
        const regs = yield* Effect.all(Array.from({ length: 4 }, () => post("/api/agents/register", tenant.token, body, { "x-request-id": "reg-id-2" })), {
          concurrency: "unbounded"
        })
        const ids = new Set(regs.filter((r) => r.status === 200).map((r) => r.body.agentId))
        assert.strictEqual(ids.size, 1)
        const agents = (yield* get("/api/agents", tenant.token)).agents as Array<{ logicalAgentId: string }>
        assert.strictEqual(agents.filter((a) => a.logicalAgentId === "id-2").length, 1)
        const reused = yield* post(`/api/agents/${agent.agentId}/pricing-report`, agent.token, { prices: [{ pool: "t3.medium.eu-west-2a", price: 0.01 }] }, headers)
        assert.strictEqual(reused.status, 409, reused.text)
        assert.strictEqual(reused.body.error.code, "IdempotencyKeyReused")
      }))

    it.effect("9. replica promotion", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s9-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "rp-1", pool: "m5.xlarge.us-east-1a", config: { autoTerminate: false } })
        Sim.ok(yield* post(`/api/agents/${agent.agentId}/replicas`, tenant.token, { pool: "m5.xlarge.us-east-1b" }), "replica")
        const [launch] = yield* agent.step()
        assert.strictEqual(launch?.type, "LAUNCH_INSTANCE")
        const replica = (yield* agent.instances).find((i) => i.role === "REPLICA")!
        assert.isDefined(replica)
        Sim.ok(yield* post(`/api/agents/${agent.agentId}/instances/${replica.id}/promote`, tenant.token), "promote")
        yield* agent.onePrimary("with the PROMOTE queued")
        const [promote] = yield* agent.poll
        assert.strictEqual(promote?.type, "PROMOTE_REPLICA_TO_PRIMARY")
        yield* agent.execute(promote!)
        const primary = yield* agent.onePrimary("after the promotion")
        assert.strictEqual(primary.id, replica.id)
        assert.strictEqual(primary.pool, "m5.xlarge.us-east-1b")
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "ZOMBIE", "autoTerminate off: the old PRIMARY is kept as a ZOMBIE")
        const events = (yield* get(`/api/events?agentId=${agent.agentId}&limit=500`, tenant.token)).events as Array<{ type: string; data: any }>
        assert.isTrue(
          events.some((e) => e.type === "RoleChanged" && e.data.to === "PRIMARY" && e.data.instanceId === replica.id),
          JSON.stringify(events.filter((e) => e.type === "RoleChanged").map((e) => e.data))
        )
      }))

    it.effect("10. zombie cleanup (retention job with a clock 31 days ahead)", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`s10-${crypto.randomUUID()}`)
        const agent = yield* Sim.register(tenant.token, { logicalAgentId: "zb-1", pool: "t3.medium.us-west-2c", config: { autoTerminate: false } })
        Sim.ok(yield* post(`/api/agents/${agent.agentId}/switch`, tenant.token, { pool: "t3.medium.us-west-2a" }), "switch")
        yield* completeSwitch(agent)
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "ZOMBIE")

        const now = yield* Jobs.zombieRetention()
        assert.strictEqual(now.retired, 0, "a fresh ZOMBIE is kept")
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "ZOMBIE")
        const later = yield* Jobs.zombieRetention().pipe(Effect.withClock(shiftedClock(31 * 24 * 3600_000)))
        assert.isAtLeast(later.retired, 1)
        assert.strictEqual((yield* agent.roles)[agent.instanceId], "TERMINATED")
        // the TERMINATE is queued for the cloud instance (not before the shifted "now")
        const terminate = (yield* agent.commands).find((c) => c.type === "TERMINATE_INSTANCE")
        assert.isDefined(terminate)
        assert.strictEqual(terminate!.params["instance_id"], agent.instanceId)
        assert.strictEqual(terminate!.status, "pending")
        yield* agent.onePrimary("after the cleanup")
        const again = yield* Jobs.zombieRetention().pipe(Effect.withClock(shiftedClock(31 * 24 * 3600_000)))
        assert.strictEqual(again.retired, 0, "retired once")
      }))
  })
}
