/**
 * Transactions sent to the server in one round trip: `START TRANSACTION; …; COMMIT` as one
 * multi-statement query on a connection of the store's own mysql2 pool.
 *
 * Why: a transaction written statement by statement holds its row locks while this process
 * prepares and sends the next statement. When the event loop is busy (a burst of requests, a GC
 * pause, a job) every open transaction stretches at once, and everything that needs the same rows
 * — the event sequence row every event append takes, an agent row a heartbeat batch writes —
 * queues behind them: a lock convoy (docs/PERFORMANCE.md, "What the remaining heartbeat stalls
 * were"). Sent in one piece, a transaction holds its locks only while the server executes it.
 *
 * The server stops at the first statement that fails and leaves the transaction open; it is then
 * rolled back on the same connection (a second round trip, only on failure) before the connection
 * goes back to the pool. Parameters are formatted client-side (`query`, not `execute`: prepared
 * statements cannot hold several statements); {@link configurePool} makes that escaping safe.
 */
import type { Pool, PoolConnection, ResultSetHeader } from "mysql2"

/** One statement of a script: SQL text with `?` placeholders and its parameters. */
export interface Statement {
  readonly text: string
  readonly params: ReadonlyArray<unknown>
}

/** What each statement of a script answered, in order (START TRANSACTION and COMMIT included). */
export type Results = ReadonlyArray<ResultSetHeader | ReadonlyArray<Record<string, unknown>>>

/** The index of a script's first own statement in {@link Results} (after START TRANSACTION). */
export const FIRST = 1

/**
 * mysql2 escapes strings with backslashes; under `NO_BACKSLASH_ESCAPES` that escaping would be
 * wrong, so the store's connections never run in that mode. Call once on a new pool.
 */
export const configurePool = (pool: Pool): void => {
  pool.on("connection", (connection) => {
    connection.query("SET SESSION sql_mode = REPLACE(@@sql_mode, 'NO_BACKSLASH_ESCAPES', '')")
  })
}

/**
 * The statement that fails a script when the statement before it touched no row (an optimistic
 * version check that did not match): `ROW_COUNT()` is kept in a session variable, and a scalar
 * subquery that then returns two rows raises ER_SUBQUERY_NO_1_ROW ({@link GUARD_ERRNO}). Plain
 * SQL, so it needs no stored program and works the same in every SQL mode.
 */
export const guardOneRow: ReadonlyArray<Statement> = [
  { text: "SET @spotfleet_rows = ROW_COUNT()", params: [] },
  {
    text: "SET @spotfleet_guard = (SELECT x FROM (SELECT 1 AS x UNION ALL SELECT 2) AS two WHERE @spotfleet_rows <> 1)",
    params: []
  }
]

/** The error {@link guardOneRow} raises. */
export const GUARD_ERRNO = 1242

/** Runs `statements` as one transaction in one round trip, then calls `done` with each statement's result or the first error. */
export const run = (
  pool: Pool,
  statements: ReadonlyArray<Statement>,
  done: (error: Error | null, results?: Results) => void
): void => {
  const text = ["START TRANSACTION", ...statements.map((s) => s.text), "COMMIT"].join(";\n")
  const params = statements.flatMap((s) => s.params)
  pool.getConnection((connectError, connection: PoolConnection) => {
    if (connectError) return done(connectError)
    connection.query<Array<ResultSetHeader>>(text, params, (error, results) => {
      if (!error) {
        connection.release()
        return done(null, results as unknown as Results)
      }
      // The transaction is still open up to the failed statement: roll it back before anyone
      // else gets the connection (or drop the connection when even that fails).
      connection.query("ROLLBACK", (rollbackError) => {
        if (rollbackError) connection.destroy()
        else connection.release()
        done(error)
      })
    })
  })
}
