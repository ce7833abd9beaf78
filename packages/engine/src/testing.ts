/**
 * The store conformance suite: every store adapter (the in-memory store, MySQL, a custom one)
 * must pass the same tests. Call `StoreSuite.suite(name, layer)` from a test file of the
 * adapter; it registers the tests with `@effect/vitest` (a peer dependency of this entry point).
 *
 * ```ts
 * // test/MyStore.test.ts
 * import { StoreSuite } from "@spotfleet/engine/testing"
 * StoreSuite.suite("my-store", MyStore.layer)
 * ```
 *
 * The suite shares one store across its tests and isolates them by creating a fresh tenant per
 * test, so it also runs against a database that other tests use.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as StoreSuite from "./internal/storeSuite.js"

/**
 * The model registry conformance suite: `ModelRegistrySuite.suite(name, layer)`.
 *
 * @since 0.1.0
 */
export * as ModelRegistrySuite from "./internal/modelRegistrySuite.js"
