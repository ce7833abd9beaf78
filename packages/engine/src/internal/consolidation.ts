import type { PoolId } from "../Pool.js"
import {
  CanonicalPrice,
  ConsolidatedPrice,
  type ConsolidatedSource,
  PriceFeatures,
  type ReporterRole,
  SLOT_MILLIS
} from "../Pricing.js"

/*
 * The hot loop works on columns (typed arrays), never on Schema classes:
 *
 *   1. counting sort of snapshot indices by pool (two passes, O(n));
 *   2. per pool, one pass over its snapshots keeps the winner of each slot in an Int32Array
 *      indexed by slot (PRIMARY > REPLICA > unknown, then the latest observation, then the
 *      later index): no comparison sort at all;
 *   3. per pool, one pass over the slots writes agent points, fills gaps between consecutive
 *      agent points, backfills what is still empty from the pool's history, and keeps rolling
 *      sums for the canonical features.
 *
 * Everything is deterministic: the same input always gives the same output, which is what
 * makes a repeated run over the same window change nothing.
 */

export const KIND_NONE = 0
export const KIND_AGENT = 1
export const KIND_INTERPOLATED = 2
export const KIND_BACKFILLED = 3

const ROLE_UNKNOWN = 0
const ROLE_REPLICA = 1
const ROLE_PRIMARY = 2

export const roleCode = (role: ReporterRole | null): number =>
  role === "PRIMARY" ? ROLE_PRIMARY : role === "REPLICA" ? ROLE_REPLICA : ROLE_UNKNOWN

export interface SnapshotColumns {
  readonly length: number
  readonly pools: ReadonlyArray<PoolId>
  readonly pool: Uint32Array
  readonly observedAt: Float64Array
  readonly price: Float64Array
  readonly role: Uint8Array
}

export interface HistoryRecord {
  readonly observedAt: number
  readonly price: number
}

export interface PoolContext {
  readonly notices: ReadonlyArray<number>
  readonly interruptions: ReadonlyArray<number>
}

// The options are documented once, in the public module.
export type { Options } from "../Consolidation.js"
import type { Options } from "../Consolidation.js"

export interface Counts {
  /** Pools with at least one consolidated point in the window (those asked for that got none are not counted). */
  readonly pools: number
  /** Agent snapshots read in the window. */
  readonly snapshots: number
  /** Snapshots that lost their slot to another one. */
  readonly duplicates: number
  /** Consolidated points from agent reports. */
  readonly agentPoints: number
  /** Consolidated points filled between agent reports. */
  readonly filled: number
  /** Consolidated points from the price history (backfill). */
  readonly backfilled: number
  /** Canonical points (agent and backfilled slots). */
  readonly canonical: number
}

export interface Result {
  readonly from: number
  readonly to: number
  readonly contextFrom: number
  readonly slotMillis: number
  readonly slots: number
  readonly pools: ReadonlyArray<PoolId>
  readonly price: Float64Array
  readonly kind: Uint8Array
  readonly merged: Uint32Array
  readonly rollingMean: Float64Array
  readonly volatility: Float64Array
  readonly notices: Uint32Array
  readonly interruptions: Uint32Array
  readonly spread: Float64Array
  readonly duplicates: Int32Array
  readonly counts: Counts
}

export const DEFAULT_MAX_GAP_MILLIS = 2 * 60 * 60 * 1000
export const DEFAULT_ROLLING_SLOTS = 72
export const DEFAULT_CONTEXT_MILLIS = 24 * 60 * 60 * 1000

export const columnsFromRows = (
  rows: ReadonlyArray<{ readonly pool: PoolId; readonly observedAt: number; readonly price: number; readonly reporterRole: ReporterRole | null }>
): SnapshotColumns => {
  const n = rows.length
  const poolIndex = new Map<PoolId, number>()
  const pools: Array<PoolId> = []
  const pool = new Uint32Array(n)
  const observedAt = new Float64Array(n)
  const price = new Float64Array(n)
  const role = new Uint8Array(n)
  for (let i = 0; i < n; i++) {
    const r = rows[i]!
    let p = poolIndex.get(r.pool)
    if (p === undefined) {
      p = pools.length
      pools.push(r.pool)
      poolIndex.set(r.pool, p)
    }
    pool[i] = p
    observedAt[i] = r.observedAt
    price[i] = r.price
    role[i] = roleCode(r.reporterRole)
  }
  return { length: n, pools, pool, observedAt, price, role }
}

