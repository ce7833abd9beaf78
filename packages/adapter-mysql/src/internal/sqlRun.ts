import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { EngineError } from "@spotfleet/engine"
import { Effect, Schedule } from "effect"
import * as Errors from "./errors.js"

type Row = Record<string, unknown>

/** `?, ?, …` for `n` parameters (IN lists, VALUES tuples). */
export const placeholders = (n: number): string => Array.from({ length: n }, () => "?").join(", ")

/** A WHERE clause from conditions that apply or not (the filters of a list read). */
export interface Where {
  /** Adds `clause` (with the parameters of its placeholders) when `applies`. */
  readonly and: (applies: boolean, clause: string, ...params: ReadonlyArray<unknown>) => Where
  /** ` WHERE a AND b …`, or nothing without conditions. */
  readonly text: () => string
  readonly params: ReadonlyArray<unknown>
}

/** A {@link Where} starting with `clauses` that always apply. */
export const where = (...clauses: ReadonlyArray<string>): Where => {
  const all = [...clauses]
  const params: Array<unknown> = []
  const self: Where = {
    and: (applies, clause, ...values) => {
      if (applies) {
        all.push(clause)
        params.push(...values)
      }
      return self
    },
    text: () => all.length === 0 ? "" : ` WHERE ${all.join(" AND ")}`,
    params
  }
  return self
}

const isSqlError = (e: unknown): e is SqlError => typeof e === "object" && e !== null && (e as { _tag?: string })._tag === "SqlError"

/** Statement helpers on a client without name transforms, with lock retries and error mapping. */
export const helpers = (client: SqlClient.SqlClient, lockRetries = 5) => {
  const sql = client.withoutTransforms()
  const query = (text: string, params: ReadonlyArray<unknown> = []) => sql.unsafe<Row>(text, params)
  const exec = (text: string, params: ReadonlyArray<unknown> = []): Effect.Effect<number, SqlError> =>
    Effect.map(sql.unsafe(text, params).raw, (raw) => Number((raw as { affectedRows?: number } | null)?.affectedRows ?? 0))
  const retryable = (e: unknown) => isSqlError(e) && Errors.isRetryable(e)
  /**
   * Retries deadlocks and lock wait timeouts, then maps what is left of the driver's errors to
   * StoreError. The retry schedule is only built when a first attempt failed that way: this
   * wraps every statement of the hot paths.
   */
  const run = <A, E, R>(operation: string, effect: Effect.Effect<A, E | SqlError, R>) =>
    effect.pipe(
      Effect.catchIf(retryable, () =>
        Effect.retry(Effect.zipRight(Effect.sleep("5 millis"), effect), {
          times: Math.max(0, lockRetries - 1),
          schedule: Schedule.jittered(Schedule.exponential("5 millis")),
          while: retryable
        })),
      Effect.catchIf(isSqlError, (e) => Effect.fail(Errors.toStoreError(operation)(e)))
    ) as Effect.Effect<A, Exclude<E, SqlError> | EngineError.StoreError, R>
  /**
   * An idempotent statement of a hot path (a heartbeat, a keyed read): the success path skips
   * the retry machinery; a failure the error allows is tried once more, then mapped as by `run`.
   */
  const retryOnce = <A, R>(operation: string, once: Effect.Effect<A, SqlError, R>) =>
    Effect.catchAll(once, (e) => run(operation, Errors.isRetryable(e) ? once : Effect.fail(e)))
  return { sql, query, exec, run, retryOnce }
}

/** The statement helpers of a store (see {@link helpers}). */
export type Run = ReturnType<typeof helpers>
