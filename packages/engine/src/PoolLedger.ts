/**
 * The per-pool ledger of DESIGN.md §4: observed boot times, interruption notices, notice-to-
 * termination lead times and rebalance recommendations that were (or were not) followed by a
 * termination. It is a pure fold over the event log, so every server process sharing one store
 * sees the same ledger, and pool selection for emergencies reads it.
 *
 * @since 0.1.0
 */
import type { DomainEvent, EventType } from "./DomainEvent.js"
import * as internal from "./internal/poolLedger.js"
import type { PoolId } from "./Pool.js"

/**
 * What the ledger knows about one pool.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolRecord {
  readonly pool: PoolId
  /** The most recent observed boot times (launch requested → running), oldest first. */
  readonly bootSeconds: ReadonlyArray<number>
  /** Median of `bootSeconds`, or null with fewer than 3 samples (too few to trust). */
  readonly medianBootSeconds: number | null
  readonly rebalanceNotices: number
  readonly terminationNotices: number
  /** Instances the cloud took (termination confirmed for a running instance we did not terminate). */
  readonly reclaims: number
  /** Termination notice → instance gone, most recent last. */
  readonly leadTimeSeconds: ReadonlyArray<number>
  /** Rebalance recommendations followed by a termination notice or reclaim of the same instance. */
  readonly rebalanceFollowed: number
  /** Rebalance recommendations whose instance left service without being interrupted. */
  readonly rebalanceFalsePositives: number
  /** The last notice or reclaim in this pool. */
  readonly lastInterruptionAt: number | null
  /** Times of the most recent termination notices and reclaims (last 50), oldest first. */
  readonly interruptionTimes: ReadonlyArray<number>
}

/**
 * The ledger: one record per pool seen, the open notices, and the id of the last event folded in.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ledger {
  readonly pools: ReadonlyMap<PoolId, PoolRecord>
  /** Instances with a notice whose outcome (interrupted or not) is not known yet. */
  readonly openNotices: ReadonlyMap<string, InstanceNotice>
  readonly lastEventId: number
}

/**
 * A notice about one instance, kept until the instance leaves service.
 *
 * @since 0.1.0
 * @category models
 */
export interface InstanceNotice {
  readonly pool: PoolId
  readonly rebalanceAt: number | null
  readonly terminationAt: number | null
}

/**
 * The empty ledger.
 *
 * @since 0.1.0
 * @category constructors
 */
export const empty: Ledger = internal.empty

/**
 * Folds events (in id order) into a ledger.
 *
 * @since 0.1.0
 * @category combinators
 */
export const fold: (ledger: Ledger, events: Iterable<DomainEvent>) => Ledger = internal.fold

/**
 * The event types {@link fold} uses; a reader of the log may read only those
 * (`EventLog.ReadOptions.types`).
 *
 * @since 0.1.0
 * @category combinators
 */
export const foldedTypes: ReadonlyArray<EventType> = internal.foldedTypes

/**
 * Interruptions (termination notices and reclaims) per day in the pool over a recent window
 * (default 7 days).
 *
 * @since 0.1.0
 * @category selection
 */
export const interruptionsPerDay = (record: PoolRecord, now: number, windowDays = 7): number =>
  record.interruptionTimes.filter((t) => t >= now - windowDays * 86_400_000).length / windowDays

/**
 * How long a pool stays quarantined after an interruption unless the engine is told otherwise
 * (`EngineOptions.quarantineSeconds`): 5 minutes.
 *
 * @since 0.2.0
 * @category selection
 */
export const defaultQuarantineMillis: number = internal.defaultQuarantineMillis

/**
 * Whether a pool is quarantined at `now`: interrupted (a termination notice, a rebalance
 * recommendation or a reclaim) less than `quarantineMillis` ago. Emergency launches skip it.
 *
 * @since 0.2.0
 * @category selection
 */
export const isQuarantined: (record: PoolRecord, now: number, quarantineMillis?: number) => boolean = internal.isQuarantined

/**
 * Options of emergency pool selection.
 *
 * @since 0.1.0
 * @category models
 */
export interface ChainOptions {
  /** The pool of the instance that is being interrupted. */
  readonly interrupted: PoolId
  readonly now: number
  /** Pools with an interruption more recent than this are skipped (default 5 minutes). */
  readonly quarantineMillis?: number | undefined
  /** Samples needed before a pool's boot time counts (default 3). */
  readonly minSamples?: number | undefined
}

/**
 * The fallback chain for an emergency launch, best first: spot pools by median observed boot time
 * (same instance type first; at least `minSamples` samples; never the interrupted pool or a
 * quarantined one), then on-demand in the same zone, then on-demand of the same type anywhere.
 *
 * @since 0.1.0
 * @category selection
 */
export const emergencyChain: (ledger: Ledger, options: ChainOptions) => ReadonlyArray<PoolId> = internal.emergencyChain
