import { Either } from "effect"
import type { DomainEvent } from "../DomainEvent.js"
import type { ChainOptions, InstanceNotice, Ledger, PoolRecord } from "../PoolLedger.js"
import * as Pool from "../Pool.js"

const MAX_SAMPLES = 50

type Mutable<A> = { -readonly [K in keyof A]: A[K] }

export const empty: Ledger = { pools: new Map(), openNotices: new Map(), lastEventId: 0 }

const blank = (pool: Pool.PoolId): Mutable<PoolRecord> => ({
  pool,
  bootSeconds: [],
  medianBootSeconds: null,
  rebalanceNotices: 0,
  terminationNotices: 0,
  reclaims: 0,
  leadTimeSeconds: [],
  rebalanceFollowed: 0,
  rebalanceFalsePositives: 0,
  lastInterruptionAt: null,
  interruptionTimes: []
})

const median = (xs: ReadonlyArray<number>): number | null => {
  if (xs.length < 3) return null
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const push = (xs: ReadonlyArray<number>, x: number) => (xs.length >= MAX_SAMPLES ? [...xs.slice(1), x] : [...xs, x])

/** The event types `fold` uses (keep in step with its switch). */
export const foldedTypes = ["InstanceLaunched", "NoticeReceived", "InstanceTerminated"] as const

export const fold = (ledger: Ledger, events: Iterable<DomainEvent>): Ledger => {
  const pools = new Map(ledger.pools) as Map<Pool.PoolId, Mutable<PoolRecord>>
  const notes = new Map<string, InstanceNotice>(ledger.openNotices)
  let lastEventId = ledger.lastEventId
  const record = (pool: Pool.PoolId) => {
    const current = pools.get(pool)
    const copy = current === undefined ? blank(pool) : { ...current }
    pools.set(pool, copy)
    return copy
  }
  for (const e of events) {
    if (e.id <= lastEventId) continue
    lastEventId = e.id
    const d = e.data
    switch (e.type) {
      case "InstanceLaunched": {
        if (typeof d.pool !== "string" || typeof d.bootSeconds !== "number") break
        const r = record(d.pool as Pool.PoolId)
        r.bootSeconds = push(r.bootSeconds, d.bootSeconds)
        r.medianBootSeconds = median(r.bootSeconds)
        break
      }
      case "NoticeReceived": {
        if (typeof d.pool !== "string" || typeof d.instanceId !== "string") break
        const r = record(d.pool as Pool.PoolId)
        const note: Mutable<InstanceNotice> = { ...(notes.get(d.instanceId) ?? { pool: d.pool as Pool.PoolId, rebalanceAt: null, terminationAt: null }) }
        if (d.kind === "rebalance") {
          r.rebalanceNotices++
          note.rebalanceAt ??= e.at
        } else {
          r.terminationNotices++
          r.interruptionTimes = push(r.interruptionTimes, e.at)
          if (note.rebalanceAt !== null && note.terminationAt === null) r.rebalanceFollowed++
          note.terminationAt ??= e.at
        }
        r.lastInterruptionAt = e.at
        notes.set(d.instanceId, note)
        break
      }
      case "InstanceTerminated": {
        if (typeof d.instanceId !== "string") break
        const note = notes.get(d.instanceId)
        const pool = (typeof d.pool === "string" ? d.pool : note?.pool) as Pool.PoolId | undefined
        if (pool === undefined) break
        const r = record(pool)
        if (d.reclaimed === true) {
          r.reclaims++
          // A reclaim after a termination notice is the same interruption: count it once.
          if (note?.terminationAt == null) r.interruptionTimes = push(r.interruptionTimes, e.at)
          r.lastInterruptionAt = e.at
          if (note?.terminationAt != null) r.leadTimeSeconds = push(r.leadTimeSeconds, (e.at - note.terminationAt) / 1000)
          else if (note?.rebalanceAt != null) r.rebalanceFollowed++
        } else if (note !== undefined && note.rebalanceAt !== null && note.terminationAt === null) {
          // It left service on our terms: the recommendation was never followed by an interruption.
          r.rebalanceFalsePositives++
        }
        notes.delete(d.instanceId)
        break
      }
      default:
        break
    }
  }
  return { pools, openNotices: notes, lastEventId }
}

export const defaultQuarantineMillis = 5 * 60_000

export const isQuarantined = (record: PoolRecord, now: number, quarantineMillis: number = defaultQuarantineMillis): boolean =>
  record.lastInterruptionAt !== null && now - record.lastInterruptionAt < quarantineMillis

export const emergencyChain = (ledger: Ledger, options: ChainOptions): ReadonlyArray<Pool.PoolId> => {
  const interrupted = Pool.parse(options.interrupted)
  if (Either.isLeft(interrupted)) return []
  const { az, instanceType, product } = interrupted.right
  const minSamples = options.minSamples ?? 3
  const spot = [...ledger.pools.values()]
    .filter((r) => {
      if (r.pool === options.interrupted || Pool.lifecycleOf(r.pool) !== "spot") return false
      // A workload never moves to another region in an emergency (its data and network are there).
      const parts = Pool.parse(r.pool)
      if (Either.isLeft(parts) || !Pool.canMoveTo(interrupted.right, parts.right)) return false
      if (r.bootSeconds.length < minSamples || r.medianBootSeconds === null) return false
      return !isQuarantined(r, options.now, options.quarantineMillis)
    })
    .map((r) => {
      const parts = Pool.parse(r.pool)
      return { pool: r.pool, sameType: Either.isRight(parts) && parts.right.instanceType === instanceType, median: r.medianBootSeconds! }
    })
    .sort((a, b) => Number(b.sameType) - Number(a.sameType) || a.median - b.median || (a.pool < b.pool ? -1 : 1))
    .map((r) => r.pool)
  const sameAz = Pool.make(instanceType, az, "on-demand", product)
  const otherAzs = new Set<Pool.PoolId>()
  for (const pool of ledger.pools.keys()) {
    const parts = Pool.parse(pool)
    if (Either.isRight(parts) && parts.right.instanceType === instanceType && Pool.canMoveTo(interrupted.right, parts.right) && parts.right.az !== az) {
      otherAzs.add(Pool.make(instanceType, parts.right.az, "on-demand", product))
    }
  }
  return [...spot, sameAz, ...[...otherAzs].sort()]
}
