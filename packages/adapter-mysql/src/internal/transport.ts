/**
 * The seam between the store's ports and the database: every statement the ports send goes
 * through a {@link Transport}, so a port holds SQL and rules but never asks how it is sent.
 * Two implementations, chosen once when the store is made (mysqlStore.ts):
 *
 * - sqlClientTransport.ts: everything through the `SqlClient` in context, one statement at a
 *   time (spans recorded, a host's transaction joined).
 * - rawPoolTransport.ts: the store's own mysql2 pool for what runs outside a caller's
 *   transaction — transactions in one round trip (oneTrip), heartbeats written in batches
 *   (heartbeatBatch), hot reads coalesced (readBatch) — and the `SqlClient` inside one.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { Batcher } from "@spotfleet/engine"
import { Effect, Option } from "effect"
import * as Errors from "./errors.js"
import type * as HeartbeatBatch from "./heartbeatBatch.js"
import * as OneTrip from "./oneTrip.js"
import type * as ReadBatch from "./readBatch.js"

/** A row as the driver answers it. */
export type Row = Record<string, unknown>

/** What a write answered. */
export interface ResultHeader {
  readonly affectedRows: number
  readonly insertId: number
}

/** The header of a driver result (zeros for a result without one). */
export const header = (raw: unknown): ResultHeader => {
  const r = raw as Partial<ResultHeader> | null
  return { affectedRows: Number(r?.affectedRows ?? 0), insertId: Number(r?.insertId ?? 0) }
}

/** One statement: SQL text with `?` placeholders and its parameters. */
export interface Statement {
  readonly text: string
  readonly params: ReadonlyArray<unknown>
}

/** A statement of a transaction; `versionCheck`: it must touch a row, else the transaction fails (see {@link versionCheckFailed}). */
export interface Planned extends Statement {
  readonly versionCheck?: boolean
}

/** What each statement of a transaction answered, in order: a header for a write, rows for a read. */
export type Results = ReadonlyArray<unknown>

/**
 * The driver error number of a failed version check: the raw pool's guard statement raises it
 * (OneTrip.guardOneRow), and the SqlClient transport fails with it, so ports test one thing.
 */
export const VERSION_CHECK_ERRNO = OneTrip.GUARD_ERRNO

/** Whether a transaction failed because a `versionCheck` statement touched no row (nothing of it was kept). */
export const versionCheckFailed = (error: SqlError): boolean => Errors.driverError(error).errno === VERSION_CHECK_ERRNO

/** A heartbeat's write: an agent of a tenant. */
export interface Beat {
  readonly tenantId: string
  readonly agentId: string
}

/** Every operation the ports need from the database. */
export interface Transport {
  /** Which implementation this is (for logs and tests). */
  readonly kind: "sqlClient" | "rawPool"
  /** A read through the `SqlClient` (inside the caller's transaction when there is one). */
  readonly query: (text: string, params?: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  /** A write through the `SqlClient` (inside the caller's transaction when there is one). */
  readonly exec: (text: string, params?: ReadonlyArray<unknown>) => Effect.Effect<ResultHeader, SqlError>
  /** Runs `effect` in one `SqlClient` transaction (a consistent snapshot of several reads). */
  readonly withTransaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError, R>
  /** A one-statement write of a hot path; inside a caller's transaction it stays in it. */
  readonly hotExec: (text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ResultHeader, SqlError>
  /** A keyed read of a hot path (an id and the tenant that must own it), answering that key's rows. */
  readonly hotRead: (kind: ReadBatch.Kind) => (key: readonly [string, string]) => Effect.Effect<ReadonlyArray<Row>, SqlError>
  /** Statements as one transaction (inside the caller's transaction when there is one); answers each statement's result. */
  readonly transaction: (statements: ReadonlyArray<Planned>) => Effect.Effect<Results, SqlError>
  /** Heartbeat writes at `at` (see heartbeatBatch); answers each agent's state, `undefined` for no such agent of the tenant. */
  readonly heartbeats: (
    beats: ReadonlyArray<Beat>,
    at: number
  ) => Effect.Effect<ReadonlyArray<HeartbeatBatch.Touched | undefined>, SqlError>
  /**
   * A group commit over `writeAll` (one result per item, in order): writes made together share
   * one call. Callers inside a transaction of their own must not use it (see {@link standalone}).
   */
  readonly group: <I, O, E>(writeAll: (items: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, E>) => Batcher.Batcher<I, O, E>
}

/**
 * `inTransaction()` inside a caller's `SqlClient` transaction, else `outside()`. Thunks: only
 * the way taken is built (the hot paths build statements for it).
 */
export const standalone = <A, E, R>(
  inTransaction: () => Effect.Effect<A, E, R>,
  outside: () => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (t) => Option.isSome(t) ? inTransaction() : outside())