const sortedTimes = (xs: ReadonlyArray<number> | undefined): Float64Array => {
  const out = Float64Array.from(xs ?? [])
  out.sort()
  return out
}

export const consolidate = (input: SnapshotColumns, options: Options): Result => {
  const slotMillis = options.slotMillis ?? SLOT_MILLIS
  if (!(slotMillis > 0)) throw new RangeError("slotMillis must be positive")
  const from = Math.floor(options.from / slotMillis) * slotMillis
  const to = Math.ceil(options.to / slotMillis) * slotMillis
  const contextFrom = Math.min(from, Math.floor((options.contextFrom ?? from) / slotMillis) * slotMillis)
  const slots = Math.max(0, (to - contextFrom) / slotMillis)
  const firstCounted = (from - contextFrom) / slotMillis
  const fillPolicy = options.fillPolicy ?? "step"
  const maxGapSlots = Math.floor((options.maxGapMillis ?? DEFAULT_MAX_GAP_MILLIS) / slotMillis)
  const rollingSlots = Math.max(1, options.rollingSlots ?? DEFAULT_ROLLING_SLOTS)
  const contextMillis = options.contextMillis ?? DEFAULT_CONTEXT_MILLIS

  // Output pools: those with snapshots, then those only asked for (backfill-only pools).
  const pools: Array<PoolId> = input.pools.slice()
  const outIndex = new Map<PoolId, number>()
  for (let i = 0; i < pools.length; i++) outIndex.set(pools[i]!, i)
  for (const p of [...(options.pools ?? []), ...(options.history?.keys() ?? [])]) {
    if (!outIndex.has(p)) {
      outIndex.set(p, pools.length)
      pools.push(p)
    }
  }
  const nPools = pools.length

  // 1. counting sort by pool
  const n = input.length
  const poolCol = input.pool
  const start = new Uint32Array(nPools + 1)
  for (let i = 0; i < n; i++) start[poolCol[i]! + 1]!++
  for (let p = 0; p < nPools; p++) start[p + 1]! += start[p]!
  const order = new Uint32Array(n)
  const cursor = start.slice(0, nPools)
  for (let i = 0; i < n; i++) order[cursor[poolCol[i]!]!++] = i

  const total = nPools * slots
  const price = new Float64Array(total)
  const kind = new Uint8Array(total)
  const merged = new Uint32Array(total)
  const rollingMean = new Float64Array(total).fill(NaN)
  const volatility = new Float64Array(total).fill(NaN)
  const notices = new Uint32Array(total)
  const interruptions = new Uint32Array(total)
  const spread = new Float64Array(total).fill(NaN)
  const duplicates: Array<number> = []
  let snapshots = 0
  let poolsWithPoints = 0
  let agentPoints = 0
  let filled = 0
  let backfilled = 0
  let canonical = 0

  const winner = new Int32Array(slots)
  const absoluteFirst = Math.round(contextFrom / slotMillis)
  const preSum = new Float64Array(slots)
  const preSq = new Float64Array(slots)
  const preCount = new Uint32Array(slots)
  const sufSum = new Float64Array(slots)
  const sufSq = new Float64Array(slots)
  const sufCount = new Uint32Array(slots)
  const t = input.observedAt
  const pr = input.price
  const role = input.role

  for (let p = 0; p < nPools; p++) {
    const base = p * slots
    const pool = pools[p]!
    winner.fill(-1)

    // 2. dedup: the winner per slot
    for (let k = start[p]!, end = start[p + 1]!; k < end; k++) {
      const i = order[k]!
      const ti = t[i]!
      const s = Math.floor((ti - contextFrom) / slotMillis)
      if (s < 0 || s >= slots) continue
      if (s >= firstCounted) snapshots++
      merged[base + s]!++
      const w = winner[s]!
      if (w < 0) {
        winner[s] = i
        continue
      }
      const ri = role[i]!
      const rw = role[w]!
      const wins = ri > rw || (ri === rw && (ti > t[w]! || (ti === t[w]! && i > w)))
      if (s >= firstCounted) duplicates.push(wins ? w : i)
      if (wins) winner[s] = i
    }

    // 3. agent points and gap fill
    let last = -1
    for (let s = 0; s < slots; s++) {
      const w = winner[s]!
      if (w < 0) continue
      const pw = pr[w]!
      price[base + s] = pw
      kind[base + s] = KIND_AGENT
      if (s >= firstCounted) agentPoints++
      if (last >= 0 && s - last > 1 && s - last <= maxGapSlots) {
        const pa = price[base + last]!
        const span = s - last
        for (let g = last + 1; g < s; g++) {
          price[base + g] = fillPolicy === "step" ? pa : pa + (pw - pa) * ((g - last) / span)
          kind[base + g] = KIND_INTERPOLATED
          if (g >= firstCounted) filled++
        }
      }
      last = s
    }

    // 4. backfill what is still empty: the price in effect at the end of the slot
    const hist = options.history?.get(pool)
    if (hist !== undefined && hist.length > 0) {
      const records = hist.slice().sort((a, b) => a.observedAt - b.observedAt)
      let j = -1
      for (let s = 0; s < slots; s++) {
        const slotEnd = contextFrom + (s + 1) * slotMillis
        while (j + 1 < records.length && records[j + 1]!.observedAt < slotEnd) j++
        if (j < 0 || kind[base + s] !== KIND_NONE) continue
        price[base + s] = records[j]!.price
        kind[base + s] = KIND_BACKFILLED
        if (s >= firstCounted) backfilled++
      }
    }

    for (let s = firstCounted; s < slots; s++) {
      if (kind[base + s] !== KIND_NONE) {
        poolsWithPoints++
        break
      }
    }

    // 5. canonical features over the rolling window. The window sums are built from blocks of
    // `rollingSlots` slots aligned to the epoch grid (a prefix sum inside the slot's block plus a
    // suffix sum of the previous block), so a slot's features do not depend on where the run
    // started: overlapping windows write bit-identical features.
    const od = options.onDemand?.get(pool)
    const ctx = options.context?.get(pool)
    const nt = sortedTimes(ctx?.notices)
    const it = sortedTimes(ctx?.interruptions)
    let nLo = 0, nHi = 0, iLo = 0, iHi = 0
    for (let s = 0; s < slots; s++) {
      const x = kind[base + s] === KIND_NONE ? 0 : price[base + s]!
      const c = kind[base + s] === KIND_NONE ? 0 : 1
      const offset = (absoluteFirst + s) % rollingSlots
      preSum[s] = offset === 0 || s === 0 ? x : preSum[s - 1]! + x
      preSq[s] = offset === 0 || s === 0 ? x * x : preSq[s - 1]! + x * x
      preCount[s] = offset === 0 || s === 0 ? c : preCount[s - 1]! + c
    }
    for (let s = slots - 1; s >= 0; s--) {
      const x = kind[base + s] === KIND_NONE ? 0 : price[base + s]!
      const c = kind[base + s] === KIND_NONE ? 0 : 1
      const last = (absoluteFirst + s) % rollingSlots === rollingSlots - 1 || s === slots - 1
      sufSum[s] = last ? x : sufSum[s + 1]! + x
      sufSq[s] = last ? x * x : sufSq[s + 1]! + x * x
      sufCount[s] = last ? c : sufCount[s + 1]! + c
    }
    for (let s = firstCounted; s < slots; s++) {
      const k = kind[base + s]!
      if (k !== KIND_AGENT && k !== KIND_BACKFILLED) continue
      // the window [s - rollingSlots + 1, s]: the prefix of s's block, plus the suffix of the
      // previous block when the window reaches into it (clipped at the start of the data)
      const blockStart = s - ((absoluteFirst + s) % rollingSlots)
      const lo = Math.max(0, s - rollingSlots + 1)
      const whole = lo >= blockStart
      const sum = whole ? preSum[s]! : sufSum[lo]! + preSum[s]!
      const sq = whole ? preSq[s]! : sufSq[lo]! + preSq[s]!
      const count = whole ? preCount[s]! : sufCount[lo]! + preCount[s]!
      const mean = sum / count
      const variance = sq / count - mean * mean
      rollingMean[base + s] = mean
      volatility[base + s] = variance > 1e-12 * mean * mean ? Math.sqrt(variance) : 0
      const x = price[base + s]!
      if (od !== undefined && od > 0) spread[base + s] = (od - x) / od
      const hi = contextFrom + (s + 1) * slotMillis
      const from = hi - contextMillis
      while (nHi < nt.length && nt[nHi]! < hi) nHi++
      while (nLo < nt.length && nt[nLo]! < from) nLo++
      while (iHi < it.length && it[iHi]! < hi) iHi++
      while (iLo < it.length && it[iLo]! < from) iLo++
      notices[base + s] = nHi - nLo
      interruptions[base + s] = iHi - iLo
      canonical++
    }
  }

  return {
    from,
    to,
    contextFrom,
    slotMillis,
    slots,
    pools,
    price,
    kind,
    merged,
    rollingMean,
    volatility,
    notices,
    interruptions,
    spread,
    duplicates: Int32Array.from(duplicates),
    counts: { pools: poolsWithPoints, snapshots, duplicates: duplicates.length, agentPoints, filled, backfilled, canonical }
  }
}

