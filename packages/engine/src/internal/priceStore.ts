import { Effect, Either, Equal } from "effect"
import * as Pool from "../Pool.js"
import type { PoolId } from "../Pool.js"
import type { PriceStoreBulk, PriceStoreService, UpsertResult } from "../PriceStore.js"
import { canonicalPoints, columnsFromRows, consolidatedPoints, type HistoryRecord } from "./consolidation.js"
import {
  type CanonicalPrice,
  type ConsolidatedPrice,
  type ConsolidationRun,
  type OnDemandPrice,
  PriceSnapshot,
  type SnapshotDraft
} from "../Pricing.js"

export const isOfTypeAndRegion = (pool: string, instanceType?: string | undefined, region?: string | undefined): boolean => {
  if (instanceType === undefined && region === undefined) return true
  const parts = Pool.parse(pool)
  return Either.isRight(parts) && (instanceType === undefined || parts.right.instanceType === instanceType) &&
    (region === undefined || parts.right.region === region)
}

interface Keyed {
  readonly pool: PoolId
  readonly slotStart: number
  readonly confidence: number
}

const upsertInto = <A extends Keyed>(
  tier: Map<PoolId, Map<number, A>>,
  points: ReadonlyArray<A>,
  same: (a: A, b: A) => boolean
): UpsertResult => {
  let inserted = 0, updated = 0, unchanged = 0, kept = 0
  for (const p of points) {
    let slots = tier.get(p.pool)
    if (slots === undefined) tier.set(p.pool, slots = new Map())
    const existing = slots.get(p.slotStart)
    if (existing === undefined) {
      slots.set(p.slotStart, p)
      inserted++
    } else if (p.confidence < existing.confidence) kept++
    else if (same(existing, p)) unchanged++
    else {
      slots.set(p.slotStart, p)
      updated++
    }
  }
  return { inserted, updated, unchanged, kept }
}

const readTier = <A extends Keyed>(tier: Map<PoolId, Map<number, A>>, pool: PoolId, from: number, to: number): Array<A> => {
  const out: Array<A> = []
  for (const p of tier.get(pool)?.values() ?? []) if (p.slotStart >= from && p.slotStart < to) out.push(p)
  return out.sort((a, b) => a.slotStart - b.slotStart)
}

/**
 * The in-memory price store with its two writes as plain functions too: the memory store's
 * `EventLog.commit` writes a report's snapshots and on-demand prices in the same synchronous
 * block as its events and idempotency record.
 */
