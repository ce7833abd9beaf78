/**
 * Port: persistence of the three price tiers (snapshots, consolidated, canonical), the
 * consolidation run ledger and on-demand prices.
 *
 * Write rules every adapter implements (the conformance suite checks them):
 *
 * - snapshots are append-only; the store assigns increasing ids; consolidation may only set
 *   their `duplicate` flag;
 * - consolidated and canonical points are keyed by `(pool, slotStart)`. An upsert inserts a
 *   missing point; it never replaces a point with one of lower confidence (a filled point never
 *   overwrites a real one); a point equal in price, source, confidence and merged count (and
 *   features, for canonical points) is left untouched, run id included, so that repeating a run
 *   changes nothing; anything else is updated;
 * - runs are keyed by id (recording a run again replaces it); on-demand prices by
 *   `(instanceType, region)`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Layer } from "effect"
import type * as Consolidation from "./Consolidation.js"
import type { StoreError } from "./EngineError.js"
import * as internal from "./internal/priceStore.js"
import type { PoolId } from "./Pool.js"
import type {
  CanonicalPrice,
  ConsolidatedPrice,
  ConsolidationRun,
  OnDemandPrice,
  PriceSnapshot,
  SnapshotDraft,
  SnapshotSource
} from "./Pricing.js"

/**
 * A read of the snapshot tier: `observedAt` in `[from, to)`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SnapshotQuery {
  readonly from: number
  readonly to: number
  /** Only these pools (default: every pool). */
  readonly pools?: ReadonlyArray<PoolId> | undefined
  /** Only this source (default: both). */
  readonly source?: SnapshotSource | undefined
  /** Only snapshots with an id greater than this (keyset pagination). */
  readonly afterId?: number | undefined
  readonly limit?: number | undefined
}

/**
 * A read of the consolidated or canonical tier: slots in `[from, to)` of one pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface PointQuery {
  readonly pool: PoolId
  readonly from: number
  readonly to: number
}

/**
 * What an upsert did, point by point.
 *
 * @since 0.1.0
 * @category models
 */
export interface UpsertResult {
  readonly inserted: number
  readonly updated: number
  /** Equal to the stored point: nothing written. */
  readonly unchanged: number
  /** Lower confidence than the stored point: the stored one was kept. */
  readonly kept: number
}

/**
 * Whether a pool id is of an instance type in a region (either omitted: any), spot or on-demand:
 * the filter of {@link PriceStoreService.pricedPools}.
 *
 * @since 0.2.0
 * @category filters
 */
export const isOfTypeAndRegion: (pool: string, instanceType?: string | undefined, region?: string | undefined) => boolean =
  internal.isOfTypeAndRegion

