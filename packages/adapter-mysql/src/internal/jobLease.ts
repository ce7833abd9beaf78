import * as SqlClient from "@effect/sql/SqlClient"
import { JobLease } from "@spotfleet/engine"
import { Effect, Option } from "effect"
import * as Rows from "./rows.js"
import * as SqlRun from "./sqlRun.js"

type Row = Record<string, unknown>

const decodeRun = Rows.decoderOf(JobLease.JobRun, "job run")

/** JSON text of a run's detail; values JSON cannot hold (bigint, cycles) are written as text. */
const detailJson = (detail: Readonly<Record<string, unknown>>): string => {
  try {
    return JSON.stringify(detail, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)) ?? "{}"
  } catch (e) {
    return JSON.stringify({ unserializable: String(e) })
  }
}

const PURGE_BATCH = 5000

export const make = Effect.gen(function*() {
  const { exec, query, run, sql } = SqlRun.helpers(yield* SqlClient.SqlClient)

  /**
   * One statement decides: the row is updated only when the lease is ours or has run out. The
   * assignments that read `holder` come before the one that writes it, so the result is the same
   * whether the server evaluates assignments left to right (MySQL) or all at once (MariaDB's
   * SIMULTANEOUS_ASSIGNMENT). The row lock the UPDATE takes makes concurrent acquirers queue; the
   * SELECT in the same transaction reads who holds it now.
   */
  const takeOrRenew = (name: string, holder: string, now: number, ttlMillis: number) =>
    sql.withTransaction(Effect.gen(function*() {
      yield* exec(
        "UPDATE job_leases SET " +
          "fencing_token = CASE WHEN holder = ? THEN fencing_token ELSE fencing_token + 1 END, " +
          "acquired_at = CASE WHEN holder = ? THEN acquired_at ELSE ? END, " +
          "holder = ?, lease_until = ? " +
          "WHERE name = ? AND (holder = ? OR lease_until <= ?)",
        [holder, holder, now, holder, now + ttlMillis, name, holder, now]
      )
      const rows = yield* query("SELECT holder, fencing_token, lease_until FROM job_leases WHERE name = ?", [name])
      return Option.fromNullable(rows[0])
    }))

  const leaseOf = (name: string, holder: string, row: Row): Option.Option<JobLease.Lease> =>
    row.holder === holder
      ? Option.some({ name, holder, fencingToken: Number(row.fencing_token), leaseUntil: Number(row.lease_until) })
      : Option.none()

  const acquire: JobLease.JobLeaseService["acquire"] = (name, holder, now, ttlMillis) =>
    run(
      "acquireJobLease",
      Effect.gen(function*() {
        const first = yield* takeOrRenew(name, holder, now, ttlMillis)
        if (Option.isSome(first)) return leaseOf(name, holder, first.value)
        // Never held: create the row as a free lease (token 0, run out), then take it like any other.
        yield* exec(
          "INSERT INTO job_leases (name, holder, fencing_token, acquired_at, lease_until) VALUES (?, '', 0, 0, 0) " +
            "ON DUPLICATE KEY UPDATE name = name",
          [name]
        )
        const second = yield* takeOrRenew(name, holder, now, ttlMillis)
        return Option.flatMap(second, (row) => leaseOf(name, holder, row))
      })
    )

  const release: JobLease.JobLeaseService["release"] = (name, holder) =>
    run("releaseJobLease", Effect.asVoid(exec("UPDATE job_leases SET lease_until = 0 WHERE name = ? AND holder = ?", [name, holder])))

  const recordRun: JobLease.JobLeaseService["recordRun"] = (r) =>
    run(
      "recordJobRun",
      Effect.asVoid(exec(
        "INSERT INTO job_runs (name, holder, fencing_token, started_at, finished_at, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [r.name, r.holder, r.fencingToken, r.startedAt, r.finishedAt, r.outcome, detailJson(r.detail)]
      ))
    )

  const runs: JobLease.JobLeaseService["runs"] = (name, limit) =>
    run(
      "jobRuns",
      Effect.flatMap(
        query(
          "SELECT name, holder, fencing_token, started_at, finished_at, outcome, CAST(detail AS CHAR) AS detail FROM job_runs " +
            `WHERE name = ? ORDER BY id DESC LIMIT ${Math.max(0, Math.min(100_000, Math.floor(limit)))}`,
          [name]
        ),
        (rows) =>
          Effect.forEach(rows, (r) =>
            decodeRun({
              name: r.name,
              holder: r.holder,
              fencingToken: Number(r.fencing_token),
              startedAt: Number(r.started_at),
              finishedAt: Number(r.finished_at),
              outcome: r.outcome,
              detail: JSON.parse(String(r.detail))
            }))
      )
    )

  /** In batches, so a large backlog never holds many row locks at once. */
  const purgeRuns: JobLease.JobLeaseService["purgeRuns"] = (before) =>
    run(
      "purgeJobRuns",
      Effect.gen(function*() {
        let total = 0
        while (true) {
          const n = yield* exec(`DELETE FROM job_runs WHERE finished_at < ? LIMIT ${PURGE_BATCH}`, [before])
          total += n
          if (n < PURGE_BATCH) return total
        }
      })
    )

  return JobLease.JobLease.of({ acquire, release, recordRun, runs, purgeRuns })
})
