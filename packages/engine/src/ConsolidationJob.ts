/**
 * The consolidation job (docs/DESIGN.md, "Pricing pipeline"): reads the snapshot tier over a window
 * plus context, runs the pure pipeline of `Consolidation`, flags duplicates, upserts the
 * consolidated and canonical tiers, and records the run in the ledger (and as metrics).
 *
 * - Idempotent per window: the pipeline is deterministic and the store's upserts leave equal
 *   points untouched, so running twice over the same window changes nothing (the second run's
 *   `written` and `canonical` counts are 0).
 * - One runner at a time: in-process by a semaphore (a second concurrent `run` fails with
 *   `ConsolidationBusy`); across processes by plugging a `JobLease` in.
 * - Long runs report progress per batch of pools.
 * - Pipelined: while one batch of pools is written, the next one is read and consolidated (one
 *   batch is written at a time, so batches commit in order). Duplicates are flagged once, after
 *   the last batch, in id order.
 *
 * @since 0.1.0
 */
import { Context, Duration, Effect, Layer, type Metric, type Option, Schema } from "effect"
import type { PoolContext } from "./Consolidation.js"
import type { StoreError } from "./EngineError.js"
import type { EventLog } from "./EventLog.js"
import type { IdGenerator } from "./Ids.js"
import * as internal from "./internal/consolidationJob.js"
import type { JobSpec } from "./Jobs.js"
import type { PoolId } from "./Pool.js"
import type { PriceHistoryError } from "./PriceHistorySource.js"
import type { PriceStore } from "./PriceStore.js"
import type { ConsolidationRun, FillPolicy } from "./Pricing.js"

/**
 * Another run holds the job (in this process or, through the lease, in another one).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConsolidationBusy extends Schema.TaggedError<ConsolidationBusy>()("ConsolidationBusy", {
  holder: Schema.Literal("process", "lease")
}) {
  override get message() {
    return this.holder === "process" ? "a consolidation run is already in progress in this process" : "another process holds the consolidation lease"
  }
}

/**
 * A cross-process lease (a lease row or `GET_LOCK` in MySQL). `withLease` runs the effect only
 * if the lease could be taken, and returns None otherwise.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobLease {
  readonly withLease: <A, E, R>(name: string, effect: Effect.Effect<A, E, R>) => Effect.Effect<Option.Option<A>, E | StoreError, R>
}

/**
 * Where the notice and interruption context of the canonical features comes from: called with
 * the pools and the time range `[from, to)` it must cover.
 *
 * @since 0.1.0
 * @category models
 */
export type ContextProvider = (
  pools: ReadonlyArray<PoolId>,
  from: number,
  to: number
) => Effect.Effect<ReadonlyMap<PoolId, PoolContext>, StoreError>

/**
 * Options of the job.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobOptions {
  /** The window a scheduled run covers, ending at the current slot (default 12 hours). */
  readonly windowMillis?: number | undefined
  /** Added before the window so late reports are picked up (default 1 hour). */
  readonly overlapMillis?: number | undefined
  /** Grid slot (default 5 minutes). */
  readonly slotMillis?: number | undefined
  /** Default `step`. */
  readonly fillPolicy?: FillPolicy | undefined
  /** Longest gap that is filled (default 2 hours). */
  readonly maxGapMillis?: number | undefined
  /** Slots in the rolling window of the features (default 72 = 6 hours). */
  readonly rollingSlots?: number | undefined
  /** How far back notices and interruptions count (default 24 hours). */
  readonly contextMillis?: number | undefined
  /** Pools consolidated per batch (default 200). */
  readonly poolsPerBatch?: number | undefined
  /** Run ids (default random). */
  readonly ids?: IdGenerator | undefined
  /** Cross-process lease (default none: one runner per process). */
  readonly lease?: JobLease | undefined
  /** Default: `NoticeReceived` and reclaimed `InstanceTerminated` events of the event log. */
  readonly context?: ContextProvider | undefined
}

/**
 * Progress of a run, reported after each batch of pools.
 *
 * @since 0.1.0
 * @category models
 */
