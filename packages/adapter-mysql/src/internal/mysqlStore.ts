/**
 * The store's `make`: picks the transport once (transport.ts) and builds one port per file on
 * it (agentStore, eventLog, idempotency, tenants, priceStore).
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import * as SqlClient from "@effect/sql/SqlClient"
import { AgentStore, EventLog, IdempotencyStore, PriceStore, TenantStore } from "@spotfleet/engine"
import { Context, Effect, Option } from "effect"
import * as AgentStoreSql from "./agentStore.js"
import * as EventLogSql from "./eventLog.js"
import * as IdempotencySql from "./idempotency.js"
import * as PriceStoreSql from "./priceStore.js"
import * as RawPoolTransport from "./rawPoolTransport.js"
import * as SqlClientTransport from "./sqlClientTransport.js"
import { helpers } from "./sqlRun.js"
import * as TenantsSql from "./tenants.js"

/** Options of the store. */
export interface Options {
  /** Retries of a transaction that hit a deadlock or a lock wait timeout (default 5). */
  readonly lockRetries?: number | undefined
  /**
   * Size of the store's own mysql2 pool (default: the client's `maxConnections`, else 10; 0 =
   * everything through the `SqlClient`). Used only when the client in context is a
   * `MysqlClient` (its config says where to connect).
   */
  readonly rawPoolConnections?: number | undefined
  /** @deprecated the old name of {@link rawPoolConnections}. */
  readonly heartbeatConnections?: number | undefined
}

/** The size of the store's own pool asked for by `options` (undefined: the default). */
export const rawPoolConnections = (options: Options): number | undefined => options.rawPoolConnections ?? options.heartbeatConnections

export const make = (options: Options = {}) =>
  Effect.gen(function*() {
    // Our SQL names its columns itself: never let a host client's name transforms touch it.
    const sql = (yield* SqlClient.SqlClient).withoutTransforms()
    const runtime = yield* Effect.runtime<never>()
    const statements = helpers(sql, options.lockRetries ?? 5)

    // The one place the transport is chosen: the store's own pool with a MysqlClient in context
    // (its config says where to connect) unless turned off, else the SqlClient alone.
    const sqlClient = SqlClientTransport.make(sql, runtime)
    const mysqlClient = yield* Effect.serviceOption(MysqlClient.MysqlClient)
    const connections = Option.map(mysqlClient, (client) => rawPoolConnections(options) ?? client.config.maxConnections ?? 10)
    const transport = Option.isSome(mysqlClient) && Option.isSome(connections) && connections.value > 0
      ? RawPoolTransport.make(yield* RawPoolTransport.pool(mysqlClient.value.config, connections.value), sqlClient, runtime)
      : sqlClient

    return Context.make(AgentStore.AgentStore, AgentStoreSql.make(transport, statements)).pipe(
      Context.add(EventLog.EventLog, EventLogSql.make(transport, statements)),
      Context.add(IdempotencyStore.IdempotencyStore, IdempotencySql.make(transport, statements)),
      Context.add(TenantStore.TenantStore, TenantsSql.make(transport, statements)),
      Context.add(
        PriceStore.PriceStore,
        PriceStoreSql.make(
          sql,
          statements.run,
          (text, params) => Effect.map(transport.hotExec(text, params), (h) => h.affectedRows),
          (writeAll) => transport.group(writeAll).one
        )
      )
    )
  })
