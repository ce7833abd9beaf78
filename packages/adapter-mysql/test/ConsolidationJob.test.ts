import { assert } from "@effect/vitest"
import { ConsolidationJob, Ids, Pool, PriceStore, Pricing } from "@spotfleet/engine"
import { Effect } from "effect"
import { describeMysql, it, layerStore } from "./utils.js"

const SLOT = Pricing.SLOT_MILLIS
const HOUR = 3600_000
const T0 = 1_000_000 * SLOT

/** mulberry32: a small seeded PRNG, so every run sees the same input. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const pools = Array.from({ length: 7 }, (_, i) => Pool.make(`m${i}.large`, i % 2 === 0 ? "us-east-1a" : "us-east-1b"))

/** A day of reports, in time order, with gaps, conflicting REPLICA duplicates and some backfill. */
const input = () => {
  const rand = prng(7)
  const rows: Array<Pricing.SnapshotDraft> = []
  const price = pools.map(() => 0.05 + rand() * 0.1)
  for (let s = 0; s < 288; s++) {
    pools.forEach((pool, p) => {
      if (rand() < 0.1) return
      if (rand() < 0.05) price[p] = Math.round(price[p]! * (0.9 + rand() * 0.2) * 1e4) / 1e4
      const at = T0 + s * SLOT + Math.floor(rand() * (SLOT - 2))
      const draft = (observedAt: number, value: number, role: Pricing.ReporterRole) =>
        Pricing.SnapshotDraft.make({
          tenantId: null,
          pool,
          price: value,
          observedAt,
          reporterAgentId: null,
          reporterRole: role,
          source: p === 6 && s >= 200 ? "backfill" : "agent",
          receivedAt: observedAt
        })
      rows.push(draft(at, price[p]!, "PRIMARY"))
      if (rand() < 0.08) rows.push(draft(at + 1, price[p]! * 2, "REPLICA"))
    })
  }
  return rows
}

/** The job over one day, twice, on the store in context; what it wrote and the ledger counts. */
const runTwice = Effect.gen(function*() {
  const store = yield* PriceStore.PriceStore
  yield* store.appendSnapshots(input())
  // Three pools per batch: several batches, so the pipelined writes overlap reads.
  const job = yield* ConsolidationJob.make({ ids: Ids.sequentialIds(), poolsPerBatch: 3, context: () => Effect.succeed(new Map()) })
  const progress: Array<number> = []
  const first = yield* job.run({
    from: T0 + HOUR,
    to: T0 + 24 * HOUR,
    onProgress: (p) => Effect.sync(() => progress.push(p.poolsDone))
  })
  const tiers: Array<unknown> = []
  for (const pool of pools) {
    tiers.push(yield* store.consolidated({ pool, from: 0, to: Number.MAX_SAFE_INTEGER }))
    tiers.push(yield* store.canonical({ pool, from: 0, to: Number.MAX_SAFE_INTEGER }))
  }
  const flags = (yield* store.snapshots({ from: 0, to: Number.MAX_SAFE_INTEGER })).map((s) => s.duplicate)
  const second = yield* job.run({ from: T0 + HOUR, to: T0 + 24 * HOUR })
  const counts = (r: Pricing.ConsolidationRun) =>
    [r.status, r.pools, r.snapshots, r.duplicates, r.agentPoints, r.filled, r.backfilled, r.written, r.canonical]
  return { first: counts(first), second: counts(second), tiers, flags, progress }
})

describeMysql("ConsolidationJob on MySQL", () => {
  it.layer(layerStore(), { timeout: "120 seconds" })((it) => {
    it.effect("writes exactly what it writes on the memory store, and nothing when run again", () =>
      Effect.gen(function*() {
        const mysql = yield* runTwice
        const memory = yield* runTwice.pipe(Effect.provideService(PriceStore.PriceStore, PriceStore.makeMemory()))
        assert.deepStrictEqual(mysql.tiers, memory.tiers)
        assert.deepStrictEqual(mysql.flags, memory.flags)
        assert.deepStrictEqual(mysql.first, memory.first)
        assert.deepStrictEqual(mysql.second, memory.second)
        assert.deepStrictEqual(mysql.progress, [3, 6, 7])
        const [, , snapshots, duplicates, , filled, backfilled, written, canonical] = mysql.first as Array<number>
        assert.isAbove(snapshots!, 0)
        assert.isAbove(duplicates!, 0)
        assert.isAbove(filled!, 0)
        assert.isAbove(backfilled!, 0)
        assert.isAbove(written!, 0)
        assert.isAbove(canonical!, 0)
        assert.deepStrictEqual(mysql.second.slice(7), [0, 0])
        assert.isTrue(mysql.flags.some((f) => f))
      }))
  })
})