export interface Progress {
  readonly runId: string
  /** Pools consolidated so far. */
  readonly poolsDone: number
  /** Pools the run looks at: those with snapshots, those asked for, those the history source knows. */
  readonly poolsTotal: number
  /** Pools done so far that got at least one point in the window. */
  readonly poolsWithPoints: number
  /** Agent snapshots read so far. */
  readonly snapshots: number
  /** Consolidated points computed so far (agent, filled and backfilled). */
  readonly points: number
  /** Consolidated points inserted or changed in the store so far. */
  readonly written: number
}

/**
 * One run request. The run covers every slot that overlaps `[from, to)`: `from` is rounded down
 * to the slot grid and `to` up, so a record at `to - 1` lands in a slot of the window (an
 * export's last record is consolidated by a run that ends 1 ms after it). Without `to` the run
 * ends at the start of the current slot (the current slot is not over); without `from` it starts
 * the window plus the overlap before its end.
 *
 * @since 0.1.0
 * @category models
 */
export interface RunRequest {
  readonly from?: number | undefined
  readonly to?: number | undefined
  /** Pools to consolidate besides those with snapshots (backfill-only pools). */
  readonly pools?: ReadonlyArray<PoolId> | undefined
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}

/**
 * The consolidation job service.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConsolidationJobService {
  /** Runs one consolidation; the ledger entry it recorded is returned. */
  readonly run: (
    request?: RunRequest
  ) => Effect.Effect<ConsolidationRun, ConsolidationBusy | StoreError | PriceHistoryError>
}

/**
 * The consolidation job tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class ConsolidationJob extends Context.Tag("@spotfleet/engine/ConsolidationJob")<
  ConsolidationJob,
  ConsolidationJobService
>() {}

/**
 * Builds the job. A `PriceHistorySource` in the context is used for backfill when present.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (options?: JobOptions) => Effect.Effect<ConsolidationJobService, never, PriceStore | EventLog> =
  internal.make

/**
 * The job as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: JobOptions): Layer.Layer<ConsolidationJob, never, PriceStore | EventLog> =>
  Layer.effect(ConsolidationJob, make(options))

/**
 * The default context provider: scans the event log (incrementally, remembering where it
 * stopped) for `NoticeReceived` events and `InstanceTerminated` events with `reclaimed: true`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const eventLogContext: Effect.Effect<ContextProvider, never, EventLog> = internal.eventLogContext

/**
 * The consolidation job as a `Jobs.JobSpec`, for `Jobs.tick` / `Jobs.runForever` (the singleton
 * runner over a `JobLease`, so one process runs it at a time). Every run covers the last window
 * plus the overlap of the `ConsolidationJob` in context; the recorded detail is the ledger
 * entry's id and counts.
 *
 * ```ts
 * Jobs.runForever(ConsolidationJob.jobSpec(), holder) // every 12 hours
 * ```
 *
 * @since 0.1.0
 * @category jobs
 */
export const jobSpec = (options: {
  /** Default 12 hours (docs/DESIGN.md, "Pricing pipeline"). */
  readonly every?: Duration.DurationInput | undefined
  /** Default 3 × `every`. */
  readonly leaseTtl?: Duration.DurationInput | undefined
  readonly name?: string | undefined
} = {}): JobSpec<ConsolidationJob> => ({
  name: options.name ?? "consolidation",
  every: options.every ?? Duration.hours(12),
  ...(options.leaseTtl === undefined ? {} : { leaseTtl: options.leaseTtl }),
  run: Effect.flatMap(ConsolidationJob, (job) => job.run()).pipe(
    Effect.map((run) => ({
      runId: run.id,
      windowStart: run.windowStart,
      windowEnd: run.windowEnd,
      pools: run.pools,
      snapshots: run.snapshots,
      duplicates: run.duplicates,
      agentPoints: run.agentPoints,
      filled: run.filled,
      backfilled: run.backfilled,
      written: run.written,
      canonical: run.canonical,
      durationMillis: run.durationMillis
    }))
  )
})

/**
 * `spotfleet_consolidation_points_total{kind}`: points of successful runs by kind (`agent`,
 * `filled`, `backfilled`, `duplicate`).
 *
 * @since 0.1.0
 * @category metrics
 */
export const pointsTotal: Metric.Metric.Counter<number> = internal.pointsTotal

/**
 * `spotfleet_consolidation_last_success_timestamp_seconds`: when the last run succeeded.
 *
 * @since 0.1.0
 * @category metrics
 */
export const lastSuccess: Metric.Metric.Gauge<number> = internal.lastSuccess
