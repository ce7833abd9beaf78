/**
 * The conformance tests of the `IdempotencyStore` port and of idempotent calls over it: a replay
 * answers the first answer and changes nothing (concurrent twins too), the first record per tenant
 * and key is kept, and price and switch reports with a key are one write scoped by agent.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Effect, type Layer, Option, TestClock } from "effect"
import * as Engine from "../Engine.js"
import { IdempotencyRecord, IdempotencyStore } from "../IdempotencyStore.js"
import * as PriceService from "../PriceService.js"
import { PriceStore } from "../PriceStore.js"
import { describeOn, eventsOf, fixture, hash, logTime, pool, snapshotsAt, type Stores, type SuiteOptions, type Tests, unique, withEngine } from "./fixtures.js"

/**
 * Registers these tests with the `it` of a layer that provides every store port (the tests drive
 * the engine over it); `StoreSuite.suite` runs them with the other ports' tests.
 *
 * @since 0.1.0
 */
export const tests: Tests<Stores> = (it) => {
  it.effect("idempotent replay returns the first answer and changes nothing", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
      const args = { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool }
      const first = yield* engine.register(tenant.id, args, { idempotencyKey: "register-1" })
      yield* TestClock.adjust("1 second")
      const again = yield* engine.register(tenant.id, args, { idempotencyKey: "register-1" })
      assert.deepStrictEqual(again, first)
      assert.isTrue(again.created)
      // Concurrent twins with one key: one change, one answer.
      const answers = yield* Effect.all(
        Array.from({ length: 8 }, () => engine.requestReplica(tenant.id, first.agent.id, {}, { idempotencyKey: "replica-1" })),
        { concurrency: "unbounded" }
      )
      for (const a of answers) assert.deepStrictEqual(a, answers[0])
      const view = yield* engine.getAgent(tenant.id, first.agent.id)
      assert.strictEqual(view.commands.filter((c) => c.type === "LAUNCH_INSTANCE").length, 1)
      const reused = yield* Effect.flip(engine.updateConfig(tenant.id, first.agent.id, { autoTerminate: false }, { idempotencyKey: "replica-1" }))
      assert.strictEqual(reused._tag, "IdempotencyKeyReused")
    }).pipe(Effect.provide(withEngine)))

  it.effect("the idempotency store keeps the first record per tenant and key", () =>
    Effect.gen(function*() {
      const { tenant } = yield* fixture
      const store = yield* IdempotencyStore
      const record = IdempotencyRecord.make({ tenantId: tenant.id, key: "k-1", operation: "op", response: { a: [1, "x"] }, createdAt: 10 })
      yield* store.put(record)
      const second = yield* Effect.flip(store.put(IdempotencyRecord.make({ ...record, response: "other" })))
      assert.strictEqual(second._tag, "DuplicateKey")
      assert.deepStrictEqual(Option.getOrThrow(yield* store.get(tenant.id, "k-1")), record)
      assert.isTrue(Option.isNone(yield* store.get(tenant.id, "k-2")))
    }).pipe(Effect.provide(withEngine)))

  it.effect("price and switch reports with a key: one write, replayed with the first answer, scoped by agent", () =>
    Effect.gen(function*() {
      const { agent, engine, tenant } = yield* fixture
      const other = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
      const prices = yield* PriceService.make
      const store = yield* PriceStore
      const at = logTime()
      const report = { prices: [{ pool, price: 0.0421, observedAt: at }, { pool, price: 0.0422, observedAt: at + 1 }] }
      const first = yield* prices.ingest(tenant.id, agent.id, report, { idempotencyKey: "report-1" })
      assert.strictEqual(first.snapshots, 2)
      assert.strictEqual(first.role, "PRIMARY")
      yield* TestClock.adjust("1 second")
      const again = yield* prices.ingest(tenant.id, agent.id, { prices: [{ pool, price: 9, observedAt: at + 2 }] }, { idempotencyKey: "report-1" })
      assert.deepStrictEqual(again, first)
      assert.deepStrictEqual((yield* snapshotsAt(store, at)).map((x) => x.price), [0.0421, 0.0422])
      const reported = (yield* eventsOf(tenant.id)).filter((e) => e.type === "PriceReported")
      assert.deepStrictEqual(reported.map((e) => e.id), [first.eventId])
      // Concurrent twins: one write, one answer.
      const twins = yield* Effect.all(
        Array.from({ length: 6 }, () => prices.ingest(tenant.id, agent.id, report, { idempotencyKey: "report-2" })),
        { concurrency: "unbounded" }
      )
      for (const t of twins) assert.deepStrictEqual(t, twins[0])
      assert.strictEqual((yield* snapshotsAt(store, at)).length, 4)
      // The same key from another agent of the tenant is a reuse, not a replay, and writes nothing.
      const foreign = yield* Effect.flip(prices.ingest(tenant.id, other.agent.id, report, { idempotencyKey: "report-1" }))
      assert.strictEqual(foreign._tag, "IdempotencyKeyReused")
      assert.strictEqual((yield* snapshotsAt(store, at)).length, 4)

      // A switch report: the SwitchReported event and the record in one commit.
      yield* engine.requestReplica(tenant.id, agent.id, {})
      const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
      const switchArgs = { requestId: launch!.requestId, startedAt: at, completedAt: at + 2500 }
      const switched = yield* engine.reportSwitch(tenant.id, agent.id, switchArgs, { idempotencyKey: "switch-1" })
      assert.deepStrictEqual(yield* engine.reportSwitch(tenant.id, agent.id, { ...switchArgs, completedAt: at + 9000 }, { idempotencyKey: "switch-1" }), switched)
      const switchEvents = (yield* eventsOf(tenant.id)).filter((e) => e.type === "SwitchReported")
      assert.deepStrictEqual(switchEvents.map((e) => [e.id, e.data.downtimeSeconds]), [[switched.eventId, 2.5]])
      assert.strictEqual((yield* Effect.flip(engine.reportSwitch(tenant.id, other.agent.id, switchArgs, { idempotencyKey: "switch-1" })))._tag, "IdempotencyKeyReused")
      assert.strictEqual((yield* Effect.flip(engine.reportSwitch(tenant.id, agent.id, switchArgs, { idempotencyKey: "report-1" })))._tag, "IdempotencyKeyReused")
    }).pipe(Effect.provide(withEngine)))
}

/**
 * Registers these tests alone, in a describe block of their own, on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(`idempotency conformance: ${name}`, storeLayer, options, tests)
