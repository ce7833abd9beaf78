/**
 * The conformance suites: every adapter of a port (the in-memory one, MySQL, a custom one) must
 * pass the same tests. Call a suite from a test file of the adapter; it registers the tests with
 * `@effect/vitest` (a peer dependency of this entry point).
 *
 * ```ts
 * // test/MyStore.test.ts
 * import { StoreSuite } from "@spotfleet/engine/testing"
 * StoreSuite.suite("my-store", MyStore.layer)            // every port the engine's aggregates need
 * StoreSuite.priceSuite("my-store", MyStore.priceLayer)  // PriceStore
 * ```
 *
 * One module per port (`src/testing/`): `AgentStoreSuite` (with `AgentStoreReadsSuite` and
 * `AgentStoreHeartbeatSuite`), `EventLogSuite`, `IdempotencySuite`, `TenantStoreSuite`,
 * `PriceStoreSuite`, `JobLeaseSuite`, `ModelRegistrySuite`; `StoreSuite` runs the store ports'
 * suites together on one layer. The suites share one store across their tests and isolate them by
 * creating a fresh tenant (pool, job or model name) per test, so they also run against a database
 * that other tests use.
 *
 * @since 0.1.0
 */

/**
 * Every store port's tests on one layer: `suite`, `priceSuite`, `jobLeaseSuite`.
 *
 * @since 0.1.0
 */
export * as StoreSuite from "./testing/StoreSuite.js"

/**
 * The `AgentStore` port: aggregates, versions, command delivery.
 *
 * @since 0.1.0
 */
export * as AgentStoreSuite from "./testing/AgentStoreSuite.js"

/**
 * The `AgentStore` port's optional fast reads.
 *
 * @since 0.1.0
 */
export * as AgentStoreReadsSuite from "./testing/AgentStoreReadsSuite.js"

/**
 * Heartbeats on the `AgentStore` port.
 *
 * @since 0.1.0
 */
export * as AgentStoreHeartbeatSuite from "./testing/AgentStoreHeartbeatSuite.js"

/**
 * The `EventLog` port: appends, log commits, reads.
 *
 * @since 0.1.0
 */
export * as EventLogSuite from "./testing/EventLogSuite.js"

/**
 * The `IdempotencyStore` port and idempotent calls over it.
 *
 * @since 0.1.0
 */
export * as IdempotencySuite from "./testing/IdempotencySuite.js"

/**
 * The `TenantStore` port.
 *
 * @since 0.1.0
 */
export * as TenantStoreSuite from "./testing/TenantStoreSuite.js"

/**
 * The `PriceStore` port: price tiers, the run ledger, on-demand prices.
 *
 * @since 0.1.0
 */
export * as PriceStoreSuite from "./testing/PriceStoreSuite.js"

/**
 * The `JobLease` port: one runner per job across processes.
 *
 * @since 0.1.0
 */
export * as JobLeaseSuite from "./testing/JobLeaseSuite.js"

/**
 * The model registry conformance suite: `ModelRegistrySuite.suite(name, layer)`.
 *
 * @since 0.1.0
 */
export * as ModelRegistrySuite from "./testing/ModelRegistrySuite.js"
/**
 * The notification store conformance suite: `NotificationStoreSuite.suite(name, layer)`.
 *
 * @since 0.2.0
 */
export * as NotificationStoreSuite from "./testing/NotificationStoreSuite.js"
