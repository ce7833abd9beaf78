/**
 * Test databases: every test file gets its own database (`spotfleet_test_<random>`) on the
 * server at `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`), migrated, and dropped
 * when the file's layer is released.
 *
 * When the server is unreachable: under `CI=true` the tests fail; otherwise they are skipped
 * with a loud message.
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import type * as SqlClient from "@effect/sql/SqlClient"
import { describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as mysql from "mysql2/promise"
import * as MysqlMigrations from "../src/MysqlMigrations.js"
import * as MysqlStore from "../src/MysqlStore.js"

export const baseUrl = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"

/** The URL of a database on the test server. */
export const urlOf = (database: string): string => {
  const url = new URL(baseUrl)
  url.pathname = `/${database}`
  return url.toString()
}

const probe = async (): Promise<string | null> => {
  try {
    const conn = await mysql.createConnection({ uri: baseUrl, connectTimeout: 3000 })
    await conn.query("SELECT 1")
    await conn.end()
    return null
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}

const unreachable = await probe()

/** Whether the tests can run. Under CI=true an unreachable server throws here (the file fails). */
export const available: boolean = (() => {
  if (unreachable === null) return true
  if (process.env.CI === "true") {
    throw new Error(`MySQL at ${new URL(baseUrl).host} is unreachable (${unreachable}); CI=true requires it`)
  }
  console.warn(
    `\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n` +
      `!! SKIPPING @spotfleet/adapter-mysql tests: MySQL at ${new URL(baseUrl).host} is unreachable\n` +
      `!! (${unreachable}). Set TEST_MYSQL_URL or start MariaDB/MySQL to run them.\n` +
      `!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n`
  )
  return false
})()

/** `describe` when the server is reachable, `describe.skip` otherwise. */
export const describeMysql: typeof describe = available ? describe : (describe.skip as typeof describe)

/** Runs a callback with an administrative connection (no database selected). */
export const admin = <A>(f: (conn: mysql.Connection) => Promise<A>): Effect.Effect<A> =>
  Effect.promise(async () => {
    const conn = await mysql.createConnection({ uri: baseUrl, multipleStatements: false })
    try {
      return await f(conn)
    } finally {
      await conn.end()
    }
  })

/** A fresh, empty database for the lifetime of a scope. */
export const freshDatabase: Effect.Effect<string, never, import("effect/Scope").Scope> = Effect.acquireRelease(
  Effect.suspend(() => {
    const name = `spotfleet_test_${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`
    return Effect.as(admin((c) => c.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`)), name)
  }),
  (name) => admin((c) => c.query(`DROP DATABASE IF EXISTS \`${name}\``))
)

/** A MySQL client on a fresh database, with or without the schema. */
export const layerDatabase = (options: { readonly migrate?: boolean; readonly maxConnections?: number } = {}): Layer.Layer<
  MysqlClient.MysqlClient | SqlClient.SqlClient | TestDatabase,
  unknown
> =>
  Layer.unwrapScoped(Effect.map(freshDatabase, (name) => {
    const client = MysqlClient.layer({ url: Redacted.make(urlOf(name)), maxConnections: options.maxConnections ?? 16 })
    const withSchema = options.migrate === false ? client : Layer.effectDiscard(MysqlMigrations.run).pipe(Layer.provideMerge(client))
    return Layer.merge(withSchema, Layer.succeed(TestDatabase, { name, url: urlOf(name) }))
  }))

/** The database a test file runs against. */
export class TestDatabase extends (await import("effect")).Context.Tag("test/TestDatabase")<
  TestDatabase,
  { readonly name: string; readonly url: string }
>() {}

/** The store on a fresh, migrated database (plus its client, for direct SQL in tests). */
export const layerStore = (
  options: { readonly maxConnections?: number; readonly store?: MysqlStore.Options } = {}
): Layer.Layer<
  MysqlStore.Stores | MysqlClient.MysqlClient | SqlClient.SqlClient | TestDatabase,
  unknown
> =>
  MysqlStore.layerWith(options.store ?? {}).pipe(
    Layer.provideMerge(layerDatabase({ migrate: true, ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }) }))
  )

export { it }
