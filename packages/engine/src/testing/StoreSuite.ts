/**
 * The store conformance suite: every store adapter (the in-memory store, MySQL, a custom one) must
 * pass the same tests. `suite(name, layer)` registers the tests of every port the engine's
 * aggregates need (AgentStore, EventLog, IdempotencyStore, TenantStore, and the PriceStore that log
 * commits write to) in one describe block on one layer; `priceSuite` and `jobLeaseSuite` those of
 * the `PriceStore` and `JobLease` ports. Each port's tests are also a module of their own
 * (`AgentStoreSuite`, `EventLogSuite`, …), to run one port alone.
 *
 * The suites share one store across their tests and isolate them by creating a fresh tenant (or
 * fresh pools, job names) per test, so they also run against a database other tests use.
 *
 * @since 0.1.0
 */
import type { Layer } from "effect"
import type { JobLease } from "../JobLease.js"
import type { PriceStore } from "../PriceStore.js"
import * as AgentStoreHeartbeatSuite from "./AgentStoreHeartbeatSuite.js"
import * as AgentStoreReadsSuite from "./AgentStoreReadsSuite.js"
import * as AgentStoreSuite from "./AgentStoreSuite.js"
import * as EventLogSuite from "./EventLogSuite.js"
import { describeOn, type Stores } from "./fixtures.js"
import type * as Fixtures from "./fixtures.js"
import * as IdempotencySuite from "./IdempotencySuite.js"
import * as JobLeaseSuite from "./JobLeaseSuite.js"
import * as PriceStoreSuite from "./PriceStoreSuite.js"
import * as TenantStoreSuite from "./TenantStoreSuite.js"

/**
 * Options of the suites: `timeout`, per test (default 60 seconds: database adapters are slower).
 *
 * @since 0.1.0
 */
export type SuiteOptions = Fixtures.SuiteOptions

/**
 * Registers the conformance tests for a store layer: those of the agent store (aggregates, fast
 * reads, heartbeats), the event log, idempotency and tenants, on one shared layer.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(
    `store conformance: ${name}`,
    storeLayer,
    options,
    AgentStoreSuite.tests,
    AgentStoreReadsSuite.tests,
    AgentStoreHeartbeatSuite.tests,
    EventLogSuite.tests,
    IdempotencySuite.tests,
    TenantStoreSuite.tests
  )

/**
 * Registers the conformance tests of the `PriceStore` port (the price tiers, the run ledger and
 * on-demand prices): `PriceStoreSuite.suite`.
 *
 * @since 0.1.0
 */
export const priceSuite: <E>(name: string, storeLayer: Layer.Layer<PriceStore, E>, options?: SuiteOptions) => void = PriceStoreSuite.suite

/**
 * Registers the conformance tests of the `JobLease` port: `JobLeaseSuite.suite`.
 *
 * @since 0.1.0
 */
export const jobLeaseSuite: <E>(name: string, leaseLayer: Layer.Layer<JobLease, E>, options?: SuiteOptions) => void = JobLeaseSuite.suite
