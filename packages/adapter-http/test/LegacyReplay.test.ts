/**
 * Acceptance 1 of issue 5: every fixture of `../shared/fixtures/v5` (relative to the repository
 * root) driven in lifecycle order against the server, on the in-memory store and on MariaDB at
 * `TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`, a fresh database; skipped loudly when
 * unreachable, failed under CI=true). Skipped when the fixtures are absent.
 */
import { MysqlClient } from "@effect/sql-mysql2"
import { describe, layer } from "@effect/vitest"
import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { Effect, Layer, Redacted } from "effect"
import * as mysql from "mysql2/promise"
import { fixturesDir, fixturesPresent, replay } from "./legacy.js"
import { memoryServer, serverLayer } from "./utils.js"

if (!fixturesPresent) console.warn(`\n!!!! SKIPPING legacy v5 replay: no fixtures at ${fixturesDir}\n`)

const baseUrl = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const database = `spotfleet_legacy_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const urlOf = (db: string) => {
  const url = new URL(baseUrl)
  url.pathname = `/${db}`
  return url.toString()
}

const admin = async <A>(f: (c: mysql.Connection) => Promise<A>): Promise<A> => {
  const conn = await mysql.createConnection({ uri: baseUrl, connectTimeout: 3000 })
  try {
    return await f(conn)
  } finally {
    await conn.end()
  }
}

const reachable = fixturesPresent && await admin((c) => c.query("SELECT 1")).then(() => true, (e: unknown) => {
  if (process.env.CI === "true") throw e
  console.warn(`\n!!!! SKIPPING legacy v5 replay on MariaDB: ${baseUrl} unreachable (${String(e)})\n`)
  return false
})

const databaseLayer = Layer.scopedDiscard(Effect.acquireRelease(
  Effect.promise(() => admin((c) => c.query(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`))),
  () => Effect.promise(() => admin((c) => c.query(`DROP DATABASE IF EXISTS \`${database}\``)))
))

const mysqlStores = MysqlStore.layer.pipe(
  Layer.provide(MysqlMigrations.layer.pipe(Layer.provideMerge(MysqlClient.layer({ url: Redacted.make(urlOf(database)) })))),
  Layer.provide(databaseLayer),
  Layer.orDie
)

if (fixturesPresent) {
  layer(memoryServer, { timeout: "30 seconds", excludeTestServices: true })("legacy v5 fixture replay (in-memory store)", (it) => {
    it.effect("every fixture in lifecycle order: answers as the agent needs them, engine state afterwards", () => replay)
  })
} else {
  describe.skip("legacy v5 fixture replay (in-memory store)", () => {})
}

if (reachable) {
  layer(serverLayer(mysqlStores), { timeout: "60 seconds", excludeTestServices: true })("legacy v5 fixture replay (MariaDB)", (it) => {
    it.effect("every fixture in lifecycle order: answers as the agent needs them, engine state afterwards", () => replay)
  })
} else {
  describe.skip("legacy v5 fixture replay (MariaDB)", () => {})
}
