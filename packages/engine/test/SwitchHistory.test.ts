import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import type { AgentId } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import * as SwitchHistory from "../src/SwitchHistory.js"

const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")
const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const TestEngine = Engine.layer().pipe(Layer.provide(MemoryStore.layer))

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "b".repeat(64) })
  const { agent } = yield* engine.register(tenant.id, { logicalAgentId: "web-1", cloudInstanceId: "i-a", pool: poolA })
  const poll = (id: AgentId = agent.id) => engine.pollCommands(tenant.id, id)
  const report = (commandId: string, result = ok()) => engine.reportResult(tenant.id, agent.id, { commandId: commandId as never, result })
  return { engine, t: tenant.id, id: agent.id, poll, report }
})

describe("switching", () => {
  it.effect("a manual switch is recorded with its timings and derived downtime", () =>
    Effect.gen(function*() {
      const { engine, id, poll, report, t } = yield* setup
      yield* TestClock.adjust("1 minute")
      yield* engine.switchPool(t, id, { pool: poolB })
      const [launch] = yield* poll()
      yield* TestClock.adjust("40 seconds")
      yield* report(launch!.id, ok("i-b"))
      yield* TestClock.adjust("5 seconds")
      const [promote] = yield* poll()
      yield* TestClock.adjust("4 seconds")
      yield* report(promote!.id)
      const [record] = yield* engine.switches(t)
      assert.strictEqual(record!.trigger, "manual")
      assert.strictEqual(record!.result, "succeeded")
      assert.strictEqual(record!.fromPool, poolA)
      assert.strictEqual(record!.toPool, poolB)
      assert.strictEqual(record!.initiatedAt, 60_000)
      assert.strictEqual(record!.launchedAt, 100_000)
      assert.strictEqual(record!.promoteDeliveredAt, 105_000)
      assert.strictEqual(record!.promotedAt, 109_000)
      assert.strictEqual(record!.downtimeSeconds, 4)
      assert.strictEqual(record!.downtimeSource, "derived")
      // The agent's own measurement wins.
      yield* engine.reportSwitch(t, id, { requestId: promote!.requestId, downtimeSeconds: 1.5 })
      const [reported] = yield* engine.switches(t, { agentId: id })
      assert.strictEqual(reported!.downtimeSeconds, 1.5)
      assert.strictEqual(reported!.downtimeSource, "agent")
      // The old PRIMARY's termination closes the record.
      yield* TestClock.adjust("5 minutes")
      const [terminate] = yield* poll()
      assert.strictEqual(terminate!.type, "TERMINATE_INSTANCE")
      yield* report(terminate!.id)
      assert.strictEqual((yield* engine.switches(t))[0]!.oldTerminatedAt, 409_000)
    }).pipe(Effect.provide(TestEngine)))

  it("a switch report's downtime: the one stated, else completion − start, else none", () => {
    assert.strictEqual(SwitchHistory.reportedDowntime({ downtimeSeconds: 1.5, startedAt: 0, completedAt: 9_000 }), 1.5)
    assert.strictEqual(SwitchHistory.reportedDowntime({ downtimeSeconds: 0 }), 0)
    assert.strictEqual(SwitchHistory.reportedDowntime({ startedAt: 10_000, completedAt: 14_200 }), 4.2)
    assert.strictEqual(SwitchHistory.reportedDowntime({ startedAt: 10_000, completedAt: 10_000 }), 0)
    assert.isUndefined(SwitchHistory.reportedDowntime({ startedAt: 10_000, completedAt: 9_999 }))
    assert.isUndefined(SwitchHistory.reportedDowntime({ startedAt: 10_000 }))
    assert.isUndefined(SwitchHistory.reportedDowntime({}))
  })

  it.effect("the engine derives a reported downtime from start and completion, and refuses a report without one", () =>
    Effect.gen(function*() {
      const { engine, id, poll, report, t } = yield* setup
      yield* engine.switchPool(t, id, { pool: poolB })
      const [launch] = yield* poll()
      yield* report(launch!.id, ok("i-b"))
      const [promote] = yield* poll()
      yield* report(promote!.id)
      const stated = { requestId: promote!.requestId, startedAt: 50_000, completedAt: 53_250, details: { fromInstanceId: "i-a" } }
      const answer = yield* engine.reportSwitch(t, id, stated)
      const [record] = yield* engine.switches(t, { agentId: id })
      assert.strictEqual(record!.downtimeSeconds, 3.25)
      assert.strictEqual(record!.downtimeSource, "agent")
      const [event] = (yield* engine.events(t, { afterId: 0, limit: 1000 })).filter((e) => e.type === "SwitchReported")
      assert.strictEqual(event!.id, answer.eventId)
      assert.deepStrictEqual(event!.data, {
        flowId: record!.flowId,
        downtimeSeconds: 3.25,
        details: { fromInstanceId: "i-a", startedAt: 50_000, completedAt: 53_250 }
      })
      for (const bad of [{ requestId: promote!.requestId }, { requestId: promote!.requestId, startedAt: 2, completedAt: 1 }]) {
        const refused = yield* Effect.flip(engine.reportSwitch(t, id, bad))
        assert.deepStrictEqual([refused._tag, (refused as { field?: string }).field], ["InvalidInput", "downtimeSeconds"])
      }
      assert.strictEqual((yield* engine.events(t, { afterId: 0, limit: 1000 })).filter((e) => e.type === "SwitchReported").length, 1)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a switch can be cancelled until its PROMOTE is handed out", () =>
    Effect.gen(function*() {
      const { engine, id, poll, report, t } = yield* setup
      yield* engine.switchPool(t, id, { pool: poolB })
      const [launch] = yield* poll()
      yield* report(launch!.id, ok("i-b"))
      yield* engine.cancelSwitch(t, id)
      const view = yield* engine.getAgent(t, id)
      assert.strictEqual(view.instances.find((i) => i.cloudInstanceId === "i-b")!.role, "TERMINATED")
      assert.strictEqual(view.instances.find((i) => i.cloudInstanceId === "i-a")!.role, "PRIMARY")
      assert.isTrue(view.commands.some((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.status === "superseded"))
      assert.strictEqual((yield* engine.switches(t))[0]!.result, "cancelled")

      yield* engine.switchPool(t, id, { pool: poolB })
      const [launch2] = yield* poll()
      yield* report(launch2!.id, ok("i-b2"))
      const [promote] = yield* poll()
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      const late = yield* Effect.flip(engine.cancelSwitch(t, id))
      assert.strictEqual(late._tag, "InvalidTransition")
      yield* report(promote!.id)
      const none = yield* Effect.flip(engine.cancelSwitch(t, id))
      assert.strictEqual(none._tag, "InvalidTransition")
      assert.include(none.message, "no switch in progress")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("the switch caps count what happened in the window", () =>
    Effect.gen(function*() {
      const { engine, id, poll, report, t } = yield* setup
      let pool = poolB
      for (let k = 0; k < 3; k++) {
        yield* engine.switchPool(t, id, { pool, trigger: "ml" })
        for (let step = 0; step < 2; step++) for (const c of yield* poll()) yield* report(c.id, ok(`i-${k}-${step}`))
        pool = pool === poolB ? poolA : poolB
        yield* TestClock.adjust("3 hours")
      }
      const records = yield* engine.switches(t)
      assert.deepStrictEqual(records.map((r) => [r.trigger, r.result]), [["ml", "succeeded"], ["ml", "succeeded"], ["ml", "succeeded"]])
      assert.strictEqual(SwitchHistory.countSince(records, id, 3 * 3_600_000, "ml"), 2)
      assert.strictEqual(SwitchHistory.countSince(records, id, 0), 3)
    }).pipe(Effect.provide(TestEngine)))
})

describe("SwitchHistory analytics", () => {
  const record = (n: number, initiatedAt: number, downtimeSeconds: number | null, result: SwitchHistory.SwitchRecord["result"] = "succeeded"): SwitchHistory.SwitchRecord => ({
    flowId: `f-${n}`, tenantId: "t", agentId: "a", trigger: "manual", decisionId: null, fromPool: "x", toPool: "y, \"z\"",
    fromInstanceId: null, toInstanceId: null, initiatedAt, launchedAt: null, promoteDeliveredAt: null, promotedAt: null,
    oldTerminatedAt: null, finishedAt: initiatedAt + 1, result, reason: null, downtimeSeconds, downtimeSource: downtimeSeconds === null ? null : "agent"
  })

  it("computes count, success, avg, p95, max and the trend against the previous period", () => {
    const day = 86_400_000
    const records = [
      record(1, 0.5 * day, 10), // previous period
      ...Array.from({ length: 20 }, (_, k) => record(k + 2, day + k * 1000, k + 1)), // 1..20 s
      record(30, day + 30_000, null, "failed")
    ]
    const a = SwitchHistory.downtimeAnalytics(records, { from: day, to: 2 * day })
    assert.strictEqual(a.count, 21)
    assert.strictEqual(a.succeeded, 20)
    assert.closeTo(a.successRate!, 20 / 21, 1e-12)
    assert.strictEqual(a.avgSeconds, 10.5)
    assert.strictEqual(a.p95Seconds, 19)
    assert.strictEqual(a.maxSeconds, 20)
    assert.strictEqual(a.trendAvgSeconds, 0.5)
  })

  it("exports CSV with quoting and ISO timestamps", () => {
    const csv = SwitchHistory.toCsv([record(1, 0, 2.5)])
    const [header, row] = csv.trimEnd().split("\r\n")
    assert.isTrue(header!.startsWith("flowId,agentId,trigger,result,fromPool,toPool"))
    assert.include(row!, "\"y, \"\"z\"\"\"")
    assert.include(row!, "1970-01-01T00:00:00.000Z")
    assert.include(row!, ",2.5,agent,")
  })
})
