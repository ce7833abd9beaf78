/**
 * Port: leases that let exactly one server process run each background job at a time, across
 * processes sharing one store, and the record of job runs. A lease that is not renewed runs out,
 * so another process takes over when the holder dies.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { StoreError } from "./EngineError.js"

/**
 * A held lease. `fencingToken` increases with every change of holder, so work done under a lost
 * lease can be told apart from work done under the current one.
 *
 * @since 0.1.0
 * @category models
 */
export interface Lease {
  readonly name: string
  readonly holder: string
  readonly fencingToken: number
  readonly leaseUntil: number
}

/**
 * One run of a job.
 *
 * @since 0.1.0
 * @category models
 */
export class JobRun extends Schema.Class<JobRun>("JobRun")({
  name: Schema.String,
  holder: Schema.String,
  fencingToken: Schema.Int,
  startedAt: Schema.Number,
  finishedAt: Schema.Number,
  outcome: Schema.Literal("succeeded", "failed"),
  /** What the run did (counts), or why it failed. */
  detail: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

/**
 * The job lease port.
 *
 * @since 0.1.0
 * @category models
 */
export interface JobLeaseService {
  /**
   * Takes the lease when it is free, has run out, or is already held by `holder` (then it is
   * extended). None when another holder has it.
   */
  readonly acquire: (name: string, holder: string, now: number, ttlMillis: number) => Effect.Effect<Option.Option<Lease>, StoreError>
  /** Gives the lease up early (on shutdown), if `holder` still has it. */
  readonly release: (name: string, holder: string) => Effect.Effect<void, StoreError>
  readonly recordRun: (run: JobRun) => Effect.Effect<void, StoreError>
  /** The latest runs of a job, newest first (in the order they were recorded). */
  readonly runs: (name: string, limit: number) => Effect.Effect<ReadonlyArray<JobRun>, StoreError>
  /** Deletes the runs of every job that finished before `before`; returns how many. */
  readonly purgeRuns: (before: number) => Effect.Effect<number, StoreError>
}

/** @since 0.1.0 @category tags */
export class JobLease extends Context.Tag("@spotfleet/engine/JobLease")<JobLease, JobLeaseService>() {}

/**
 * The in-memory job lease (one process; every fiber of it sees one holder per job).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (): JobLeaseService => {
  const leases = new Map<string, Lease>()
  let runs: Array<JobRun> = []
  return {
    acquire: (name, holder, now, ttlMillis) =>
      Effect.sync(() => {
        const current = leases.get(name)
        if (current !== undefined && current.holder !== holder && current.leaseUntil > now) return Option.none()
        const lease: Lease = {
          name,
          holder,
          fencingToken: current === undefined ? 1 : current.holder === holder ? current.fencingToken : current.fencingToken + 1,
          leaseUntil: now + ttlMillis
        }
        leases.set(name, lease)
        return Option.some(lease)
      }),
    release: (name, holder) =>
      Effect.sync(() => {
        const current = leases.get(name)
        if (current?.holder === holder) leases.set(name, { ...current, leaseUntil: 0 })
      }),
    recordRun: (run) => Effect.sync(() => void runs.push(run)),
    runs: (name, limit) => Effect.sync(() => runs.filter((r) => r.name === name).reverse().slice(0, limit)),
    purgeRuns: (before) =>
      Effect.sync(() => {
        const kept = runs.filter((r) => r.finishedAt >= before)
        const purged = runs.length - kept.length
        runs = kept
        return purged
      })
  }
}

/** @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<JobLease> = Layer.sync(JobLease, makeMemory)
