import { assert, describe, it } from "@effect/vitest"
import { Clock, Effect, Either, Layer, TestClock } from "effect"
import * as AutoSwitch from "../src/AutoSwitch.js"
import { CommandResult } from "../src/Command.js"
import * as DecisionLog from "../src/DecisionLog.js"
import * as DecisionModel from "../src/DecisionModel.js"
import * as Engine from "../src/Engine.js"
import * as InterruptionData from "../src/InterruptionData.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import { SnapshotDraft } from "../src/Pricing.js"
import { PriceStore } from "../src/PriceStore.js"
import * as Savings from "../src/Savings.js"
import { TenantStore } from "../src/TenantStore.js"

const HOUR = 3_600_000
const TICK = 60 * 60_000
const pools = [Pool.make("t3.medium", "us-east-1a"), Pool.make("t3.medium", "us-east-1b"), Pool.make("t3.medium", "us-east-1c")]
const ON_DEMAND = 0.0416
const levels = [0.0125, 0.015, 0.02]
/** Synthetic prices: every 6 hours the cheapest pool rotates. */
const priceAt = (poolIndex: number, t: number) => levels[(poolIndex + Math.floor(t / (6 * HOUR))) % 3]!

const TestLayer = Layer.mergeAll(Engine.layer(), DecisionModel.layerRuleBased, DecisionLog.layerMemory).pipe(
  Layer.provideMerge(MemoryStore.layer)
)
const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })

const setup = (names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const prices = yield* PriceStore
    const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "d".repeat(64) })
    const ids: Array<AgentId> = []
    for (const [k, name] of names.entries()) {
      const r = yield* engine.register(tenant.id, { logicalAgentId: name, cloudInstanceId: `i-${name}-0`, pool: pools[k % 3]! })
      yield* engine.updateConfig(tenant.id, r.agent.id, { autoSwitch: true })
      ids.push(r.agent.id)
    }
    yield* prices.putOnDemandPrices([{ instanceType: "t3.medium", region: "us-east-1", price: ON_DEMAND, observedAt: 0 } as never])
    const report = Effect.gen(function*() {
      const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
      yield* prices.appendSnapshots(pools.map((pool, k) =>
        SnapshotDraft.make({ tenantId: tenant.id, pool, price: priceAt(k, now), observedAt: now, reporterAgentId: null, reporterRole: null, source: "agent", receivedAt: now })
      ))
    })
    let launched = 0
    /** The simulated agents do whatever they are told at once. */
    const execute = Effect.forEach(ids, (id) =>
      Effect.gen(function*() {
        for (let round = 0; round < 3; round++) {
          const commands = yield* engine.pollCommands(tenant.id, id)
          for (const c of commands) {
            yield* engine.reportResult(tenant.id, id, { commandId: c.id, result: ok(c.type === "LAUNCH_INSTANCE" ? `i-new-${++launched}` : null) })
          }
        }
      }), { discard: true })
    return { engine, t: tenant.id as TenantId, ids, report, execute }
  })

