/**
 * Issue 5, acceptance 2 and 3, plus the dialect's building blocks:
 * - a scripted legacy agent (`legacyAgent.ts`, timers shortened) completes a full emergency flow
 *   with exactly one PRIMARY after every call it makes;
 * - the same action-result, launch confirmation or notice sent 5 times changes state once;
 * - command rendering, naive UTC timestamps, dialect detection, and v1 untouched on shared paths.
 */
import { assert, describe, it as pureIt, layer } from "@effect/vitest"
import { Command, Engine, type Ids } from "@spotfleet/engine"
import { Effect, Fiber, Ref } from "effect"
import * as internal from "../src/internal/legacy.js"
import { countEvents, eventsOf, isNonEmptyObject, legacyCall, registerBody } from "./legacy.js"
import { type AgentLog, FakeCloud, runAgent } from "./legacyAgent.js"
import { MemoryStore } from "@spotfleet/engine"
import { call, createTenant, memoryServer, serverLayer } from "./utils.js"


const view = (tenantId: string, agentId: string) =>
  Effect.flatMap(Engine.Engine, (engine) => Effect.orDie(engine.getAgent(tenantId as Ids.TenantId, agentId as Ids.AgentId)))

// Twice: through the HttpApi routes alone, and with the agent fast path in front of them.
for (const [way, server] of [["HttpApi", memoryServer], ["fast path", serverLayer(MemoryStore.layer, { fastPath: true })]] as const) {
layer(server, { timeout: "60 seconds", excludeTestServices: true })(`legacy v5 agent over HTTP (in-memory store, ${way})`, (it) => {
  it.effect("a scripted agent completes notice → LAUNCH → launched → PROMOTE → TERMINATE, one PRIMARY at every step", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`fake-${crypto.randomUUID()}`)
      const cloud = new FakeCloud()
      const host = cloud.add({ id: "i-0host000000000001", state: "running", az: "us-east-1a", type: "t3.medium", lifecycle: "spot", tags: { Role: "primary", ManagedBy: "SpotOptimizer" } })
      cloud.add({ id: "i-0unmanaged0000001", state: "running", az: "us-east-1b", type: "m5.large", lifecycle: "on-demand", tags: { Name: "unrelated-db" } })
      const stop = yield* Ref.make(false)
      const agentRef = yield* Ref.make<string | null>(null)
      const log: AgentLog = { calls: [], failures: [], fatal: [], executed: [] }
      const primaryCounts: Array<number> = []
      const onStep = Effect.gen(function*() {
        const agentId = yield* Ref.get(agentRef)
        if (agentId === null) return
        const v = yield* view(tenant.id, agentId)
        primaryCounts.push(v.instances.filter((i) => i.role === "PRIMARY").length)
      })
      const fiber = yield* Effect.fork(runAgent({
        token: tenant.token,
        cloud,
        host,
        timers: { heartbeatMillis: 150, pollMillis: 30, noticeMillis: 60, launchMillis: 80, terminateMillis: 40 },
        stop,
        log,
        agentId: agentRef,
        onStep
      }))
      const waitFor = (what: string, check: Effect.Effect<boolean, never, Engine.Engine>) =>
        Effect.gen(function*() {
          const deadline = Date.now() + 20_000
          while (!(yield* check)) {
            if (Date.now() > deadline || log.fatal.length > 0) assert.fail(`timed out waiting for ${what}; fatal: ${log.fatal.join("; ")}; failures: ${log.failures.slice(0, 3).join("; ")}`)
            yield* Effect.sleep(20)
          }
        })
      yield* waitFor("registration", Effect.map(Ref.get(agentRef), (id) => id !== null))
      const agentId = (yield* Ref.get(agentRef))!

      // the operator wants the demoted PRIMARY terminated at once (an APPLY_CONFIG for the agent)
      const patched = yield* call("PATCH", `/api/agents/${agentId}/config`, { token: tenant.token, body: { terminateWaitSeconds: 0 } })
      assert.strictEqual(patched.status, 200)
      yield* waitFor("APPLY_CONFIG", Effect.sync(() => log.executed.some((e) => e.type === "APPLY_CONFIG")))

      // the cloud announces the reclaim of the agent's instance
      cloud.notices.set(host.id, Date.now() + 120_000)
      yield* waitFor(
        "the old instance terminated after the promotion",
        Effect.map(view(tenant.id, agentId), (v) =>
          v.commands.some((c) => c.type === "TERMINATE_INSTANCE" && c.status === "succeeded") &&
          v.instances.find((i) => i.cloudInstanceId === host.id)?.role === "TERMINATED")
      )
      yield* Ref.set(stop, true)
      yield* Fiber.join(fiber)

      assert.deepStrictEqual(log.fatal, [])
      assert.deepStrictEqual(log.failures, [])
      assert.deepStrictEqual(
        log.executed.map((e) => [e.type, e.result]),
        [["APPLY_CONFIG", "SUCCESS"], ["LAUNCH_INSTANCE", "SUCCESS"], ["PROMOTE_REPLICA_TO_PRIMARY", "SUCCESS"], ["TERMINATE_INSTANCE", "SUCCESS"]]
      )
      assert.isAbove(primaryCounts.length, 10)
      assert.isTrue(primaryCounts.every((n) => n === 1), `PRIMARY counts seen: ${[...new Set(primaryCounts)].join(",")}`)

      const final = yield* view(tenant.id, agentId)
      const launched = [...cloud.instances.values()].find((i) => i.id !== host.id && i.tags.ManagedBy === "SpotOptimizer")!
      assert.deepStrictEqual(final.instances.filter((i) => i.role === "PRIMARY").map((i) => i.cloudInstanceId), [launched.id])
      assert.strictEqual(launched.state, "running")
      assert.strictEqual(cloud.instances.get(host.id)!.state, "terminated")
      assert.strictEqual(cloud.instances.get("i-0unmanaged0000001")!.state, "running")
      const events = yield* eventsOf(tenant.id as Ids.TenantId, agentId as Ids.AgentId)
      const noticesSent = log.calls.filter((c) => c.path.endsWith("/termination-report")).length
      assert.isAbove(noticesSent, 1, "the notice was re-sent while it stood")
      assert.strictEqual(countEvents(events, "NoticeReceived"), 1)
      assert.strictEqual(countEvents(events, "EmergencyPromotion", (d) => d.step === undefined), 1)
      assert.strictEqual(countEvents(events, "AgentRegistered"), 1)
      // the order the flow went through
      const order = events
        .filter((e) => ["NoticeReceived", "InstanceLaunched", "EmergencyPromotion", "InstanceTerminated"].includes(e.type))
        .map((e) => e.type)
      assert.deepStrictEqual(order.slice(0, 4), ["NoticeReceived", "InstanceLaunched", "EmergencyPromotion", "InstanceTerminated"])
    }))

  it.effect("the same action-result, launch confirmation or notice sent 5 times changes state once", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`dup-${crypto.randomUUID()}`)
      const reg = yield* legacyCall(tenant.token, "POST", "/api/agents/register", registerBody("i-0dup0000000000001"))
      assert.strictEqual(reg.status, 200)
      const agentId: string = reg.body.agent_id
      const five = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
        Effect.gen(function*() {
          const first = yield* effect
          const afterFirst = yield* view(tenant.id, agentId)
          const rest = yield* Effect.all([effect, effect, effect, effect], { concurrency: "unbounded" })
          const afterAll = yield* view(tenant.id, agentId)
          assert.strictEqual(afterAll.agent.version, afterFirst.agent.version, "repeats changed nothing")
          assert.deepStrictEqual(afterAll.instances, afterFirst.instances)
          assert.deepStrictEqual(afterAll.commands, afterFirst.commands)
          return [first, ...rest]
        })
      const all2xx = (answers: ReadonlyArray<{ status: number }>) => assert.isTrue(answers.every((a) => a.status >= 200 && a.status < 300))

      const replica = yield* call("POST", `/api/agents/${agentId}/replicas`, { token: tenant.token, body: {} })
      assert.strictEqual(replica.status, 200)
      const polled = yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/commands/pending`)
      const launch = polled.body.commands[0]
      assert.strictEqual(launch.command_type, "LAUNCH_INSTANCE")

      all2xx(yield* five(legacyCall(tenant.token, "POST", `/api/agents/${agentId}/instance-launched`, {
        temp_instance_id: launch.instance_id,
        instance_id: "i-0dup0000000000002",
        instance_type: "t3.medium",
        az: "us-east-1a",
        request_id: launch.request_id,
        confirmed_at: "2026-11-26T21:01:12.338120"
      })))
      const result = {
        request_id: launch.request_id,
        agent_id: agentId,
        result: "SUCCESS",
        cloud_instance_id: "i-0dup0000000000002",
        error_message: null,
        metadata: {}
      }
      all2xx(yield* five(legacyCall(tenant.token, "POST", `/api/agents/${agentId}/action-result`, result)))
      const notice = { cloud_instance_id: "i-0dup0000000000001", notice_type: "TERMINATION", termination_time: new Date(Date.now() + 120_000).toISOString() }
      all2xx(yield* five(legacyCall(tenant.token, "POST", `/api/agents/${agentId}/termination-report`, notice)))
      const rebalance = { cloud_instance_id: "i-0dup0000000000001", notice_type: "REBALANCE", notice_time: "2026-11-26T21:02:00Z" }
      all2xx(yield* five(legacyCall(tenant.token, "POST", `/api/agents/${agentId}/rebalance-recommendation`, rebalance)))

      const events = yield* eventsOf(tenant.id as Ids.TenantId, agentId as Ids.AgentId)
      assert.strictEqual(countEvents(events, "InstanceLaunched"), 1)
      assert.strictEqual(countEvents(events, "CommandSucceeded", (d) => d.requestId === launch.request_id), 1)
      assert.strictEqual(countEvents(events, "NoticeReceived"), 1)
      // the ready replica is promoted: exactly one PROMOTE for five notices
      assert.strictEqual(countEvents(events, "CommandQueued", (d) => d.type === "PROMOTE_REPLICA_TO_PRIMARY"), 1)
      const v = yield* view(tenant.id, agentId)
      assert.strictEqual(v.instances.filter((i) => i.role === "PRIMARY").length, 1)
      const promote = v.commands.find((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY")!
      const promoted = { request_id: promote.requestId, agent_id: agentId, result: "SUCCESS", cloud_instance_id: null, error_message: null, metadata: {} }
      // the PROMOTE is delivered, then reported 5 times
      yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/commands/pending`)
      all2xx(yield* five(legacyCall(tenant.token, "POST", `/api/agents/${agentId}/action-result`, promoted)))
      const after = yield* eventsOf(tenant.id as Ids.TenantId, agentId as Ids.AgentId)
      assert.strictEqual(countEvents(after, "EmergencyPromotion"), 1)
      const final = yield* view(tenant.id, agentId)
      assert.deepStrictEqual(final.instances.filter((i) => i.role === "PRIMARY").map((i) => i.cloudInstanceId), ["i-0dup0000000000002"])
    }))

  it.effect("registration: nulls, unknown keys, re-registration, instances known to an agent", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`reg-${crypto.randomUUID()}`)
      const first = yield* legacyCall(tenant.token, "POST", "/api/agents/register", registerBody("i-0reg0000000000001"))
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(first.body.config, { auto_switch_enabled: false, auto_terminate_enabled: true })
      const agentId: string = first.body.agent_id
      const v = yield* view(tenant.id, agentId)
      assert.strictEqual(v.agent.logicalAgentId, "i-0reg0000000000001")
      assert.strictEqual(v.agent.metadata.dialect, "v5")
      assert.strictEqual(v.instances[0]!.pool, "t3.medium.us-east-1a")
      // logical_agent_id null: the instance id is the logical id
      const again = yield* legacyCall(tenant.token, "POST", "/api/agents/register", { ...registerBody("i-0reg0000000000001"), logical_agent_id: null })
      assert.strictEqual(again.body.agent_id, agentId)
      // an instance launched for this agent registers on its own: it gets this agent
      yield* call("POST", `/api/agents/${agentId}/replicas`, { token: tenant.token, body: {} })
      const launch = (yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/commands/pending`)).body.commands[0]
      yield* legacyCall(tenant.token, "POST", `/api/agents/${agentId}/instance-launched`, {
        temp_instance_id: launch.instance_id,
        instance_id: "i-0reg0000000000002",
        request_id: launch.request_id
      })
      const replicaAgent = yield* legacyCall(tenant.token, "POST", "/api/agents/register", registerBody("i-0reg0000000000002", "us-east-1a"))
      assert.strictEqual(replicaAgent.body.agent_id, agentId)
      const agents = yield* call("GET", "/api/agents", { token: tenant.token })
      assert.strictEqual(agents.body.agents.length, 1)
    }))

  it.effect("shared paths keep v1 for v1 callers; GETs with a JSON content type and no body are accepted", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`v1-${crypto.randomUUID()}`)
      const v1 = yield* call("POST", "/api/agents/register", {
        token: tenant.token,
        body: { logicalAgentId: "web-1", instanceId: "i-0v10000000000001", pool: "t3.medium.us-east-1a" }
      })
      assert.strictEqual(v1.status, 200)
      assert.strictEqual(v1.body.created, true)
      const agentId = v1.body.agentId as string
      const beat = yield* call("POST", `/api/agents/${agentId}/heartbeat`, { token: tenant.token, body: {} })
      assert.strictEqual(beat.body.liveness, "online")
      yield* call("POST", `/api/agents/${agentId}/replicas`, { token: tenant.token, body: {} })
      // a v1 agent polling with a JSON content type still gets v1 commands
      const polled = yield* legacyCall(tenant.token, "GET", `/api/agents/${agentId}/pending-commands`)
      assert.strictEqual(polled.status, 200)
      assert.strictEqual(polled.body.commands[0].type, "LAUNCH_INSTANCE")
      assert.isString(polled.body.commands[0].requestId)

      // a legacy agent: both poll paths give the legacy shape
      const reg = yield* legacyCall(tenant.token, "POST", "/api/agents/register", registerBody("i-0v10000000000009"))
      const legacyId = reg.body.agent_id as string
      yield* call("POST", `/api/agents/${legacyId}/switch`, { token: tenant.token, body: { pool: "t3.medium.us-east-1c" } })
      const shared = yield* legacyCall(tenant.token, "GET", `/api/agents/${legacyId}/pending-commands`)
      assert.strictEqual(shared.status, 200)
      const launch = shared.body.commands[0]
      assert.strictEqual(launch.command_type, "LAUNCH_INSTANCE")
      assert.strictEqual(launch.params.target_pool, "spot:t3.medium.us-east-1c")
      assert.strictEqual(launch.instance_id, launch.params.temp_instance_id)
      // a v5 price report on the shared path: legacy shape answer, v1 reports unaffected
      const priced = yield* legacyCall(tenant.token, "POST", `/api/agents/${legacyId}/pricing-report`, {
        agent_id: legacyId,
        timestamp: "2026-11-26T20:57:41.779922",
        pricing_data_array: [
          { instance_type: "t3.medium", az: "us-east-1a", pool_id: "t3.medium.us-east-1a", spot_price: 0.0125, timestamp: "2026-11-26T20:57:40.101223" },
          { instance_type: "t3.medium", az: "us-east-1a", pool_id: "t3.medium.us-east-1a", spot_price: null, timestamp: "2026-11-26T20:57:40.101223" },
          { instance_type: "t3.medium", price_type: "ondemand", price: 0.0416, timestamp: "2026-11-26T20:57:41.512006" }
        ]
      })
      assert.deepStrictEqual(priced.body, { success: true, accepted: 1, on_demand: 1, skipped: 1 })
      // v5 agents name no product: their prices are the Linux/UNIX pool's (the id without a suffix)
      const v5History = (yield* call("GET", "/api/prices/history?pool=t3.medium.us-east-1a&from=0", { token: tenant.token })).body
      assert.include(v5History.points.map((p: any) => p.price), 0.0125)
      const v5Options = (yield* call("GET", "/api/prices/options?instanceType=t3.medium&region=us-east-1&hours=2160", { token: tenant.token })).body
      assert.deepInclude(v5Options.options.map((o: any) => [o.pool, o.product]), ["t3.medium.us-east-1a", "linux"])
      const v1Priced = yield* call("POST", `/api/agents/${agentId}/pricing-report`, {
        token: tenant.token,
        body: { prices: [{ pool: "t3.medium.us-east-1a", price: 0.02 }] }
      })
      assert.strictEqual(v1Priced.status, 200)
      assert.strictEqual(v1Priced.body.accepted, 1)
      // legacy heartbeat answer is never empty; unknown agent → 200 "unknown" (a non-2xx takes the agent offline for good)
      const lb = yield* legacyCall(tenant.token, "POST", `/api/agents/${legacyId}/heartbeat`, { status: "online", inventory_snapshot: {}, reconnect: true })
      assert.isTrue(isNonEmptyObject(lb.body))
      const gone = yield* legacyCall(tenant.token, "POST", "/api/agents/nobody/heartbeat", { status: "online", reconnect: false })
      assert.strictEqual(gone.status, 200)
      assert.strictEqual(gone.body.status, "unknown")
      // another tenant's agent is unknown (404; its heartbeat 200 "unknown") and untouched; shutdown stays 2xx and changes nothing
      const other = yield* createTenant(`other-${crypto.randomUUID()}`)
      const before = yield* view(tenant.id, legacyId)
      for (const [method, path, body] of [
        ["POST", `/api/agents/${legacyId}/heartbeat`, { status: "online", reconnect: false, inventory_snapshot: { instances: [], count: 0 } }],
        ["GET", `/api/agents/${legacyId}/commands/pending`, undefined],
        ["GET", `/api/agents/${legacyId}/pending-commands`, undefined],
        ["POST", `/api/agents/${legacyId}/action-result`, { request_id: launch.request_id, result: "FAILURE" }],
        ["POST", `/api/agents/${legacyId}/termination-report`, { cloud_instance_id: "i-0v10000000000009", notice_type: "TERMINATION" }],
        ["POST", `/api/agents/${legacyId}/pricing-report`, { pricing_data_array: [] }]
      ] as const) {
        const res = yield* legacyCall(other.token, method, path, body)
        if (path.endsWith("/heartbeat")) assert.include(res.body, { success: false, status: "unknown" }, `${method} ${path}: ${res.text}`)
        else assert.strictEqual(res.status, 404, `${method} ${path}: ${res.text}`)
      }
      const foreignShutdown = yield* legacyCall(other.token, "POST", `/api/agents/${legacyId}/shutdown`, { cloud_instance_id: null, metadata: {} })
      assert.strictEqual(foreignShutdown.status, 200)
      assert.strictEqual(foreignShutdown.body.status, "ignored")
      const untouched = yield* view(tenant.id, legacyId)
      assert.strictEqual(untouched.agent.version, before.agent.version)
      assert.deepStrictEqual(untouched.commands, before.commands)

      // without a token: still 401 on legacy routes
      const anon = yield* call("POST", `/api/agents/${legacyId}/action-result`, { body: { request_id: "x" } })
      assert.strictEqual(anon.status, 401)
    }))
})
}

describe("legacy dialect helpers", () => {
  pureIt("naive timestamps are UTC; zones are honoured; garbage is undefined", () => {
    assert.strictEqual(internal.parseTimestamp("2026-11-26T20:52:41.779922"), Date.UTC(2026, 10, 26, 20, 52, 41, 779))
    assert.strictEqual(internal.parseTimestamp("2026-11-26T20:52:41.779922Z"), Date.UTC(2026, 10, 26, 20, 52, 41, 779))
    assert.strictEqual(internal.parseTimestamp("2026-11-26T20:51:03+00:00"), Date.UTC(2026, 10, 26, 20, 51, 3))
    assert.strictEqual(internal.parseTimestamp("2026-11-26T22:51:03+02:00"), Date.UTC(2026, 10, 26, 20, 51, 3))
    assert.strictEqual(internal.parseTimestamp("2026-11-26T21:10:00Z"), Date.UTC(2026, 10, 26, 21, 10))
    assert.strictEqual(internal.parseTimestamp("yesterday"), undefined)
    assert.strictEqual(internal.parseTimestamp(null), undefined)
    assert.strictEqual(internal.formatTimestamp(Date.UTC(2026, 10, 26, 20, 52, 41, 779)), "2026-11-26T20:52:41.779000")
  })

  const command = (type: Command.CommandType, params: Record<string, unknown>) =>
    Command.Command.make({
      id: "cmd-1" as Ids.CommandId,
      requestId: "req-cmd-1",
      tenantId: "t" as Ids.TenantId,
      agentId: "a" as Ids.AgentId,
      type,
      status: "delivered",
      priority: 100,
      flowId: null,
      instanceId: "inst-9" as Ids.InstanceId,
      params,
      createdAt: Date.UTC(2026, 10, 26, 20, 52, 41, 779),
      notBefore: 0,
      expiresAt: null,
      deliveredAt: null,
      leaseExpiresAt: null,
      deliveries: 1,
      completedAt: null,
      result: null,
      seq: 1
    })

  pureIt("commands are rendered the way the agent executes them", () => {
    const spot = internal.renderCommand(command("LAUNCH_INSTANCE", {
      instance_type: "t3.medium",
      az: "us-east-1b",
      lifecycle: "spot",
      target_pool: "spot:t3.medium.us-east-1b",
      role_hint: "replica",
      temp_instance_id: "inst-9"
    }))
    assert.strictEqual(spot.request_id, "req-cmd-1")
    assert.strictEqual(spot.instance_id, "inst-9")
    assert.isTrue((spot.params.target_pool as string).includes("spot"))
    assert.strictEqual(spot.created_at, "2026-11-26T20:52:41.779000")
    assert.deepStrictEqual(spot.metadata, { command_id: "cmd-1" })
    const onDemand = internal.renderCommand(command("LAUNCH_INSTANCE", {
      instance_type: "t3.medium",
      az: "us-east-1a",
      lifecycle: "on-demand",
      target_pool: "ondemand:t3.medium.us-east-1a",
      role_hint: "replica",
      temp_instance_id: "inst-9"
    }))
    assert.isFalse((onDemand.params.target_pool as string).includes("spot"))
    // a spot pool without the prefix is given it (the agent launches spot only on "spot")
    const bare = internal.renderCommand(command("LAUNCH_INSTANCE", { instance_type: "t3.medium", az: "us-east-1c", target_pool: "t3.medium.us-east-1c" }))
    assert.strictEqual(bare.params.target_pool, "spot:t3.medium.us-east-1c")
    assert.strictEqual(bare.instance_id, "inst-9")
    const terminate = internal.renderCommand(command("TERMINATE_INSTANCE", { instance_id: "i-old" }))
    assert.strictEqual(terminate.params.instance_id, "i-old")
    const promote = internal.renderCommand(command("PROMOTE_REPLICA_TO_PRIMARY", { replica_instance_id: "i-new", old_primary_id: "i-old" }))
    assert.deepStrictEqual([promote.params.replica_instance_id, promote.params.old_primary_id, promote.instance_id], ["i-new", "i-old", "i-new"])
    const config = internal.renderCommand(command("APPLY_CONFIG", { config_updates: { auto_switching: false } }))
    assert.deepStrictEqual(config.params, { config_updates: { auto_switching: false } })
    assert.strictEqual(config.instance_id, null)
  })

  pureIt("dialect detection on shared paths", () => {
    assert.strictEqual(internal.sharedRoute("POST", "/api/agents/register"), "register")
    assert.strictEqual(internal.sharedRoute("POST", "/api/agents/a-1/heartbeat"), "heartbeat")
    assert.strictEqual(internal.sharedRoute("POST", "/api/agents/a-1/pricing-report?x=1"), "pricing-report")
    assert.strictEqual(internal.sharedRoute("GET", "/api/agents/a-1/pending-commands"), "pending-commands")
    assert.strictEqual(internal.sharedRoute("GET", "/api/agents/a-1/heartbeat"), null)
    assert.strictEqual(internal.sharedRoute("POST", "/api/agents/a-1/action-result"), null)
    assert.isTrue(internal.isLegacyRequest("register", "application/json", { instance_id: null, mode: "unknown" }))
    assert.isFalse(internal.isLegacyRequest("register", "application/json", { logicalAgentId: "x", instanceId: "i", pool: "p" }))
    assert.isTrue(internal.isLegacyRequest("heartbeat", "application/json", { status: "online", reconnect: false }))
    assert.isFalse(internal.isLegacyRequest("heartbeat", "application/json", { status: "online" }))
    assert.isTrue(internal.isLegacyRequest("pricing-report", "application/json", { pricing_data_array: [] }))
    assert.isFalse(internal.isLegacyRequest("pricing-report", "application/json", { prices: [] }))
    assert.isTrue(internal.isLegacyRequest("pending-commands", "application/json", undefined))
    assert.isFalse(internal.isLegacyRequest("pending-commands", undefined, undefined))
    assert.strictEqual(internal.aliasUrl("/api/agents/a-1/heartbeat?x=1"), "/api/v5/agents/a-1/heartbeat?x=1")
  })
})
