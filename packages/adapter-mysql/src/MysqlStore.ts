/**
 * Every store port of `@spotfleet/engine` (AgentStore, EventLog, IdempotencyStore,
 * TenantStore) on MySQL 8 / MariaDB 10.6+ through `@effect/sql-mysql2`.
 *
 * - A commit is one transaction: `UPDATE agents ... WHERE id = ? AND version = ?` (zero rows →
 *   `VersionConflict`), the changed instances and commands, the events and the idempotency
 *   record. Any failure rolls all of it back.
 * - The schema enforces the invariants too (one PRIMARY per agent through a generated column
 *   with a unique index, unique request ids, unique logical agent ids, autoSwitch XOR
 *   manualReplica); a write the database rejects is mapped to the engine's errors.
 * - Deadlocks and lock wait timeouts are retried a bounded number of times; every other driver
 *   failure becomes a `StoreError` whose message carries no SQL.
 *
 * The schema is not created implicitly: run `MysqlMigrations.run` (or provide
 * `MysqlMigrations.layer`, or run the `spotfleet-mysql-migrate` command) first.
 *
 * ```ts
 * import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
 * import { Engine } from "@spotfleet/engine"
 *
 * const StoreLive = MysqlStore.layerFromUrl(process.env.MYSQL_URL!)
 * const EngineLive = Engine.layer().pipe(Layer.provide(StoreLive))
 * ```
 *
 * @since 0.1.0
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import type { EngineError, MemoryStore } from "@spotfleet/engine"
import { Config, type ConfigError, type Context, type Effect, Layer, Redacted, type Scope } from "effect"
import * as internal from "./internal/mysqlStore.js"

/**
 * Every store port the engine needs (the same union `MemoryStore.layer` provides).
 *
 * @since 0.1.0
 * @category models
 */
export type Stores = MemoryStore.Stores

/**
 * Options of the store.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Retries of a transaction that hit a deadlock (1213) or a lock wait timeout (1205). Default 5. */
  readonly lockRetries?: number | undefined
  /**
   * The store's own mysql2 pool: when the client in context is a `MysqlClient`, the store opens
   * a pool of its own from the client's config (so up to this many extra connections; default
   * the client's `maxConnections`, else 10) and closes it with its scope. Every statement that
   * runs outside a caller's `SqlClient` transaction goes there: commits, event appends and log
   * commits in one round trip each, heartbeats in batches (group commit: the heartbeats that
   * arrive while one batch is written go together in the next), the agents' hot reads
   * coalesced, idempotency records. 0 sends everything through the `SqlClient` (and records
   * each statement's `sql.execute` span, which the own pool does not).
   *
   * @since 0.2.0
   */
  readonly rawPoolConnections?: number | undefined
  /**
   * The old name of {@link Options.rawPoolConnections} (the pool carries far more than
   * heartbeats); `rawPoolConnections` wins when both are set.
   *
   * @deprecated use `rawPoolConnections`.
   */
  readonly heartbeatConnections?: number | undefined
}

/**
 * Builds the store ports on the `SqlClient` in context (a MySQL or MariaDB client). Runs no
 * migrations. The scope owns the store's own pool (see {@link Options.rawPoolConnections}).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: Options
) => Effect.Effect<Context.Context<Stores>, EngineError.StoreError, SqlClient.SqlClient | Scope.Scope> = internal.make

/**
 * The store ports on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Stores, EngineError.StoreError, SqlClient.SqlClient> = Layer.scopedContext(internal.make())

/**
 * The store ports with options, on the `SqlClient` in context.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<Stores, EngineError.StoreError, SqlClient.SqlClient> =>
  Layer.scopedContext(internal.make(options))

/**
 * A MySQL client and the store ports on it, configured through `Config` (for example
 * `layerConfig({ url: Config.redacted("MYSQL_URL") })`). The client is also provided, so the
 * same connection pool can run the migrations.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig = (
  config: Config.Config.Wrap<MysqlClient.MysqlClientConfig>,
  options: Options = {}
): Layer.Layer<Stores | SqlClient.SqlClient | MysqlClient.MysqlClient, ConfigError.ConfigError | SqlError | EngineError.StoreError> =>
  layerWith(options).pipe(Layer.provideMerge(MysqlClient.layerConfig(config)))

/**
 * A MySQL client for a connection URL (`mysql://user:password@host:3306/database`) and the
 * store ports on it. Runs no migrations.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromUrl = (
  url: string | Redacted.Redacted<string>,
  options: Options & { readonly maxConnections?: number | undefined } = {}
): Layer.Layer<Stores | SqlClient.SqlClient | MysqlClient.MysqlClient, ConfigError.ConfigError | SqlError | EngineError.StoreError> =>
  layerWith(options).pipe(
    Layer.provideMerge(
      MysqlClient.layer({
        url: Redacted.isRedacted(url) ? url : Redacted.make(url),
        ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections })
      })
    )
  )

/**
 * `layerConfig` reading the URL from `MYSQL_URL`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromEnv: Layer.Layer<
  Stores | SqlClient.SqlClient | MysqlClient.MysqlClient,
  ConfigError.ConfigError | SqlError | EngineError.StoreError
> = layerConfig({ url: Config.redacted("MYSQL_URL") })