describe("automatic switching", () => {
  it.effect("logs every decision with each guard's verdict, and queues a switch when all pass", () =>
    Effect.gen(function*() {
      const { engine, execute, ids, report, t } = yield* setup(["web"])
      yield* TestClock.adjust("3 hours") // past minPoolDuration; block 0: pool a costs 0.0125 (cheapest)
      yield* report
      const first = yield* AutoSwitch.runOnce()
      assert.deepStrictEqual(first, { agents: 1, decisions: 1, switches: 0, wouldSwitch: 0, timeouts: 0 })
      const [stay] = yield* Effect.flatMap(DecisionLog.DecisionLog, (l) => l.list(t))
      assert.strictEqual(stay!.decision.action, "STAY")
      assert.deepStrictEqual(stay!.verdicts, [])
      yield* TestClock.adjust("4 hours") // block 1: a costs 0.015, c costs 0.0125
      yield* report
      const second = yield* AutoSwitch.runOnce()
      assert.strictEqual(second.switches, 1)
      const [decision] = yield* Effect.flatMap(DecisionLog.DecisionLog, (l) => l.list(t, { limit: 1 }))
      assert.strictEqual(decision!.decision.action, "SWITCH")
      assert.strictEqual(decision!.decision.targetPool, pools[2])
      assert.isTrue(decision!.allowed && decision!.acted)
      assert.strictEqual(decision!.verdicts.length, 9)
      assert.isTrue(decision!.verdicts.every((v) => v.passed))
      assert.strictEqual((yield* engine.getAgent(t, ids[0]!)).agent.flow!.id, decision!.flowId)
      yield* execute
      const view = yield* engine.getAgent(t, ids[0]!)
      assert.strictEqual(view.instances.find((i) => i.role === "PRIMARY")!.pool, pools[2])
      const [record] = yield* engine.switches(t)
      assert.strictEqual(record!.trigger, "ml")
    }).pipe(Effect.provide(TestLayer)))

  // A model that ignores risk altogether (the guard, not the model, judges it): it switches to the
  // cheapest candidate, or to `to` when given.
  const reckless = (to?: Pool.PoolId) =>
    Layer.succeed(DecisionModel.DecisionModel, {
      name: "reckless",
      version: "1",
      decide: (f) =>
        Effect.sync(() => {
          const cheapest = [...f.candidates].sort((a, b) => a.price - b.price)[0]!
          return DecisionModel.Decision.make({
            action: "SWITCH", targetPool: to ?? cheapest.pool, confidence: 0.95, reasoning: "cheapest",
            expectedSavingsPercent: ((f.currentPrice - cheapest.price) / f.currentPrice) * 100, risk: 0
          })
        })
    })
  // The Spot Advisor format: t3.medium in us-east-1 in `band`, m5.large in band 4.
  const advisor = (band: number) =>
    InterruptionData.layer(Either.getOrThrow(InterruptionData.decode({
      spot_advisor: { "us-east-1": { Linux: { "t3.medium": { r: band, s: 70 }, "m5.large": { r: 4, s: 60 } } } }
    })))
  const riskVerdict = (t: TenantId) =>
    Effect.map(Effect.flatMap(DecisionLog.DecisionLog, (l) => l.list(t)), ([logged]) => ({
      logged: logged!,
      risk: logged!.verdicts.find((v) => v.guard === "risk")!
    }))

  it.effect("with interruption data, candidates carry their band; a switch within the band the agent is in passes the risk guard", () =>
    Effect.gen(function*() {
      const { report, t } = yield* setup(["web"])
      yield* TestClock.adjust("7 hours") // block 1: pool c is 0.0125, the agent's pool a 0.015
      yield* report
      const summary = yield* AutoSwitch.runOnce()
      const { logged, risk } = yield* riskVerdict(t)
      // The feed is per region: every zone of t3.medium in us-east-1 is in band 4, the agent's too.
      assert.isTrue(logged.features.candidates.every((c) => c.interruptionBand === 4))
      assert.isTrue(risk.passed, risk.detail)
      assert.include(risk.detail, "band 4 \">20%\"")
      assert.include(risk.detail, "current pool 1.00")
      assert.strictEqual(summary.switches, 1)
    }).pipe(Effect.provide(Layer.mergeAll(TestLayer, reckless(), advisor(4)))))

  it.effect("with interruption data, the risk guard refuses a move from a band-0 pool into a band-4 pool, whatever the model says", () =>
    Effect.gen(function*() {
      const { report, t } = yield* setup(["web"])
      yield* TestClock.adjust("7 hours")
      yield* report
      const summary = yield* AutoSwitch.runOnce()
      const { logged, risk } = yield* riskVerdict(t)
      assert.isTrue(logged.features.candidates.every((c) => c.interruptionBand === 0))
      assert.strictEqual(logged.decision.targetPool, Pool.make("m5.large", "us-east-1b"))
      assert.isFalse(risk.passed)
      assert.include(risk.detail, "risk 1.00 (target in interruption band 4 \">20%\")")
      assert.include(risk.detail, "current pool 0.00")
      assert.isFalse(logged.allowed || logged.acted)
      assert.strictEqual(summary.switches, 0)
    }).pipe(Effect.provide(Layer.mergeAll(TestLayer, reckless(Pool.make("m5.large", "us-east-1b")), advisor(0)))))

  it.effect("dry-run: the log shows what would have been done, and no command is queued", () =>
    Effect.gen(function*() {
      const { engine, ids, report, t } = yield* setup(["web"])
      const tenants = yield* TenantStore
      const tenant = yield* engine.getTenant(t)
      yield* tenants.update({ ...tenant, dryRun: true } as never)
      yield* TestClock.adjust("7 hours")
      yield* report
      const before = yield* engine.getAgent(t, ids[0]!)
      const summary = yield* AutoSwitch.runOnce()
      assert.deepStrictEqual(summary, { agents: 1, decisions: 1, switches: 0, wouldSwitch: 1, timeouts: 0 })
      const [logged] = yield* Effect.flatMap(DecisionLog.DecisionLog, (l) => l.list(t))
      assert.isTrue(logged!.allowed && logged!.dryRun)
      assert.isFalse(logged!.acted)
      assert.strictEqual(logged!.note, "dry run: would switch")
      assert.strictEqual(logged!.decision.targetPool, pools[2])
      const after = yield* engine.getAgent(t, ids[0]!)
      assert.deepStrictEqual(after.commands.length, before.commands.length)
      assert.isNull(after.agent.flow)
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a 30-day simulated fleet: savings match the hand computation to the cent, caps never exceeded", () => {
    // A hand-driven clock: TestClock.adjust waits for other fibers on the real clock at every
    // call, which over 1,440 ticks costs far more than the simulation itself.
    let nowMillis = 0
    const manual: Clock.Clock = {
      [Clock.ClockTypeId]: Clock.ClockTypeId,
      unsafeCurrentTimeMillis: () => nowMillis,
      unsafeCurrentTimeNanos: () => BigInt(nowMillis) * 1_000_000n,
      currentTimeMillis: Effect.sync(() => nowMillis),
      currentTimeNanos: Effect.sync(() => BigInt(nowMillis) * 1_000_000n),
      sleep: () => Effect.never
    }
    return Effect.gen(function*() {
      const names = ["a", "b", "c"]
      const { engine, execute, ids, report, t } = yield* setup(names)
      const DAYS = 30
      const poolIndex = new Map(pools.map((p, k) => [p as string, k]))
      let expected = 0
      for (let tick = 0; tick < (DAYS * 24 * HOUR) / TICK; tick++) {
        const now = tick * TICK
        yield* report
        yield* AutoSwitch.runOnce()
        yield* execute
        // Hand computation: each agent's PRIMARY pool holds until the next tick.
        for (const id of ids) {
          const primary = (yield* engine.getAgent(t, id)).instances.find((i) => i.role === "PRIMARY")!
          expected += (ON_DEMAND - priceAt(poolIndex.get(primary.pool)!, now)) * (TICK / HOUR)
        }
        nowMillis += TICK
      }
      const end = DAYS * 24 * HOUR
      const intervals = []
      for (const id of ids) intervals.push(...Savings.runningIntervals(yield* engine.getAgent(t, id), end))
      const spotSeries = (pool: Pool.PoolId) =>
        Array.from({ length: DAYS * 4 }, (_, b) => ({ at: b * 6 * HOUR, price: priceAt(poolIndex.get(pool)!, b * 6 * HOUR) }))
      const report30 = Savings.accrue(intervals, { spot: spotSeries, onDemand: () => [{ at: 0, price: ON_DEMAND }] }, { from: 0, to: end })
      // The hand computation is the PRIMARYs' savings: the gross savings. What the instances cost
      // beside their PRIMARY (replicas before promotion, retired ones until seen gone) is in the net.
      assert.strictEqual(Savings.cents(report30.total.grossSavings), Savings.cents(expected))
      assert.closeTo(report30.total.primaryHours, DAYS * 24 * 3, 1e-9)
      assert.isAbove(report30.total.grossSavingsPercent!, 55)

      const switches = yield* engine.switches(t)
      assert.isAbove(switches.length, 30)
      for (const id of ids) {
        const times = switches.filter((s) => s.agentId === id && s.result === "succeeded").map((s) => s.initiatedAt)
        for (const start of times) {
          assert.isAtMost(times.filter((x) => x >= start && x < start + 24 * HOUR).length, 3)
          assert.isAtMost(times.filter((x) => x >= start && x < start + 7 * 24 * HOUR).length, 10)
        }
      }
    }).pipe(Effect.provide(TestLayer), Effect.withClock(manual))
  }, 120_000)
})
