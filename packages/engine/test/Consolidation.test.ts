import { assert, describe, it } from "@effect/vitest"
import { Consolidation, Pool, Pricing } from "../src/index.js"

const SLOT = Pricing.SLOT_MILLIS
const T0 = 1_700_000_100_000 - (1_700_000_100_000 % SLOT) // a slot boundary
const a = Pool.make("c5a.2xlarge", "us-east-1a")
const b = Pool.make("c5a.2xlarge", "us-east-1b")

type Row = { pool: Pool.PoolId; observedAt: number; price: number; reporterRole: Pricing.ReporterRole | null }
const row = (pool: Pool.PoolId, slot: number, offset: number, price: number, reporterRole: Pricing.ReporterRole | null = "PRIMARY"): Row => ({
  pool,
  observedAt: T0 + slot * SLOT + offset,
  price,
  reporterRole
})

const run = (rows: ReadonlyArray<Row>, options: Partial<Consolidation.Options> & { slots: number }) =>
  Consolidation.consolidate(Consolidation.fromSnapshots(rows), { from: T0, to: T0 + options.slots * SLOT, ...options })

/** The consolidated series of a pool as `[slotIndex, price, source]`. */
const series = (result: Consolidation.Result, pool: Pool.PoolId) =>
  Consolidation.consolidatedPoints(result, "run-1")
    .filter((p) => p.pool === pool)
    .map((p) => [(p.slotStart - T0) / SLOT, p.price, p.source] as const)

