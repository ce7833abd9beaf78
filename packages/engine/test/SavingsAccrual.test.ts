import { assert, describe, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Metric, Option, TestClock } from "effect"
import { Agent } from "../src/Agent.js"
import { AgentStore } from "../src/AgentStore.js"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import * as EngineMetrics from "../src/EngineMetrics.js"
import { Instance } from "../src/Instance.js"
import { InstanceId } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import * as PriceService from "../src/PriceService.js"
import * as SavingsAccrual from "../src/SavingsAccrual.js"

const HOUR = 3_600_000
const pool = Pool.make("t3.medium", "us-east-1a")

const layerOver = (stores: Layer.Layer<MemoryStore.Stores>) =>
  Layer.mergeAll(Engine.layer(), PriceService.layer).pipe(Layer.provideMerge(stores))

/** The memory store without `listInstances`: the accrual falls back to loading every aggregate. */
const PerAgentStore = Layer.effectContext(Effect.map(MemoryStore.make, (stores) => {
  const { busyAgents: _busy, listInstances: _instances, ...store } = Context.get(stores, AgentStore)
  return Context.add(stores, AgentStore, store)
}))

const variants = [
  { name: "bulk reads", layer: layerOver(MemoryStore.layer) },
  { name: "per-agent loads", layer: layerOver(PerAgentStore) }
] as const

const cents = (n: number) => Math.round(n * 100) / 100
/** An accrual run's figures, to the cent. */
const rounded = (a: SavingsAccrual.Accrued) => ({
  ...a,
  grossSavings: cents(a.grossSavings),
  netSavings: cents(a.netSavings),
  baselineCost: cents(a.baselineCost),
  actualCost: cents(a.actualCost),
  leakedCost: cents(a.leakedCost)
})
const counter = (c: Metric.Metric.Counter<number>) => Effect.map(Metric.value(c), (state) => state.count)
const counters = Effect.all({
  savings: counter(EngineMetrics.savingsDollars),
  baseline: counter(EngineMetrics.baselineCostDollars),
  spend: counter(EngineMetrics.spendDollars),
  leaked: counter(EngineMetrics.leakedSpendDollars)
})
const ok = (cloudInstanceId: string | null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })

describe("savings accrual", () => {
  for (const variant of variants) {
    it.effect(`baseline for the PRIMARYs, spend for every running instance; one seen gone stops at its end (${variant.name})`, () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const prices = yield* PriceService.PriceService
        const store = yield* AgentStore
        const accrual = yield* SavingsAccrual.make()
        const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "c".repeat(64) })
        // Two agents whose PRIMARYs run from t = 0; on demand $0.40/h, spot $0.10/h.
        const a = yield* engine.register(tenant.id, { logicalAgentId: "a", cloudInstanceId: "i-a", pool })
        yield* engine.register(tenant.id, { logicalAgentId: "b", cloudInstanceId: "i-b", pool })
        yield* prices.putOnDemand([{ instanceType: "t3.medium", region: "us-east-1", price: 0.4 }])
        yield* prices.ingest(tenant.id, a.agent.id, { cloudInstanceId: "i-a", prices: [{ pool, price: 0.1, observedAt: 0 }] })
        // Agent a also had a replica that ran from t = 0, was retired at t = 30 min and seen gone then.
        const loaded = Option.getOrThrow(yield* store.load(a.agent.id))
        const ended = Instance.make({
          ...loaded.instances[0]!,
          id: InstanceId.make("inst-ended"),
          cloudInstanceId: "i-ended",
          role: "TERMINATED",
          launchConfirmedAt: 0,
          promotedAt: null,
          terminatedAt: HOUR / 2,
          terminationConfirmedAt: HOUR / 2
        })
        yield* store.commit({
          before: loaded,
          after: { ...loaded, agent: Agent.make({ ...loaded.agent, version: loaded.agent.version + 1 }), instances: [...loaded.instances, ended] },
          events: []
        })
        // The first hour: a baseline of 2 PRIMARY-hours at $0.40; 2.5 instance-hours spent at $0.10
        // (the price at its start is the one at t = 0).
        yield* TestClock.adjust("1 hour")
        assert.deepStrictEqual(rounded(yield* accrual), {
          from: 0,
          to: HOUR,
          instances: 3,
          grossSavings: 0.6,
          netSavings: 0.55,
          baselineCost: 0.8,
          actualCost: 0.25,
          leakedCost: 0
        })
        // The second hour: the ended instance is not counted; the price holding at its start was
        // reported an hour before it (found over the whole lookback).
        yield* TestClock.adjust("1 hour")
        assert.deepStrictEqual(rounded(yield* accrual), {
          from: HOUR,
          to: 2 * HOUR,
          instances: 2,
          grossSavings: 0.6,
          netSavings: 0.6,
          baselineCost: 0.8,
          actualCost: 0.2,
          leakedCost: 0
        })
        // Spot goes to $0.20/h five minutes before the third hour: that price holds at its start.
        yield* TestClock.adjust("55 minutes")
        yield* prices.ingest(tenant.id, a.agent.id, { cloudInstanceId: "i-a", prices: [{ pool, price: 0.2, observedAt: 2 * HOUR + 55 * 60_000 }] })
        yield* TestClock.adjust("5 minutes")
        assert.deepStrictEqual(rounded(yield* accrual), {
          from: 2 * HOUR,
          to: 3 * HOUR,
          instances: 2,
          grossSavings: 0.58,
          netSavings: 0.58,
          baselineCost: 0.8,
          actualCost: 0.22,
          leakedCost: 0
        })
        yield* TestClock.adjust("1 hour")
        assert.deepStrictEqual(rounded(yield* accrual), {
          from: 3 * HOUR,
          to: 4 * HOUR,
          instances: 2,
          grossSavings: 0.4,
          netSavings: 0.4,
          baselineCost: 0.8,
          actualCost: 0.4,
          leakedCost: 0
        })
        // A window over all four hours, without touching the counters: the same total.
        const report = yield* SavingsAccrual.accrueWindow({ from: 0, to: 4 * HOUR })
        assert.deepStrictEqual([...report.byInstance.keys()].length, 3)
        assert.strictEqual(cents(report.total.netSavings), 2.13)
        assert.strictEqual(cents(report.total.grossSavings), 2.18)
      }).pipe(Effect.provide(variant.layer)))

    it.effect(`1 PRIMARY + 1 ZOMBIE for 10 h: $3.00 gross, $2.00 net; a retired instance leaks until seen gone (${variant.name})`, () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const prices = yield* PriceService.PriceService
        const store = yield* AgentStore
        const accrual = yield* SavingsAccrual.make()
        const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "d".repeat(64) })
        const t = tenant.id
        const { agent } = yield* engine.register(t, { logicalAgentId: "web", cloudInstanceId: "i-old", pool })
        yield* engine.updateConfig(t, agent.id, { autoTerminate: false })
        yield* prices.putOnDemand([{ instanceType: "t3.medium", region: "us-east-1", price: 0.4 }])
        yield* prices.ingest(t, agent.id, { cloudInstanceId: "i-old", prices: [{ pool, price: 0.1, observedAt: 0 }] })
        // A replica launched and promoted at t = 0: the old PRIMARY is kept as a ZOMBIE.
        yield* engine.requestReplica(t, agent.id, {})
        const [launch] = yield* engine.pollCommands(t, agent.id)
        yield* engine.reportResult(t, agent.id, { commandId: launch!.id, result: ok("i-new") })
        const replica = (yield* engine.getAgent(t, agent.id)).instances.find((i) => i.cloudInstanceId === "i-new")!
        yield* engine.promote(t, agent.id, replica.id)
        const [promote] = yield* engine.pollCommands(t, agent.id)
        yield* engine.reportResult(t, agent.id, { commandId: promote!.id, result: ok(null) })
        const roles = (yield* engine.getAgent(t, agent.id)).instances.map((i) => [i.cloudInstanceId, i.role])
        assert.deepStrictEqual(roles, [["i-old", "ZOMBIE"], ["i-new", "PRIMARY"]])

        const before = yield* counters
        yield* TestClock.adjust("10 hours")
        const tenHours = rounded(yield* accrual)
        assert.deepStrictEqual(tenHours, {
          from: 0,
          to: 10 * HOUR,
          instances: 2,
          grossSavings: 3,
          netSavings: 2,
          baselineCost: 4,
          actualCost: 2,
          leakedCost: 0
        })
        const after = yield* counters
        assert.deepStrictEqual(
          { savings: cents(after.savings - before.savings), baseline: cents(after.baseline - before.baseline), spend: cents(after.spend - before.spend) },
          { savings: 3, baseline: 4, spend: 2 }
        )

        // The zombie is retired: until the cloud is seen no longer running it, it still costs
        // money, now as leaked spend.
        const zombie = (yield* engine.getAgent(t, agent.id)).instances.find((i) => i.cloudInstanceId === "i-old")!
        yield* engine.retireZombie(t, agent.id, zombie.id)
        yield* TestClock.adjust("1 hour")
        assert.deepStrictEqual(rounded(yield* accrual), {
          from: 10 * HOUR,
          to: 11 * HOUR,
          instances: 2,
          grossSavings: 0.3,
          netSavings: 0.2,
          baselineCost: 0.4,
          actualCost: 0.2,
          leakedCost: 0.1
        })
        assert.strictEqual(cents((yield* counters).leaked - after.leaked), 0.1)
        // Half an hour later the agent polls: its TERMINATE ran out (15 min) and is queued again
        // after a backoff; 30 s later it runs it and reports it done: seen gone.
        const retried = yield* Metric.value(EngineMetrics.terminationsRetried)
        yield* TestClock.adjust("30 minutes")
        assert.deepStrictEqual(yield* engine.pollCommands(t, agent.id), [])
        assert.strictEqual((yield* Metric.value(EngineMetrics.terminationsRetried)).count, retried.count + 1)
        yield* TestClock.adjust("30 seconds")
        const [terminate] = yield* engine.pollCommands(t, agent.id)
        assert.deepStrictEqual([terminate!.type, terminate!.params], ["TERMINATE_INSTANCE", { instance_id: "i-old" }])
        yield* engine.reportResult(t, agent.id, { commandId: terminate!.id, result: ok(null) })
        const gone = (yield* store.load(agent.id)).pipe(Option.getOrThrow).instances.find((i) => i.id === zombie.id)!
        assert.strictEqual(gone.terminationConfirmedAt, 11.5 * HOUR + 30_000)
        yield* TestClock.adjust(Duration.seconds(29 * 60 + 30))
        assert.deepStrictEqual(rounded(yield* accrual), {
          from: 11 * HOUR,
          to: 12 * HOUR,
          instances: 2,
          grossSavings: 0.3,
          netSavings: 0.25,
          baselineCost: 0.4,
          actualCost: 0.15,
          leakedCost: 0.05
        })
      }).pipe(Effect.provide(variant.layer)))
  }
})