export const makeMemoryWith = (): {
  readonly store: PriceStoreService
  readonly appendSnapshotsNow: (drafts: ReadonlyArray<SnapshotDraft>) => number
  readonly putOnDemandNow: (prices: ReadonlyArray<OnDemandPrice>) => void
} => {
  const snapshots: Array<PriceSnapshot> = []
  const consolidated = new Map<PoolId, Map<number, ConsolidatedPrice>>()
  const canonical = new Map<PoolId, Map<number, CanonicalPrice>>()
  const onDemand = new Map<string, OnDemandPrice>()
  const runs = new Map<string, ConsolidationRun>()

  const appendSnapshotsNow = (drafts: ReadonlyArray<SnapshotDraft>): number => {
    for (const d of drafts) snapshots.push(new PriceSnapshot({ ...d, id: snapshots.length + 1, duplicate: false }, true))
    return drafts.length
  }
  const putOnDemandNow = (prices: ReadonlyArray<OnDemandPrice>): void => {
    for (const p of prices) onDemand.set(`${p.instanceType}\u0000${p.region}`, p)
  }

  const store: PriceStoreService = {
    appendSnapshots: (drafts) => Effect.sync(() => appendSnapshotsNow(drafts)),
    snapshots: ({ afterId, from, limit, pools, source, to }) =>
      Effect.sync(() => {
        const wanted = pools === undefined ? null : new Set(pools)
        const out: Array<PriceSnapshot> = []
        for (let i = Math.max(0, afterId ?? 0); i < snapshots.length; i++) {
          if (limit !== undefined && out.length >= limit) break
          const s = snapshots[i]!
          if (s.observedAt < from || s.observedAt >= to) continue
          if (source !== undefined && s.source !== source) continue
          if (wanted !== null && !wanted.has(s.pool)) continue
          out.push(s)
        }
        return out
      }),
    snapshotPools: ({ from, source, to }) =>
      Effect.sync(() => {
        const pools = new Set<PoolId>()
        const wanted = source ?? "agent"
        for (const s of snapshots) if (s.source === wanted && s.observedAt >= from && s.observedAt < to) pools.add(s.pool)
        return [...pools].sort()
      }),
    pricedPools: ({ from, instanceType, region, to }) =>
      Effect.sync(() => {
        const pools = new Set<PoolId>()
        for (const s of snapshots) if (s.observedAt >= from && s.observedAt < to) pools.add(s.pool)
        for (const tier of [consolidated, canonical] as const) {
          for (const [pool, points] of tier) {
            if (pools.has(pool)) continue
            for (const slot of points.keys()) {
              if (slot >= from && slot < to) {
                pools.add(pool)
                break
              }
            }
          }
        }
        return [...pools].filter((pool) => isOfTypeAndRegion(pool, instanceType, region)).sort()
      }),
    flagDuplicates: (ids) =>
      Effect.sync(() => {
        let n = 0
        for (const id of ids) {
          const s = snapshots[id - 1]
          if (s === undefined || s.duplicate) continue
          snapshots[id - 1] = new PriceSnapshot({ ...s, duplicate: true }, true)
          n++
        }
        return n
      }),
    upsertConsolidated: (points) =>
      Effect.sync(() =>
        upsertInto(consolidated, points, (a, b) =>
          a.price === b.price && a.source === b.source && a.confidence === b.confidence && a.snapshotsMerged === b.snapshotsMerged)
      ),
    consolidated: ({ from, pool, to }) => Effect.sync(() => readTier(consolidated, pool, from, to)),
    upsertCanonical: (points) =>
      Effect.sync(() =>
        upsertInto(canonical, points, (a, b) =>
          a.price === b.price && a.source === b.source && a.confidence === b.confidence && Equal.equals(a.features, b.features))
      ),
    canonical: ({ from, pool, to }) => Effect.sync(() => readTier(canonical, pool, from, to)),
    putOnDemandPrices: (prices) => Effect.sync(() => putOnDemandNow(prices)),
    onDemandPrices: Effect.sync(() =>
      [...onDemand.values()].sort((a, b) =>
        a.instanceType < b.instanceType ? -1 : a.instanceType > b.instanceType ? 1 : a.region < b.region ? -1 : a.region > b.region ? 1 : 0
      )
    ),
    recordRun: (run) => Effect.sync(() => void runs.set(run.id, run)),
    runs: (options = {}) =>
      Effect.sync(() => {
        const all = [...runs.values()].sort((a, b) => b.startedAt - a.startedAt || (a.id < b.id ? 1 : -1))
        return options.limit === undefined ? all : all.slice(0, options.limit)
      })
  }
  return { store, appendSnapshotsNow, putOnDemandNow }
}

export const makeMemory = (): PriceStoreService => makeMemoryWith().store

export const bulkFromRecords = (store: PriceStoreService): PriceStoreBulk => ({
  snapshotColumns: ({ from, pools, to }) =>
    Effect.map(store.snapshots({ pools, from, to }), (rows) => {
      const agentRows = rows.filter((r) => r.source === "agent")
      const backfill = new Map<PoolId, Array<HistoryRecord>>()
      for (const r of rows) {
        if (r.source !== "backfill") continue
        const list = backfill.get(r.pool)
        if (list === undefined) backfill.set(r.pool, [{ observedAt: r.observedAt, price: r.price }])
        else list.push({ observedAt: r.observedAt, price: r.price })
      }
      return { agent: columnsFromRows(agentRows), agentIds: agentRows.map((r) => r.id), backfill }
    }),
  upsertResult: (result, runId) =>
    Effect.all({
      consolidated: store.upsertConsolidated(consolidatedPoints(result, runId)),
      canonical: store.upsertCanonical(canonicalPoints(result, runId))
    })
})