describe("Consolidation", () => {
  describe("dedup", () => {
    it("PRIMARY beats REPLICA even when the REPLICA report is later", () => {
      const rows = [row(a, 0, 60_000, 0.20, "PRIMARY"), row(a, 0, 200_000, 0.25, "REPLICA")]
      const r = run(rows, { slots: 1 })
      assert.deepStrictEqual(series(r, a), [[0, 0.20, "agent"]])
      assert.deepStrictEqual([...r.duplicates], [1])
      assert.strictEqual(r.counts.duplicates, 1)
      assert.strictEqual(Consolidation.consolidatedPoints(r, "x")[0]!.snapshotsMerged, 2)
    })

    it("among equal roles the latest observation wins, whatever the row order", () => {
      const rows = [row(a, 0, 200_000, 0.31, "REPLICA"), row(a, 0, 10_000, 0.30, "REPLICA"), row(a, 0, 100_000, 0.29, "REPLICA")]
      const r = run(rows, { slots: 1 })
      assert.deepStrictEqual(series(r, a), [[0, 0.31, "agent"]])
      assert.deepStrictEqual([...r.duplicates].sort(), [1, 2])
    })

    it("an unknown role loses to both roles; an exact tie goes to the later row", () => {
      const r1 = run([row(a, 0, 250_000, 0.5, null), row(a, 0, 1_000, 0.4, "REPLICA")], { slots: 1 })
      assert.deepStrictEqual(series(r1, a), [[0, 0.4, "agent"]])
      const r2 = run([row(a, 0, 1_000, 0.4, "PRIMARY"), row(a, 0, 1_000, 0.41, "PRIMARY")], { slots: 1 })
      assert.deepStrictEqual(series(r2, a), [[0, 0.41, "agent"]])
      assert.deepStrictEqual([...r2.duplicates], [0])
    })

    it("dedups per pool and per slot, never across them", () => {
      const rows = [row(a, 0, 0, 0.1), row(b, 0, 0, 0.2), row(a, 1, 0, 0.3)]
      const r = run(rows, { slots: 2 })
      assert.strictEqual(r.counts.duplicates, 0)
      assert.deepStrictEqual(series(r, a), [[0, 0.1, "agent"], [1, 0.3, "agent"]])
      assert.deepStrictEqual(series(r, b), [[0, 0.2, "agent"]])
    })

    it("ignores snapshots outside the window and does not count context snapshots", () => {
      const rows = [row(a, -13, 0, 0.9), row(a, -1, 0, 0.1), row(a, -1, 5, 0.11), row(a, 3, 0, 0.2)]
      const r = run(rows, { slots: 3, contextFrom: T0 - 12 * SLOT })
      assert.strictEqual(r.counts.snapshots, 0)
      assert.strictEqual(r.counts.duplicates, 0)
      // slot 3 is past the window: no right-hand point, so nothing is filled either
      assert.deepStrictEqual(series(r, a), [])
    })
  })

  describe("gap fill", () => {
    const rows = [row(a, 0, 0, 0.10), row(a, 4, 0, 0.18)]

    it("step carries the last price forward and marks the points interpolated", () => {
      const r = run(rows, { slots: 5, fillPolicy: "step" })
      assert.deepStrictEqual(series(r, a), [
        [0, 0.10, "agent"],
        [1, 0.10, "interpolated"],
        [2, 0.10, "interpolated"],
        [3, 0.10, "interpolated"],
        [4, 0.18, "agent"]
      ])
      assert.strictEqual(r.counts.filled, 3)
      const filled = Consolidation.consolidatedPoints(r, "r").filter((p) => p.source === "interpolated")
      assert.deepStrictEqual(filled.map((p) => [p.confidence, p.snapshotsMerged]), [[0.8, 0], [0.8, 0], [0.8, 0]])
    })

    it("linear interpolates between the two real points", () => {
      const r = run(rows, { slots: 5, fillPolicy: "linear" })
      const s = series(r, a)
      assert.deepStrictEqual(s.map(([i, , src]) => [i, src]), [[0, "agent"], [1, "interpolated"], [2, "interpolated"], [3, "interpolated"], [4, "agent"]])
      for (const [i, p] of s) assert.closeTo(p, 0.10 + 0.02 * i, 1e-12)
    })

    it("does not fill a gap longer than the maximum", () => {
      const r = run(rows, { slots: 5, fillPolicy: "step", maxGapMillis: 3 * SLOT })
      assert.deepStrictEqual(series(r, a), [[0, 0.10, "agent"], [4, 0.18, "agent"]])
      assert.strictEqual(r.counts.filled, 0)
      const exactly = run(rows, { slots: 5, fillPolicy: "step", maxGapMillis: 4 * SLOT })
      assert.strictEqual(exactly.counts.filled, 3)
    })

    it("never replaces a real point and never fills past the last one", () => {
      const mixed = [row(a, 0, 0, 0.1), row(a, 2, 0, 0.3), row(a, 3, 0, 0.35), row(a, 6, 0, 0.6)]
      for (const fillPolicy of ["step", "linear"] as const) {
        const r = run(mixed, { slots: 9, fillPolicy })
        const s = series(r, a)
        for (const real of mixed) {
          const i = (real.observedAt - T0) / SLOT
          assert.deepStrictEqual(s.find(([j]) => j === i), [i, real.price, "agent"])
        }
        assert.deepStrictEqual(s.filter(([, , src]) => src === "interpolated").map(([i]) => i), [1, 4, 5])
        assert.isUndefined(s.find(([i]) => i > 6))
      }
    })

    it("fills a gap that starts in the context before the window", () => {
      const r = run([row(a, -2, 0, 0.1), row(a, 2, 0, 0.2)], { slots: 3, contextFrom: T0 - 2 * SLOT })
      assert.deepStrictEqual(series(r, a), [[0, 0.1, "interpolated"], [1, 0.1, "interpolated"], [2, 0.2, "agent"]])
      assert.strictEqual(r.counts.filled, 2)
      assert.strictEqual(r.counts.agentPoints, 1)
    })
  })

  describe("backfill and canonical", () => {
    it("backfills only slots without agent data or fill, with the price in effect at the slot end", () => {
      const history = new Map([[a, [
        { observedAt: T0 - 3 * SLOT, price: 0.5 },
        { observedAt: T0 + 6 * SLOT + 10, price: 0.7 }
      ]], [b, [{ observedAt: T0 + 2 * SLOT, price: 0.9 }]]])
      const r = run([row(a, 2, 0, 0.1), row(a, 4, 0, 0.2)], { slots: 8, history, maxGapMillis: 2 * SLOT })
      assert.deepStrictEqual(series(r, a), [
        [0, 0.5, "backfilled"],
        [1, 0.5, "backfilled"],
        [2, 0.1, "agent"],
        [3, 0.1, "interpolated"],
        [4, 0.2, "agent"],
        [5, 0.5, "backfilled"],
        [6, 0.7, "backfilled"],
        [7, 0.7, "backfilled"]
      ])
      // a pool with history only; nothing before its first record
      assert.deepStrictEqual(series(r, b).map(([i]) => i), [2, 3, 4, 5, 6, 7])
      assert.strictEqual(r.counts.backfilled, 5 + 6)
      assert.deepStrictEqual(
        Consolidation.consolidatedPoints(r, "r").filter((p) => p.source === "backfilled").every((p) => p.confidence === 0.9),
        true
      )
    })

    it("promotes only confidence ≥ 0.9 points, with features", () => {
      const history = new Map([[a, [{ observedAt: T0 - SLOT, price: 0.4 }]]])
      const onDemand = new Map([[a, 0.5]])
      const context = new Map([[a, { notices: [T0 - 60_000, T0 - 25 * 3600_000], interruptions: [T0 + 2 * SLOT + 1] }]])
      const r = run([row(a, 1, 0, 0.1), row(a, 3, 0, 0.3)], { slots: 4, history, onDemand, context, rollingSlots: 3 })
      const canonical = Consolidation.canonicalPoints(r, "r")
      assert.deepStrictEqual(canonical.map((c) => [(c.slotStart - T0) / SLOT, c.source, c.confidence]), [
        [0, "backfilled", 0.9],
        [1, "agent", 1],
        [3, "agent", 1]
      ])
      const last = canonical[2]!.features
      // rolling window of 3 slots ending at slot 3: 0.1 (filled), 0.1 (filled), 0.3
      assert.closeTo(last.rollingMean, (0.1 + 0.1 + 0.3) / 3, 1e-12)
      const m = (0.1 + 0.1 + 0.3) / 3
      assert.closeTo(last.volatility, Math.sqrt(((0.1 - m) ** 2 * 2 + (0.3 - m) ** 2) / 3), 1e-12)
      assert.closeTo(last.spreadToOnDemand!, (0.5 - 0.3) / 0.5, 1e-12)
      assert.strictEqual(last.notices, 1)
      assert.strictEqual(last.interruptions, 1)
      assert.strictEqual(canonical[0]!.features.interruptions, 0)
      assert.strictEqual(canonical[0]!.features.volatility, 0)
      assert.strictEqual(r.counts.canonical, 3)
    })

    it("is deterministic: the same input gives the same output", () => {
      const rows = Array.from({ length: 500 }, (_, i) => row(i % 3 === 0 ? a : b, (i * 7) % 50, (i * 13) % SLOT, 0.1 + (i % 11) / 100, i % 2 ? "REPLICA" : "PRIMARY"))
      const r1 = run(rows, { slots: 50, fillPolicy: "linear" })
      const r2 = run(rows, { slots: 50, fillPolicy: "linear" })
      assert.deepStrictEqual(Consolidation.consolidatedPoints(r1, "r"), Consolidation.consolidatedPoints(r2, "r"))
      assert.deepStrictEqual(Consolidation.canonicalPoints(r1, "r"), Consolidation.canonicalPoints(r2, "r"))
      assert.deepStrictEqual([...r1.duplicates], [...r2.duplicates])
    })
  })
})
