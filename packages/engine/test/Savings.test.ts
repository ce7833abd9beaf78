import { assert, describe, it } from "@effect/vitest"
import * as Pool from "../src/Pool.js"
import * as Savings from "../src/Savings.js"

const HOUR = 3_600_000
const spotA = Pool.make("t3.medium", "us-east-1a")
const onDemandA = Pool.make("t3.medium", "us-east-1a", "on-demand")

const prices: Savings.PriceLookup = {
  spot: (pool) =>
    pool === spotA
      ? [{ at: 0, price: 0.0125 }, { at: 10 * HOUR, price: 0.02 }] // changes once, at 10 h
      : [],
  onDemand: (type, region) => (type === "t3.medium" && region === "us-east-1" ? [{ at: 0, price: 0.0416 }] : [])
}

describe("Savings", () => {
  it("integrates step prices exactly", () => {
    const r = Savings.integrate([{ at: 0, price: 1 }, { at: 2 * HOUR, price: 3 }], HOUR, 4 * HOUR)
    assert.strictEqual(r.dollars, 1 + 6)
    assert.strictEqual(r.knownMillis, 3 * HOUR)
    assert.deepStrictEqual(Savings.integrate([{ at: 5 * HOUR, price: 1 }], 0, 6 * HOUR), { dollars: 1, knownMillis: HOUR })
  })

  it("accrues (baseline − actual) × hours per instance, agent, pool and tenant, to the cent", () => {
    const report = Savings.accrue(
      [
        { instanceId: "i-1", agentId: "a-1", pool: spotA, start: 0, end: 24 * HOUR },
        { instanceId: "i-2", agentId: "a-1", pool: onDemandA, start: 24 * HOUR, end: 30 * HOUR },
        { instanceId: "i-3", agentId: "a-2", pool: spotA, start: 5 * HOUR, end: 15 * HOUR }
      ],
      prices,
      { from: 0, to: 48 * HOUR }
    )
    // i-1: baseline 24 × 0.0416 = 0.9984; actual 10 × 0.0125 + 14 × 0.02 = 0.405; savings 0.5934
    const i1 = report.byInstance.get("i-1")!
    assert.closeTo(i1.baselineCost, 0.9984, 1e-12)
    assert.closeTo(i1.actualCost, 0.405, 1e-12)
    assert.strictEqual(Savings.cents(i1.savings), 0.59)
    // i-2 on demand: no savings, but its baseline counts.
    assert.closeTo(report.byInstance.get("i-2")!.savings, 0, 1e-12)
    // i-3: baseline 10 × 0.0416 = 0.416; actual 5 × 0.0125 + 5 × 0.02 = 0.1625; savings 0.2535
    assert.closeTo(report.byAgent.get("a-2")!.savings, 0.2535, 1e-12)
    assert.closeTo(report.byPool.get(spotA)!.savings, 0.5934 + 0.2535, 1e-12)
    assert.closeTo(report.total.baselineCost, 0.9984 + 6 * 0.0416 + 0.416, 1e-12)
    assert.strictEqual(Savings.cents(report.total.savings), 0.85)
    assert.closeTo(report.total.savingsPercent!, ((0.5934 + 0.2535) / (0.9984 + 0.2496 + 0.416)) * 100, 1e-9)
  })

  it("reports over parts of a fleet combine to the report over all of it", () => {
    const intervals = Array.from({ length: 40 }, (_, n): Savings.RunningInterval => ({
      instanceId: `i-${n}`,
      agentId: `a-${n % 7}`,
      pool: n % 5 === 0 ? onDemandA : spotA,
      start: (n % 3) * HOUR, // most share a span: their integrals are computed once
      end: 20 * HOUR + (n % 4) * HOUR
    }))
    const window = { from: HOUR, to: 22 * HOUR }
    const whole = Savings.accrue(intervals, prices, window)
    const parts = Savings.combine([0, 13, 29].map((at, k, all) => Savings.accrue(intervals.slice(at, all[k + 1]), prices, window)))
    assert.deepStrictEqual([...parts.byInstance.keys()].sort(), [...whole.byInstance.keys()].sort())
    for (const [id, line] of whole.byInstance) assert.deepStrictEqual(parts.byInstance.get(id), line)
    for (const [id, line] of whole.byAgent) assert.closeTo(parts.byAgent.get(id)!.savings, line.savings, 1e-12)
    assert.closeTo(parts.total.savings, whole.total.savings, 1e-12)
    assert.closeTo(parts.total.baselineCost, whole.total.baselineCost, 1e-12)
    assert.strictEqual(parts.total.hours, whole.total.hours)
  })

  it("counts only time with both prices known and inside the window", () => {
    const late: Savings.PriceLookup = { ...prices, spot: () => [{ at: 6 * HOUR, price: 0.01 }] }
    const r = Savings.accrue([{ instanceId: "i", agentId: "a", pool: spotA, start: 0, end: 12 * HOUR }], late, { from: 0, to: 10 * HOUR })
    assert.strictEqual(r.total.hours, 4)
    assert.closeTo(r.total.savings, 4 * (0.0416 - 0.01), 1e-12)
  })

  it("rounds half away from zero", () => {
    assert.strictEqual(Savings.cents(0.125), 0.13)
    assert.strictEqual(Savings.cents(-0.125), -0.13)
    assert.strictEqual(Savings.cents(1.005), 1.01)
  })
})
