/**
 * Consolidation throughput: `npm run bench:consolidation`.
 *
 * Pure engine: a synthetic 1,000 pools × 30 days at 5-minute granularity (one report per pool
 * per slot, 2% of slots missing so gaps get filled, 5% of reports duplicated by a conflicting
 * REPLICA), consolidated by `Consolidation.consolidate` (dedup, agent points, step fill,
 * canonical features). Input generation is not timed.
 */
import { Consolidation } from "@spotfleet/engine"
import { synthetic } from "./synthetic.js"

const POOLS = 1_000
const DAYS = 30
const { FROM, SLOTS, TO, generate } = synthetic(POOLS, DAYS)

const fmt = (x: number) => Math.round(x).toLocaleString("en-US")

console.log(`consolidation bench: ${fmt(POOLS)} pools × ${DAYS} days at 5-minute slots (${fmt(POOLS * SLOTS)} pool-slots)`)
const t0 = performance.now()
const input = generate()
console.log(`generated ${fmt(input.length)} snapshots in ${((performance.now() - t0) / 1000).toFixed(1)} s (not timed below)`)

const options: Consolidation.Options = { from: FROM, to: TO, fillPolicy: "step" }
const warm = Consolidation.consolidate(input, options)
console.log(
  `counts: snapshots ${fmt(warm.counts.snapshots)}, duplicates ${fmt(warm.counts.duplicates)}, agent points ${fmt(warm.counts.agentPoints)}, ` +
    `filled ${fmt(warm.counts.filled)}, canonical ${fmt(warm.counts.canonical)}`
)
if (warm.counts.snapshots !== input.length) throw new Error("bench input fell outside the window")

const times: Array<number> = []
for (let i = 0; i < 5; i++) {
  const start = performance.now()
  const r = Consolidation.consolidate(input, options)
  times.push(performance.now() - start)
  if (r.counts.agentPoints !== warm.counts.agentPoints) throw new Error("non-deterministic result")
}
times.sort((a, b) => a - b)
const median = times[2]!
console.log(`pure engine (Consolidation.consolidate, columnar input): median of 5 runs ${(median / 1000).toFixed(3)} s ` +
  `(min ${(times[0]! / 1000).toFixed(3)} s, max ${(times[4]! / 1000).toFixed(3)} s)`)
console.log(`pure engine throughput: ${fmt(input.length / (median / 1000))} snapshots/s (target ≥ 1,000,000)`)

// Turning results into ConsolidatedPrice / CanonicalPrice records (what the job hands to a store),
// measured on a 100-pool slice so the record objects fit comfortably in memory.
const slicePools = 100
const sliceCount = (() => {
  let k = 0
  for (let i = 0; i < input.length; i++) if (input.pool[i]! < slicePools) k++
  return k
})()
const slice: Consolidation.SnapshotColumns = (() => {
  const idx: Array<number> = []
  for (let i = 0; i < input.length; i++) if (input.pool[i]! < slicePools) idx.push(i)
  return {
    length: sliceCount,
    pools: input.pools.slice(0, slicePools),
    pool: Uint32Array.from(idx, (i) => input.pool[i]!),
    observedAt: Float64Array.from(idx, (i) => input.observedAt[i]!),
    price: Float64Array.from(idx, (i) => input.price[i]!),
    role: Uint8Array.from(idx, (i) => input.role[i]!)
  }
})()
const m0 = performance.now()
const sliceResult = Consolidation.consolidate(slice, options)
const consolidated = Consolidation.consolidatedPoints(sliceResult, "bench")
const canonical = Consolidation.canonicalPoints(sliceResult, "bench")
const m1 = performance.now()
console.log(
  `with record materialisation (${slicePools} pools: ${fmt(consolidated.length)} consolidated + ${fmt(canonical.length)} canonical records): ` +
    `${fmt(sliceCount / ((m1 - m0) / 1000))} snapshots/s`
)
console.log("end-to-end on MariaDB: see the second half of `npm run bench:consolidation` (packages/adapter-mysql/bench/consolidation.ts)")
