import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, TestClock } from "effect"
import { Agent } from "../src/Agent.js"
import { AgentStore } from "../src/AgentStore.js"
import * as Engine from "../src/Engine.js"
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

describe("savings accrual", () => {
  for (const variant of variants) {
    it.effect(`accrues running instances only, terminated ones up to their end (${variant.name})`, () =>
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
        // Agent a also had an instance that ran from t = 0 and ended at t = 30 min.
        const loaded = Option.getOrThrow(yield* store.load(a.agent.id))
        const ended = Instance.make({
          ...loaded.instances[0]!,
          id: InstanceId.make("inst-ended"),
          cloudInstanceId: "i-ended",
          role: "TERMINATED",
          launchConfirmedAt: 0,
          terminatedAt: HOUR / 2
        })
        yield* store.commit({
          before: loaded,
          after: { ...loaded, agent: Agent.make({ ...loaded.agent, version: loaded.agent.version + 1 }), instances: [...loaded.instances, ended] },
          events: []
        })
        // The first hour: 2 × 1 h + 0.5 h at $0.30/h saved (the price at its start is the one at t = 0).
        yield* TestClock.adjust("1 hour")
        const first = yield* accrual
        assert.deepStrictEqual(
          { ...first, savings: cents(first.savings), baselineCost: cents(first.baselineCost), actualCost: cents(first.actualCost) },
          { from: 0, to: HOUR, instances: 3, savings: 0.75, baselineCost: 1, actualCost: 0.25 }
        )
        // The second hour: the ended instance is not counted; the price holding at its start was
        // reported an hour before it (found over the whole lookback).
        yield* TestClock.adjust("1 hour")
        const second = yield* accrual
        assert.deepStrictEqual(
          { ...second, savings: cents(second.savings), baselineCost: cents(second.baselineCost), actualCost: cents(second.actualCost) },
          { from: HOUR, to: 2 * HOUR, instances: 2, savings: 0.6, baselineCost: 0.8, actualCost: 0.2 }
        )
        // Spot goes to $0.20/h five minutes before the third hour: that price holds at its start.
        yield* TestClock.adjust("55 minutes")
        yield* prices.ingest(tenant.id, a.agent.id, { cloudInstanceId: "i-a", prices: [{ pool, price: 0.2, observedAt: 2 * HOUR + 55 * 60_000 }] })
        yield* TestClock.adjust("5 minutes")
        const steps = yield* accrual
        assert.deepStrictEqual(
          { ...steps, savings: cents(steps.savings), baselineCost: cents(steps.baselineCost), actualCost: cents(steps.actualCost) },
          { from: 2 * HOUR, to: 3 * HOUR, instances: 2, savings: 0.58, baselineCost: 0.8, actualCost: 0.22 }
        )
        yield* TestClock.adjust("1 hour")
        const fourth = yield* accrual
        assert.deepStrictEqual(
          { ...fourth, savings: cents(fourth.savings), baselineCost: cents(fourth.baselineCost), actualCost: cents(fourth.actualCost) },
          { from: 3 * HOUR, to: 4 * HOUR, instances: 2, savings: 0.4, baselineCost: 0.8, actualCost: 0.4 }
        )
        // A window over all four hours, without touching the counters: the same total.
        const report = yield* SavingsAccrual.accrueWindow({ from: 0, to: 4 * HOUR })
        assert.deepStrictEqual([...report.byInstance.keys()].length, 3)
        assert.strictEqual(cents(report.total.savings), cents(first.savings + second.savings + steps.savings + fourth.savings))
        assert.strictEqual(cents(report.total.savings), 2.33)
      }).pipe(Effect.provide(variant.layer)))
  }
})
