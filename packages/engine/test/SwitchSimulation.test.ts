import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as Engine from "../src/Engine.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import * as PoolLedger from "../src/PoolLedger.js"
import * as SwitchSimulation from "../src/SwitchSimulation.js"

const from = Pool.make("t3.medium", "us-east-1a")
const to = Pool.make("t3.medium", "us-east-1b")

describe("SwitchSimulation", () => {
  it.effect("savings from the two quotes, the risk of the target pool, and the state machine's blockers", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = yield* engine.createTenant({ name: "sim", tokenHash: "c".repeat(64) })
      const { agent } = yield* engine.register(tenant.id, { logicalAgentId: "w", cloudInstanceId: "i-w", pool: from })
      const view = yield* engine.getAgent(tenant.id, agent.id)
      const quote = (price: number) => ({ price, at: 0, source: "raw", onDemandPrice: 0.4 }) as never
      const quotes = new Map([[from, quote(0.1)], [to, quote(0.04)]])
      assert.deepStrictEqual(SwitchSimulation.poolsToQuote(view, to), [from, to])
      const sim = SwitchSimulation.simulate({ view, pool: to, quotes, history: [], ledger: PoolLedger.empty, quarantined: new Set([to]), now: 0 })
      assert.closeTo(sim.hourlySavings!, 0.06, 1e-12)
      assert.closeTo(sim.monthlySavings!, 0.06 * SwitchSimulation.hoursPerMonth, 1e-9)
      assert.closeTo(sim.savingsPercent!, 60, 1e-9)
      assert.isTrue(sim.risk.quarantined)
      assert.deepStrictEqual(sim.blockers, [])
      // The same pool it runs in: blocked, in the state machine's words.
      const same = SwitchSimulation.simulate({ view, pool: from, quotes, history: [], ledger: PoolLedger.empty, quarantined: new Set(), now: 0 })
      assert.strictEqual(same.blockers.length, 1)
      assert.match(same.blockers[0]!, /already runs in/)
    }).pipe(Effect.provide(Engine.layer().pipe(Layer.provide(MemoryStore.layer)))))
})
