/**
 * Consolidation throughput: `npm run bench:consolidation`.
 *
 * Pure engine: a synthetic 1,000 pools × 30 days at 5-minute granularity (one report per pool
 * per slot, 2% of slots missing so gaps get filled, 5% of reports duplicated by a conflicting
 * REPLICA), consolidated by `Consolidation.consolidate` (dedup, agent points, step fill,
 * canonical features). Input generation is not timed.
 */
import { Consolidation, Pool, Pricing } from "@spotfleet/engine"

const POOLS = 1_000
const DAYS = 30
const SLOT = Pricing.SLOT_MILLIS
const SLOTS = (DAYS * 24 * 60 * 60 * 1000) / SLOT
const FROM = Math.floor(Date.UTC(2024, 0, 1) / SLOT) * SLOT
const TO = FROM + SLOTS * SLOT

let seed = 12345
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const generate = (): Consolidation.SnapshotColumns => {
  const capacity = Math.ceil(POOLS * SLOTS * 1.06)
  const pool = new Uint32Array(capacity)
  const observedAt = new Float64Array(capacity)
  const price = new Float64Array(capacity)
  const role = new Uint8Array(capacity)
  const pools: Array<Pool.PoolId> = []
  const azs = ["a", "b", "c", "d", "e", "f"]
  let n = 0
  for (let p = 0; p < POOLS; p++) {
    pools.push(Pool.make(`bench${Math.floor(p / azs.length)}.large`, `us-east-1${azs[p % azs.length]}`))
    let current = 0.02 + rand() * 0.5
    for (let s = 0; s < SLOTS; s++) {
      if (rand() < 0.01) current = Math.round(current * (0.9 + rand() * 0.2) * 1e4) / 1e4
      if (rand() < 0.02) continue
      const at = FROM + s * SLOT + Math.floor(rand() * (SLOT - 2))
      pool[n] = p
      observedAt[n] = at
      price[n] = current
      role[n] = 2
      n++
      if (rand() < 0.05) {
        pool[n] = p
        observedAt[n] = at + 1
        price[n] = current * 1.5
        role[n] = 1
        n++
      }
    }
  }
  // Interleave pools like reports arriving over time: sort rows by observation time.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => observedAt[a]! - observedAt[b]!)
  const take = <A extends Uint32Array | Float64Array | Uint8Array>(src: A, make: (n: number) => A): A => {
    const out = make(n)
    for (let i = 0; i < n; i++) out[i] = src[order[i]!]!
    return out
  }
  return {
    length: n,
    pools,
    pool: take(pool, (k) => new Uint32Array(k)),
    observedAt: take(observedAt, (k) => new Float64Array(k)),
    price: take(price, (k) => new Float64Array(k)),
    role: take(role, (k) => new Uint8Array(k))
  }
}

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
console.log("end-to-end on MariaDB: NOT MEASURED YET — comes with the MySQL adapter's PriceStore (issue 8, MySQL part)")