/**
 * The price store port.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceStoreService {
  /** Appends raw snapshots in bulk; returns how many were appended. */
  readonly appendSnapshots: (drafts: ReadonlyArray<SnapshotDraft>) => Effect.Effect<number, StoreError>
  /** Snapshots in a window, in id (append) order. */
  readonly snapshots: (query: SnapshotQuery) => Effect.Effect<ReadonlyArray<PriceSnapshot>, StoreError>
  /** The pools with snapshots of a source (default agent) observed in `[from, to)`, sorted. */
  readonly snapshotPools: (
    query: { readonly from: number; readonly to: number; readonly source?: SnapshotSource | undefined }
  ) => Effect.Effect<ReadonlyArray<PoolId>, StoreError>
  /**
   * The pools with prices in any tier — snapshots of either source, consolidated or canonical
   * points — in `[from, to)`, sorted; with `instanceType` and `region`, only the spot and on-demand
   * pools of that type in that region. A store may answer the consolidated and canonical tiers at
   * the granularity of a UTC day (listing a pool whose points that day all lie outside the window);
   * readers check the points themselves.
   */
  readonly pricedPools: (query: {
    readonly from: number
    readonly to: number
    readonly instanceType?: string | undefined
    readonly region?: string | undefined
  }) => Effect.Effect<ReadonlyArray<PoolId>, StoreError>
  /** Flags snapshots as duplicates; returns how many were not flagged before. */
  readonly flagDuplicates: (ids: ReadonlyArray<number>) => Effect.Effect<number, StoreError>
  /** Idempotent upsert per `(pool, slotStart)` (see the module's write rules). */
  readonly upsertConsolidated: (points: ReadonlyArray<ConsolidatedPrice>) => Effect.Effect<UpsertResult, StoreError>
  /** Consolidated points of one pool, by slot. */
  readonly consolidated: (query: PointQuery) => Effect.Effect<ReadonlyArray<ConsolidatedPrice>, StoreError>
  /** Idempotent upsert per `(pool, slotStart)` (see the module's write rules). */
  readonly upsertCanonical: (points: ReadonlyArray<CanonicalPrice>) => Effect.Effect<UpsertResult, StoreError>
  /** Canonical points of one pool, by slot. */
  readonly canonical: (query: PointQuery) => Effect.Effect<ReadonlyArray<CanonicalPrice>, StoreError>
  /** Inserts or replaces on-demand prices per `(instanceType, region)`. */
  readonly putOnDemandPrices: (prices: ReadonlyArray<OnDemandPrice>) => Effect.Effect<void, StoreError>
  /** Every on-demand price, sorted by instance type then region. */
  readonly onDemandPrices: Effect.Effect<ReadonlyArray<OnDemandPrice>, StoreError>
  /** Inserts or replaces a run ledger entry by id. */
  readonly recordRun: (run: ConsolidationRun) => Effect.Effect<void, StoreError>
  /** Ledger entries, newest `startedAt` first. */
  readonly runs: (options?: { readonly limit?: number | undefined }) => Effect.Effect<ReadonlyArray<ConsolidationRun>, StoreError>
  /**
   * Optional columnar fast path used by the consolidation job (see `PriceStoreBulk`). Without
   * it the job goes through the record methods (`bulkFromRecords`).
   */
  readonly bulk?: PriceStoreBulk | undefined
}

/**
 * The snapshots of some pools over a window, as columns, for the consolidation job.
 *
 * @since 0.1.0
 * @category models
 */
export interface SnapshotColumnsRead {
  /** Agent snapshots in append (id) order. */
  readonly agent: Consolidation.SnapshotColumns
  /** The store id of each agent snapshot (same index as `agent`). */
  readonly agentIds: ArrayLike<number>
  /** Backfill snapshots per pool, in append order. */
  readonly backfill: ReadonlyMap<PoolId, ReadonlyArray<Consolidation.HistoryRecord>>
}

/**
 * The columnar fast path of a price store: reads snapshots into typed arrays and writes a whole
 * `Consolidation.Result` without building a record per point. It follows the same write rules
 * as `upsertConsolidated` / `upsertCanonical` (the conformance suite compares both paths).
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceStoreBulk {
  /** Agent and backfill snapshots of `pools` observed in `[from, to)`. */
  readonly snapshotColumns: (
    query: { readonly pools: ReadonlyArray<PoolId>; readonly from: number; readonly to: number }
  ) => Effect.Effect<SnapshotColumnsRead, StoreError>
  /**
   * Upserts the consolidated points of a result (slots in `[from, to)`) and its canonical
   * points, stamped with `runId`.
   */
  readonly upsertResult: (
    result: Consolidation.Result,
    runId: string
  ) => Effect.Effect<{ readonly consolidated: UpsertResult; readonly canonical: UpsertResult }, StoreError>
}

/**
 * The columnar path on top of the record methods of a store (what the job uses when a store
 * has no `bulk`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const bulkFromRecords: (store: PriceStoreService) => PriceStoreBulk = internal.bulkFromRecords

/**
 * The price store tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class PriceStore extends Context.Tag("@spotfleet/engine/PriceStore")<PriceStore, PriceStoreService>() {}

/**
 * A fresh in-memory price store (safe under concurrent fibers: every method is one
 * synchronous block).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: () => PriceStoreService = internal.makeMemory

/**
 * A layer of a fresh in-memory price store. `MemoryStore.layer` includes one.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory: Layer.Layer<PriceStore> = Layer.sync(PriceStore, internal.makeMemory)
