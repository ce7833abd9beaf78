/**
 * The `JobLease` port of `@spotfleet/engine` on MySQL 8 / MariaDB 10.6+: one row per job in
 * `job_leases` (holder, fencing token, lease expiry) and the record of runs in `job_runs`.
 *
 * - `acquire` is one conditional `UPDATE ... WHERE name = ? AND (holder = ? OR lease_until <= ?)`
 *   under the row lock: of any number of processes asking at once, exactly one gets a free or
 *   run-out lease; the fencing token goes up by one on every change of holder.
 * - Expiry compares the callers' clocks (`now` comes from the engine's `Clock`): keep the
 *   servers' clocks synchronised (NTP) and the lease time well above their skew.
 * - Runs are kept until `purgeRuns` (the `retention` job of `Jobs.standard` purges after 7 days).
 *
 * Needs migration 4 (`job_runs`): run `MysqlMigrations.run` first.
 *
 * ```ts
 * import { MysqlJobLease, MysqlStore } from "@spotfleet/adapter-mysql"
 * import { Jobs } from "@spotfleet/engine"
 *
 * const JobsLive = Layer.scopedDiscard(Jobs.runScoped(Jobs.standard(), `server-${process.pid}`)).pipe(
 *   Layer.provide(MysqlJobLease.layer),
 *   Layer.provide(EngineLive)
 * )
 * ```
 *
 * @since 0.1.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { JobLease } from "@spotfleet/engine"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/jobLease.js"

/**
 * Builds the job lease on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<JobLease.JobLeaseService, never, SqlClient.SqlClient> = internal.make

/**
 * The job lease on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<JobLease.JobLease, never, SqlClient.SqlClient> = Layer.effect(JobLease.JobLease, internal.make)
