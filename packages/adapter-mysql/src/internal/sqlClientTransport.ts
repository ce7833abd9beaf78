/**
 * The transport through the `SqlClient` in context (see transport.ts): one statement at a time,
 * each with its `sql.execute` span, inside the caller's transaction when there is one. Used when
 * the client in context is not a `MysqlClient` (its config is what a pool of our own needs) or
 * when the store's own pool is turned off (`rawPoolConnections: 0`).
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Batcher } from "@spotfleet/engine"
import { Effect, type Runtime } from "effect"
import * as HeartbeatBatch from "./heartbeatBatch.js"
import { header, type Row, type Transport, VERSION_CHECK_ERRNO } from "./transport.js"

/** A version check that touched no row, as the raw pool's guard statement reports it. */
const versionCheckError = new SqlError({ cause: { errno: VERSION_CHECK_ERRNO }, message: "A version check matched no row" })

/** Group commits, the same on both transports: batches of the calls of one turn (and of those that arrive while one is written). */
export const groupCommit = (runtime: Runtime.Runtime<never>): Transport["group"] => (writeAll) => Batcher.unsafeMake(runtime, writeAll)

/** A transport on `sql` (a client without name transforms: our SQL names its columns itself). */
export const make = (sql: SqlClient.SqlClient, runtime: Runtime.Runtime<never>): Transport => {
  const query: Transport["query"] = (text, params = []) => sql.unsafe<Row>(text, params)
  const exec: Transport["exec"] = (text, params = []) => Effect.map(sql.unsafe(text, params).raw, header)

  const transaction: Transport["transaction"] = (statements) =>
    sql.withTransaction(Effect.forEach(statements, (statement) =>
      Effect.flatMap(sql.unsafe(statement.text, statement.params).raw, (raw) =>
        statement.versionCheck === true && header(raw).affectedRows === 0 ? Effect.fail(versionCheckError) : Effect.succeed(raw))))

  const writeHeartbeats = HeartbeatBatch.write({ exec, transaction })

  return {
    kind: "sqlClient",
    query,
    exec,
    withTransaction: sql.withTransaction,
    hotExec: exec,
    hotRead: (kind) => (key) => query(kind.one, key),
    transaction,
    // One statement per heartbeat (see HeartbeatBatch.singleSql).
    heartbeats: (beats, at) => Effect.map(Effect.forEach(beats, (b) => writeHeartbeats([{ ...b, at }])), (answers) => answers.flat()),
    group: groupCommit(runtime)
  }
}