const sourceOfKind: ReadonlyArray<ConsolidatedSource> = ["agent", "agent", "interpolated", "backfilled"]
const confidenceOfKind: ReadonlyArray<1 | 0.8 | 0.9> = [1, 1, 0.8, 0.9]

export const consolidatedPoints = (result: Result, runId: string): Array<ConsolidatedPrice> => {
  const out: Array<ConsolidatedPrice> = []
  const first = (result.from - result.contextFrom) / result.slotMillis
  for (let p = 0; p < result.pools.length; p++) {
    const base = p * result.slots
    const pool = result.pools[p]!
    for (let s = first; s < result.slots; s++) {
      const k = result.kind[base + s]!
      if (k === KIND_NONE) continue
      out.push(
        new ConsolidatedPrice({
          pool,
          slotStart: result.contextFrom + s * result.slotMillis,
          price: result.price[base + s]!,
          source: sourceOfKind[k]!,
          confidence: confidenceOfKind[k]!,
          runId,
          snapshotsMerged: k === KIND_AGENT ? result.merged[base + s]! : 0
        }, true)
      )
    }
  }
  return out
}

export const canonicalPoints = (result: Result, runId: string): Array<CanonicalPrice> => {
  const out: Array<CanonicalPrice> = []
  const first = (result.from - result.contextFrom) / result.slotMillis
  for (let p = 0; p < result.pools.length; p++) {
    const base = p * result.slots
    const pool = result.pools[p]!
    for (let s = first; s < result.slots; s++) {
      const k = result.kind[base + s]!
      if (k !== KIND_AGENT && k !== KIND_BACKFILLED) continue
      const spread = result.spread[base + s]!
      out.push(
        new CanonicalPrice({
          pool,
          slotStart: result.contextFrom + s * result.slotMillis,
          price: result.price[base + s]!,
          source: k === KIND_AGENT ? "agent" : "backfilled",
          confidence: confidenceOfKind[k]!,
          runId,
          features: new PriceFeatures({
            rollingMean: result.rollingMean[base + s]!,
            volatility: result.volatility[base + s]!,
            spreadToOnDemand: Number.isNaN(spread) ? null : spread,
            notices: result.notices[base + s]!,
            interruptions: result.interruptions[base + s]!
          }, true)
        }, true)
      )
    }
  }
  return out
}
