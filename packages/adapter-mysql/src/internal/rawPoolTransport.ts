/**
 * The transport on the store's own mysql2 pool (see transport.ts), the default with a
 * `MysqlClient` in context. @effect/sql's statement machinery (span, scope, compilation) costs
 * more CPU than a one-row write, and a transaction written statement by statement holds its
 * locks while this process sends the next statement, so the hot paths skip it:
 *
 * - transactions go in one round trip (oneTrip), a version check as a guard statement;
 * - heartbeats are written in batches (heartbeatBatch) and hot reads coalesced (readBatch);
 * - inside a caller's `SqlClient` transaction everything stays in it (the SqlClient transport).
 *
 * No `sql.execute` span is recorded for what runs on this pool.
 */
import type * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { SqlError } from "@effect/sql/SqlError"
import { Batcher } from "@spotfleet/engine"
import { Duration, Effect, Redacted, type Runtime, type Scope } from "effect"
import * as Mysql from "mysql2"
import * as HeartbeatBatch from "./heartbeatBatch.js"
import * as OneTrip from "./oneTrip.js"
import * as ReadBatch from "./readBatch.js"
import { groupCommit } from "./sqlClientTransport.js"
import { header, type Row, standalone, type Transport } from "./transport.js"

/** A pool of `connections` from the config of a `MysqlClient`, closed with the scope. */
export const pool = (config: MysqlClient.MysqlClientConfig, connections: number): Effect.Effect<Mysql.Pool, never, Scope.Scope> => {
  const idleTimeout = config.connectionTTL === undefined ? {} : { idleTimeout: Duration.toMillis(config.connectionTTL) }
  return Effect.acquireRelease(
    Effect.sync(() => {
      const created = config.url !== undefined
        ? Mysql.createPool({ uri: Redacted.value(config.url) as string, connectionLimit: connections, multipleStatements: true, ...idleTimeout })
        : Mysql.createPool({
          ...config.poolConfig,
          ...(config.host === undefined ? {} : { host: config.host }),
          ...(config.port === undefined ? {} : { port: config.port }),
          ...(config.database === undefined ? {} : { database: config.database }),
          ...(config.username === undefined ? {} : { user: config.username }),
          ...(config.password === undefined ? {} : { password: Redacted.value(config.password) as string }),
          connectionLimit: connections,
          multipleStatements: true,
          ...idleTimeout
        })
      OneTrip.configurePool(created)
      return created
    }),
    (created) => Effect.async<void>((resume) => created.end(() => resume(Effect.void)))
  )
}

const failed = (cause: unknown) => new SqlError({ cause, message: "Failed to execute statement" })

/** A transport on `rawPool`; `sqlClient` (the SqlClient transport) serves what runs inside a caller's transaction. */
export const make = (rawPool: Mysql.Pool, sqlClient: Transport, runtime: Runtime.Runtime<never>): Transport => {
  /** A prepared statement: its rows, or its header for a write. */
  const prepared = (text: string, params: ReadonlyArray<unknown>) =>
    Effect.async<unknown, SqlError>((resume) => {
      rawPool.execute(text, params as Array<Mysql.ExecuteValues>, (cause, result) => {
        resume(cause !== null ? Effect.fail(failed(cause)) : Effect.succeed(result))
      })
    })

  /** A statement formatted client-side (its text varies: IN lists). */
  const text = (sqlText: string, params: ReadonlyArray<unknown>) =>
    Effect.async<ReadonlyArray<Row>, SqlError>((resume) => {
      rawPool.query<Array<Mysql.RowDataPacket>>(sqlText, params as Array<unknown>, (cause, rows) => {
        resume(cause !== null ? Effect.fail(failed(cause)) : Effect.succeed(rows as ReadonlyArray<Row>))
      })
    })

  const execute = (sqlText: string, params: ReadonlyArray<unknown>) => Effect.map(prepared(sqlText, params), header)

  /**
   * A transaction in one round trip: a version check is a guard statement after its statement
   * that fails the script (see OneTrip.guardOneRow). Answers each planned statement's result.
   */
  const script: Transport["transaction"] = (statements) => {
    const sent: Array<OneTrip.Statement> = []
    const at: Array<number> = []
    for (const statement of statements) {
      at.push(OneTrip.FIRST + sent.length)
      sent.push(statement)
      if (statement.versionCheck === true) sent.push(...OneTrip.guardOneRow)
    }
    return Effect.async<OneTrip.Results, SqlError>((resume) => {
      OneTrip.run(rawPool, sent, (cause, results) => {
        resume(cause === null ? Effect.succeed(results!) : Effect.fail(failed(cause)))
      })
    }).pipe(Effect.map((results) => at.map((i) => results[i])))
  }

  const heartbeats = Batcher.unsafeMake(runtime, HeartbeatBatch.write({ exec: execute, transaction: script }), {
    start: "now",
    maxSize: HeartbeatBatch.maxBatch
  })
  const readOps: ReadBatch.Ops = { prepared: (t, p) => prepared(t, p) as Effect.Effect<ReadonlyArray<Row>, SqlError>, text }

  return {
    kind: "rawPool",
    query: sqlClient.query,
    exec: sqlClient.exec,
    withTransaction: sqlClient.withTransaction,
    hotExec: (t, p) => standalone(() => sqlClient.exec(t, p), () => execute(t, p)),
    hotRead: (kind) => {
      const reads = Batcher.unsafeMake(runtime, ReadBatch.read(readOps, kind), { concurrent: true })
      return reads.one
    },
    transaction: (statements) => standalone(() => sqlClient.transaction(statements), () => script(statements)),
    heartbeats: (beats, at) =>
      beats.length === 1
        ? Effect.map(heartbeats.one({ tenantId: beats[0]!.tenantId, agentId: beats[0]!.agentId, at }), (touched) => [touched])
        : heartbeats.all(beats.map((b) => ({ tenantId: b.tenantId, agentId: b.agentId, at }))),
    group: groupCommit(runtime)
  }
}
