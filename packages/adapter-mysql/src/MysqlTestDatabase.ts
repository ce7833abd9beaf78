/**
 * Throwaway MySQL / MariaDB databases for tests: each test file gets a database of its own with a
 * unique name (`spotfleet_test_<random>` by default), created on the server at `TEST_MYSQL_URL`
 * (default `mysql://root@127.0.0.1:3306`) and dropped when its scope closes, so test files run in
 * parallel against one server and leave nothing behind.
 *
 * When the server cannot be reached, `reachable` decides what happens: under `CI=true` it throws
 * (the test file fails: a CI run must not pass by skipping its database tests); otherwise it
 * prints a loud banner and answers `false`, and the file skips its MySQL tests.
 *
 * It needs no test runner: the answer of `reachable` goes to the runner's own skip.
 *
 * ```ts
 * // test/MyStore.test.ts (vitest)
 * import { describe, layer } from "@effect/vitest"
 * import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
 *
 * const available = await MysqlTestDatabase.reachable("my store tests")
 * if (!available) describe.skip("my store on MySQL", () => {})
 * else layer(MysqlTestDatabase.layerStore())("my store on MySQL", (it) => { ... })
 * ```
 *
 * @since 0.1.0
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Redacted, type Scope } from "effect"
import * as mysql from "mysql2/promise"
import * as MysqlMigrations from "./MysqlMigrations.js"
import * as MysqlStore from "./MysqlStore.js"

/**
 * The server tests create their databases on: `TEST_MYSQL_URL`, default
 * `mysql://root@127.0.0.1:3306` (read at each call).
 *
 * @since 0.1.0
 * @category configuration
 */
export const serverUrl = (): string => process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"

/**
 * The URL of a database on the test server.
 *
 * @since 0.1.0
 * @category configuration
 */
export const urlOf = (database: string): string => {
  const url = new URL(serverUrl())
  url.pathname = `/${database}`
  return url.toString()
}

/** `host:port` of the server, for messages (never the credentials). */
const serverHost = (): string => {
  try {
    return new URL(serverUrl()).host
  } catch {
    return "TEST_MYSQL_URL (not a URL)"
  }
}

/**
 * Runs `f` on a fresh connection to the server (no database selected) and closes it.
 *
 * @since 0.1.0
 * @category administration
 */
export const admin = async <A>(f: (connection: mysql.Connection) => Promise<A>): Promise<A> => {
  const connection = await mysql.createConnection({ uri: serverUrl(), connectTimeout: 3000 })
  try {
    return await f(connection)
  } finally {
    await connection.end()
  }
}

/**
 * Whether the server answers. When it does not: under `CI=true` this throws (naming the server and
 * the cause); otherwise it prints a loud banner saying that `what` is skipped and why, and answers
 * `false`.
 *
 * @since 0.1.0
 * @category availability
 */
export const reachable = async (what: string): Promise<boolean> => {
  const cause = await admin((c) => c.query("SELECT 1")).then(
    () => null,
    (e: unknown) => (e instanceof Error ? e.message : String(e)) || "no answer"
  )
  if (cause === null) return true
  if (process.env.CI === "true") {
    throw new Error(`MySQL at ${serverHost()} is unreachable (${cause}); CI=true requires it for ${what}`)
  }
  const bar = "!".repeat(78)
  console.warn(
    `\n${bar}\n!! SKIPPING ${what}: MySQL at ${serverHost()} is unreachable\n` +
      `!! (${cause}). Set TEST_MYSQL_URL or start MariaDB/MySQL to run them.\n${bar}\n`
  )
  return false
}

/**
 * A database name no other test uses: the prefix and 16 random hex digits.
 *
 * @since 0.1.0
 * @category administration
 */
export const uniqueName = (prefix = "spotfleet_test"): string =>
  `${prefix}_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`

/**
 * Options of a test database.
 *
 * @since 0.1.0
 * @category models
 */
export interface DatabaseOptions {
  /** The start of the database's name (default `spotfleet_test`); a random suffix makes it unique. */
  readonly prefix?: string | undefined
}

/**
 * A created database: its name, its URL, and how to drop it.
 *
 * @since 0.1.0
 * @category models
 */
export interface Database {
  /** The database's name. */
  readonly name: string
  /** Its connection URL (the server's, with the database as path). */
  readonly url: string
  /** Drops it (`DROP DATABASE IF EXISTS`); safe to call twice. */
  readonly drop: () => Promise<void>
}

/**
 * Creates an empty database with a unique name (utf8mb4, binary collation, as the schema expects)
 * and answers it; the caller drops it. In Effect code prefer `scoped` or the layers, which drop it
 * with their scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const create = async (options: DatabaseOptions = {}): Promise<Database> => {
  const name = uniqueName(options.prefix)
  await admin((c) => c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`))
  return { name, url: urlOf(name), drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``)).then(() => undefined) }
}

/**
 * The database a test runs against: its name and URL.
 *
 * @since 0.1.0
 * @category tags
 */
export class TestDatabase extends Context.Tag("@spotfleet/adapter-mysql/MysqlTestDatabase")<
  TestDatabase,
  { readonly name: string; readonly url: string }
>() {}

/**
 * A fresh, empty database for the lifetime of the scope (dropped when it closes).
 *
 * @since 0.1.0
 * @category constructors
 */
export const scoped = (options: DatabaseOptions = {}): Effect.Effect<Context.Tag.Service<TestDatabase>, never, Scope.Scope> =>
  Effect.map(
    Effect.acquireRelease(Effect.promise(() => create(options)), (db) => Effect.promise(db.drop)),
    ({ name, url }) => ({ name, url })
  )

/**
 * A fresh database as a layer: `TestDatabase`, dropped when the layer is released.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: DatabaseOptions = {}): Layer.Layer<TestDatabase> => Layer.scoped(TestDatabase, scoped(options))

/**
 * Options of `layerClient`.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions extends DatabaseOptions {
  /** Run the migrations first (default true); false leaves the database empty. */
  readonly migrate?: boolean | undefined
  /** The client's pool size (default 16). */
  readonly maxConnections?: number | undefined
}

/**
 * A MySQL client on a fresh database, migrated unless `migrate: false`, with the database's name
 * and URL as `TestDatabase`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerClient = (
  options: ClientOptions = {}
): Layer.Layer<MysqlClient.MysqlClient | SqlClient.SqlClient | TestDatabase, unknown> =>
  Layer.unwrapScoped(Effect.map(scoped(options), (database) => {
    const client = MysqlClient.layer({ url: Redacted.make(database.url), maxConnections: options.maxConnections ?? 16 })
    const withSchema = options.migrate === false ? client : Layer.effectDiscard(MysqlMigrations.run).pipe(Layer.provideMerge(client))
    return Layer.merge(withSchema, Layer.succeed(TestDatabase, database))
  }))

/**
 * Options of `layerStore`.
 *
 * @since 0.1.0
 * @category models
 */
export interface StoreOptions extends DatabaseOptions {
  /** The client's pool size (default 16). */
  readonly maxConnections?: number | undefined
  /** The store's own options. */
  readonly store?: MysqlStore.Options | undefined
}

/**
 * Every store port on a fresh, migrated database, plus its client (for direct SQL in tests) and
 * `TestDatabase`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerStore = (
  options: StoreOptions = {}
): Layer.Layer<MysqlStore.Stores | MysqlClient.MysqlClient | SqlClient.SqlClient | TestDatabase, unknown> =>
  MysqlStore.layerWith(options.store ?? {}).pipe(
    Layer.provideMerge(layerClient({
      migrate: true,
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections })
    }))
  )
