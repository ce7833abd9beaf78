/**
 * @spotfleet/adapter-mysql/testing: the test kit of the MySQL adapter. Tests of a store, of an
 * HTTP server on MySQL or of a host embedding the engine get a database of their own from it,
 * created and dropped around them, and the same rule when the server is unreachable (fail under
 * `CI=true`, skip loudly otherwise).
 *
 * ```ts
 * import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
 * ```
 *
 * Pair it with the engine's conformance suites (`@spotfleet/engine/testing`) to test a store.
 *
 * @since 0.1.0
 */

/**
 * Throwaway test databases on `TEST_MYSQL_URL`: `reachable`, `create`, `scoped`, and the layers
 * `layer`, `layerClient` and `layerStore`.
 *
 * @since 0.1.0
 */
export * as MysqlTestDatabase from "./MysqlTestDatabase.js"
