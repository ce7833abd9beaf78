/**
 * The adapter's tests on the package's own test kit (`@spotfleet/adapter-mysql/testing`,
 * `src/MysqlTestDatabase.ts`): every test file gets its own database on `TEST_MYSQL_URL`
 * (default `mysql://root@127.0.0.1:3306`), migrated, and dropped when the file's layer is
 * released. Unreachable: the tests fail under `CI=true`, and are skipped loudly otherwise.
 */
import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import type * as mysql from "mysql2/promise"
import { MysqlTestDatabase } from "../src/testing.js"

/** The server the test databases are created on (`TEST_MYSQL_URL`). */
export const baseUrl = MysqlTestDatabase.serverUrl()

/** The URL of a database on the test server. */
export const urlOf = MysqlTestDatabase.urlOf

/** Whether the tests can run. Under CI=true an unreachable server throws here (the file fails). */
export const available: boolean = await MysqlTestDatabase.reachable("@spotfleet/adapter-mysql tests")

/** `describe` when the server is reachable, `describe.skip` otherwise. */
export const describeMysql: typeof describe = available ? describe : (describe.skip as typeof describe)

/** Runs a callback with an administrative connection (no database selected). */
export const admin = <A>(f: (conn: mysql.Connection) => Promise<A>): Effect.Effect<A> => Effect.promise(() => MysqlTestDatabase.admin(f))

/** A MySQL client on a fresh database, with or without the schema. */
export const layerDatabase = MysqlTestDatabase.layerClient

/** The store on a fresh, migrated database (plus its client, for direct SQL in tests). */
export const layerStore = MysqlTestDatabase.layerStore

/** The database a test file runs against. */
export const TestDatabase = MysqlTestDatabase.TestDatabase

export { it }
