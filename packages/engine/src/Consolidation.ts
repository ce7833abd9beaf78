/**
 * The consolidation pipeline of docs/DESIGN.md, "Pricing pipeline" as pure functions: raw snapshots
 * in, the consolidated and canonical tiers and the run counts out. No clock, no store, no effects:
 * the job (`ConsolidationJob`) reads the store, calls `consolidate`, and writes the result.
 *
 * 1. de-duplicate per pool per grid slot: PRIMARY reports beat REPLICA ones, then the latest
 *    observation wins; the losers are returned as `duplicates` (to be flagged, never deleted);
 * 2. the winners become agent points (confidence 1.0);
 * 3. gaps between two agent points longer than one slot and at most `maxGapMillis` are filled
 *    (`linear` or `step`), marked `interpolated` (0.8); a fill never lands on a real point;
 * 4. slots still empty are backfilled from price history where it exists (`backfilled`, 0.9);
 * 5. points with confidence ≥ 0.9 are promoted to the canonical tier with features.
 *
 * The input is columnar (`SnapshotColumns`, typed arrays) so that millions of snapshots are
 * consolidated without per-point allocation or validation; `fromSnapshots` builds it from
 * snapshot records.
 *
 * @since 0.1.0
 */
import * as internal from "./internal/consolidation.js"
import type { PoolId } from "./Pool.js"
import type { CanonicalPrice, ConsolidatedPrice, FillPolicy, ReporterRole } from "./Pricing.js"

/**
 * Snapshots as columns. `pool[i]` indexes `pools`; `role[i]` is 2 for PRIMARY, 1 for REPLICA,
 * 0 when unknown (see `roleCode`). Row order breaks ties: of two snapshots with the same role
 * and observation time, the later row wins (stores return snapshots in append order).
 *
 * @since 0.1.0
 * @category models
 */
export interface SnapshotColumns extends internal.SnapshotColumns {}

/**
 * A price history record (AWS records a row whenever the price changes): the price holds from
 * `observedAt` until the next record.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryRecord extends internal.HistoryRecord {}

/**
 * Interruption context of a pool: times of notices received and of instances the cloud
 * reclaimed.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolContext extends internal.PoolContext {}

/**
 * Options of a consolidation.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** First slot counted and returned (rounded down to the grid). */
  readonly from: number
  /** End of the window, exclusive (rounded up to the grid). */
  readonly to: number
  /**
   * Snapshots from here to `from` are read as context only: they let a gap that started
   * before `from` be filled and feed the rolling features, but are not counted or returned.
   * Default `from`.
   */
  readonly contextFrom?: number | undefined
  /** Grid slot length (default 5 minutes). */
  readonly slotMillis?: number | undefined
  /** Default `step`. */
  readonly fillPolicy?: FillPolicy | undefined
  /** The longest distance between two agent points whose gap is filled (default 2 hours). */
  readonly maxGapMillis?: number | undefined
  /** Slots in the rolling window of the features (default 72 = 6 hours). */
  readonly rollingSlots?: number | undefined
  /** Price history per pool for backfill. */
  readonly history?: ReadonlyMap<PoolId, ReadonlyArray<HistoryRecord>> | undefined
  /** Pools to consolidate even without snapshots (they can only be backfilled). */
  readonly pools?: ReadonlyArray<PoolId> | undefined
  /** On-demand price per pool, for the spread feature. */
  readonly onDemand?: ReadonlyMap<PoolId, number> | undefined
  /** Notices and interruptions per pool, for the context features. */
  readonly context?: ReadonlyMap<PoolId, PoolContext> | undefined
  /** How far back notices and interruptions count (default 24 hours). */
  readonly contextMillis?: number | undefined
}

/**
 * The counts of one consolidation (slots in `[from, to)` only).
 *
 * @since 0.1.0
 * @category models
 */
export interface Counts extends internal.Counts {}

/**
 * The result, as columns over `pools × slots` (index `p * slots + s`, slot `s` starting at
 * `contextFrom + s * slotMillis`). `kind` is one of `KIND_*`; features are NaN where a slot is
 * not canonical. `duplicates` lists input row indices that lost their slot.
 *
 * @since 0.1.0
 * @category models
 */
export interface Result extends internal.Result {}

/** No point in the slot. @since 0.1.0 @category constants */
export const KIND_NONE: 0 = internal.KIND_NONE as 0
/** An agent point. @since 0.1.0 @category constants */
export const KIND_AGENT: 1 = internal.KIND_AGENT as 1
/** A point filled by the fill policy. @since 0.1.0 @category constants */
export const KIND_INTERPOLATED: 2 = internal.KIND_INTERPOLATED as 2
/** A point backfilled from history. @since 0.1.0 @category constants */
export const KIND_BACKFILLED: 3 = internal.KIND_BACKFILLED as 3

/**
 * The numeric code of a reporter role in `SnapshotColumns.role`.
 *
 * @since 0.1.0
 * @category utils
 */
export const roleCode: (role: ReporterRole | null) => number = internal.roleCode

/**
 * Builds columns from snapshot records (for instance `PriceSnapshot`s read from a store, in
 * append order).
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSnapshots: (
  rows: ReadonlyArray<{ readonly pool: PoolId; readonly observedAt: number; readonly price: number; readonly reporterRole: ReporterRole | null }>
) => SnapshotColumns = internal.columnsFromRows

/**
 * Runs the pipeline over a window.
 *
 * @since 0.1.0
 * @category constructors
 */
export const consolidate: (input: SnapshotColumns, options: Options) => Result = internal.consolidate

/**
 * The consolidated points of a result (slots in `[from, to)`), stamped with a run id.
 *
 * @since 0.1.0
 * @category destructors
 */
export const consolidatedPoints: (result: Result, runId: string) => Array<ConsolidatedPrice> = internal.consolidatedPoints

/**
 * The canonical points of a result (confidence ≥ 0.9, with features), stamped with a run id.
 *
 * @since 0.1.0
 * @category destructors
 */
export const canonicalPoints: (result: Result, runId: string) => Array<CanonicalPrice> = internal.canonicalPoints
