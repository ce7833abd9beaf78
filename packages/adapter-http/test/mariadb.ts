/**
 * MariaDB/MySQL for the end-to-end tests: `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`),
 * a fresh database per test file, migrated on start and dropped at the end.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import type { MemoryStore } from "@spotfleet/engine"
import { Effect, Layer, Redacted } from "effect"
import * as mysql from "mysql2/promise"

/** The server the tests create their databases on. */
export const baseUrl = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"

/** Runs `f` on a fresh connection to the server (no database selected). */
export const admin = async <A>(f: (c: mysql.Connection) => Promise<A>): Promise<A> => {
  const conn = await mysql.createConnection({ uri: baseUrl, connectTimeout: 3000 })
  try {
    return await f(conn)
  } finally {
    await conn.end()
  }
}

/** Whether the server answers. Unreachable: fails under CI=true, else a loud skip naming `what`. */
export const reachable = (what: string): Promise<boolean> =>
  admin((c) => c.query("SELECT 1")).then(() => true, (e: unknown) => {
    if (process.env.CI === "true") throw e
    console.warn(`\n!!!! SKIPPING ${what} on MariaDB: ${baseUrl} unreachable (${String(e)})\n`)
    return false
  })

/** A uniquely named database, and every store port on it (created, migrated, dropped with the layer). */
export const freshStore = (
  prefix: string
): { readonly database: string; readonly url: string; readonly stores: Layer.Layer<MemoryStore.Stores> } => {
  const database = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  const url = new URL(baseUrl)
  url.pathname = `/${database}`
  const created = Layer.scopedDiscard(Effect.acquireRelease(
    Effect.promise(() => admin((c) => c.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`))),
    () => Effect.promise(() => admin((c) => c.query(`DROP DATABASE IF EXISTS \`${database}\``)))
  ))
  const stores = MysqlStore.layer.pipe(
    Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url: Redacted.make(url.toString()) })))),
    Layer.provide(created),
    Layer.orDie
  )
  return { database, url: url.toString(), stores }
}
