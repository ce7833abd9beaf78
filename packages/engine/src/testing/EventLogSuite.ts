/**
 * The conformance tests of the `EventLog` port: events appended atomically with the change they
 * describe, log commits (events, snapshots, on-demand prices and an idempotency record as one write;
 * a taken key writes nothing; commits made together answered one by one; a commit the store cannot
 * finish leaves nothing), and reads by tenant, agent, type and id.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Effect, Either, type Layer, Option } from "effect"
import { Actor, EventDraft } from "../DomainEvent.js"
import { EventLog } from "../EventLog.js"
import { IdempotencyRecord, IdempotencyStore } from "../IdempotencyStore.js"
import { PriceStore } from "../PriceStore.js"
import { OnDemandPrice } from "../Pricing.js"
import { bump, describeOn, event, eventsOf, fixture, logTime, reported, snapshotsAt, type Stores, type SuiteOptions, type Tests, unique, withEngine } from "./fixtures.js"

/** A fresh tenant with one agent, the log and the stores a log commit writes to, and a time of its own. */
const logFixture = Effect.gen(function*() {
  const { agent, tenant } = yield* fixture
  return { agent, tenant, log: yield* EventLog, prices: yield* PriceStore, idempotency: yield* IdempotencyStore, at: logTime() }
})

/**
 * Registers these tests with the `it` of a layer that provides every store port (the tests drive
 * the engine over it); `StoreSuite.suite` runs them with the other ports' tests.
 *
 * @since 0.1.0
 */
export const tests: Tests<Stores> = (it) => {
  it.effect("appends events atomically with the change", () =>
    Effect.gen(function*() {
      const { aggregate, store, tenant } = yield* fixture
      const log = yield* EventLog
      const before = yield* eventsOf(tenant.id)
      const written = yield* store.commit({
        before: aggregate,
        after: bump(aggregate, { metadata: { step: 1 } }),
        events: [event(tenant.id, aggregate.agent.id, { n: 1 }), event(tenant.id, aggregate.agent.id, { n: 2 })]
      })
      assert.deepStrictEqual(written.map((e) => e.data), [{ n: 1 }, { n: 2 }])
      assert.isTrue(written[0]!.id < written[1]!.id)
      assert.isTrue(written[0]!.id > (before.at(-1)?.id ?? 0))
      const tail = yield* log.read({ tenantId: tenant.id, afterId: before.at(-1)?.id ?? 0, limit: 10 })
      assert.deepStrictEqual(tail, written)
      assert.isTrue((yield* log.latestId) >= written[1]!.id)
      // A commit that fails on its idempotency record writes neither the change nor the events.
      const current = Option.getOrThrow(yield* store.load(aggregate.agent.id))
      yield* Effect.flatMap(IdempotencyStore, (s) =>
        s.put(IdempotencyRecord.make({ tenantId: tenant.id, key: "taken", operation: "op", response: null, createdAt: 0 })))
      const failed = yield* Effect.flip(store.commit({
        before: current,
        after: bump(current, { metadata: { step: 2 } }),
        events: [event(tenant.id, aggregate.agent.id, { n: 3 })],
        idempotency: IdempotencyRecord.make({ tenantId: tenant.id, key: "taken", operation: "op", response: null, createdAt: 0 })
      }))
      assert.strictEqual(failed._tag, "DuplicateKey")
      assert.deepStrictEqual(Option.getOrThrow(yield* store.load(aggregate.agent.id)), current)
      assert.deepStrictEqual((yield* eventsOf(tenant.id)).slice(before.length), written)
    }).pipe(Effect.provide(withEngine)))

  it.effect("log commits: events, snapshots, on-demand prices and the key's record are one write; a taken key writes nothing", () =>
    Effect.gen(function*() {
      const { agent, at, idempotency, log, prices, tenant } = yield* logFixture
      const instanceType = `lc${unique()}.large`
      const record = IdempotencyRecord.make({ tenantId: tenant.id, key: "log-1", operation: "op", response: { kept: 2, eventIds: [] }, createdAt: 5 })
      const before = yield* eventsOf(tenant.id)
      const written = yield* log.commit({
        events: [event(tenant.id, agent.id, { n: 1 }), event(tenant.id, agent.id, { n: 2 })],
        snapshots: [reported(tenant.id, agent.id, at, 0.011), reported(tenant.id, agent.id, at + 1, 0.012)],
        onDemand: [OnDemandPrice.make({ instanceType, region: "us-east-1", price: 0.1, observedAt: at })],
        idempotency: record
      })
      assert.deepStrictEqual(written.map((e) => e.data), [{ n: 1 }, { n: 2 }])
      assert.isTrue(written[0]!.id < written[1]!.id && written[0]!.id > (before.at(-1)?.id ?? 0))
      assert.deepStrictEqual((yield* eventsOf(tenant.id)).slice(before.length), written)
      assert.deepStrictEqual((yield* snapshotsAt(prices, at)).map((x) => [x.price, x.reporterAgentId]), [[0.011, agent.id], [0.012, agent.id]])
      assert.deepStrictEqual((yield* prices.onDemandPrices).filter((p) => p.instanceType === instanceType).map((p) => p.price), [0.1])
      // The record as given, with the ids of the events the commit wrote.
      const stored = Option.getOrThrow(yield* idempotency.get(tenant.id, "log-1"))
      assert.deepStrictEqual(stored, IdempotencyRecord.make({ ...record, response: { kept: 2, eventIds: written.map((e) => e.id) } }))

      // The same key again: DuplicateKey, and nothing of the second commit anywhere.
      const again = yield* Effect.flip(log.commit({
        events: [event(tenant.id, agent.id, { n: 3 })],
        snapshots: [reported(tenant.id, agent.id, at + 2, 0.013)],
        onDemand: [OnDemandPrice.make({ instanceType, region: "us-east-1", price: 0.2, observedAt: at })],
        idempotency: IdempotencyRecord.make({ ...record, response: { kept: 1, eventIds: [] } })
      }))
      assert.strictEqual(again._tag, "DuplicateKey")
      assert.strictEqual((again as { entity?: string }).entity, "idempotency key")
      assert.deepStrictEqual((yield* eventsOf(tenant.id)).slice(before.length), written)
      assert.strictEqual((yield* snapshotsAt(prices, at)).length, 2)
      assert.deepStrictEqual((yield* prices.onDemandPrices).filter((p) => p.instanceType === instanceType).map((p) => p.price), [0.1])
      assert.deepStrictEqual(Option.getOrThrow(yield* idempotency.get(tenant.id, "log-1")), stored)

      // Without a key: written, no record.
      const plain = yield* log.commit({ events: [event(tenant.id, null, { n: 4 })] })
      assert.strictEqual(plain.length, 1)
      assert.isTrue(plain[0]!.id > written[1]!.id)
    }).pipe(Effect.provide(withEngine)))

  it.effect("log commits made together are answered one by one: a taken key fails only its own", () =>
    Effect.gen(function*() {
      const { agent, at, idempotency, log, prices, tenant } = yield* logFixture
      const commitOf = (key: string, n: number) =>
        log.commit({
          events: [event(tenant.id, agent.id, { key, n })],
          snapshots: [reported(tenant.id, agent.id, at + n, 1 + n)],
          idempotency: IdempotencyRecord.make({ tenantId: tenant.id, key, operation: "op", response: { n, eventIds: [] }, createdAt: 0 })
        })
      yield* commitOf("together-taken", 0)
      // Distinct keys, a taken key and two twins sharing a fresh key, all at once.
      const keys = ["together-taken", ...Array.from({ length: 8 }, (_, i) => `together-${i}`), "together-twin", "together-twin"]
      const outcomes = yield* Effect.all(keys.map((key, i) => Effect.either(commitOf(key, i + 1))), { concurrency: "unbounded" })
      assert.strictEqual(Either.isLeft(outcomes[0]!) && outcomes[0].left._tag, "DuplicateKey")
      for (const outcome of outcomes.slice(1, 9)) assert.isTrue(Either.isRight(outcome))
      const twins = outcomes.slice(9)
      assert.strictEqual(twins.filter(Either.isRight).length, 1, "exactly one twin is written")
      assert.strictEqual(twins.filter((o) => Either.isLeft(o) && o.left._tag === "DuplicateKey").length, 1)
      // Each record names its own event; the snapshots are those of the commits written.
      for (const [i, outcome] of outcomes.entries()) {
        if (Either.isLeft(outcome)) continue
        const record = Option.getOrThrow(yield* idempotency.get(tenant.id, keys[i]!))
        assert.deepStrictEqual(record.response, { n: i + 1, eventIds: [outcome.right[0]!.id] })
        assert.deepStrictEqual(outcome.right[0]!.data, { key: keys[i], n: i + 1 })
      }
      const written = outcomes.flatMap((o, i) => (Either.isRight(o) ? [1 + i + 1] : []))
      assert.sameMembers((yield* snapshotsAt(prices, at)).map((x) => x.price), [1, ...written])
    }).pipe(Effect.provide(withEngine)))

  it.effect("a log commit the store cannot finish after writing its prices leaves nothing, and its key free", () =>
    Effect.gen(function*() {
      const { agent, at, idempotency, log, prices, tenant } = yield* logFixture
      const before = yield* eventsOf(tenant.id)
      // An event a store may not hold (an actor id longer than a column allows): a store that
      // refuses it does so after the snapshots, and must take them back.
      const huge = EventDraft.make({
        tenantId: tenant.id,
        agentId: agent.id,
        type: "PriceReported",
        at: 0,
        actor: Actor.make({ kind: "agent", id: "x".repeat(4096) }),
        data: {}
      })
      const record = IdempotencyRecord.make({ tenantId: tenant.id, key: "unfinished", operation: "op", response: { eventIds: [] }, createdAt: 0 })
      const outcome = yield* Effect.either(log.commit({ events: [huge], snapshots: [reported(tenant.id, agent.id, at, 0.5)], idempotency: record }))
      if (Either.isLeft(outcome)) {
        assert.strictEqual(outcome.left._tag, "StoreError")
        assert.deepStrictEqual(yield* snapshotsAt(prices, at), [])
        assert.deepStrictEqual((yield* eventsOf(tenant.id)).slice(before.length), [])
        assert.isTrue(Option.isNone(yield* idempotency.get(tenant.id, "unfinished")))
        // The key was not taken: the request can be made again.
        const retried = yield* log.commit({ events: [event(tenant.id, agent.id, {})], snapshots: [reported(tenant.id, agent.id, at, 0.5)], idempotency: record })
        assert.strictEqual(retried.length, 1)
      } else {
        // A store that holds it wrote all of it.
        assert.strictEqual((yield* snapshotsAt(prices, at)).length, 1)
        assert.deepStrictEqual((yield* eventsOf(tenant.id)).slice(before.length), outcome.right)
      }
      assert.strictEqual((yield* snapshotsAt(prices, at)).length, 1)
      assert.isTrue(Option.isSome(yield* idempotency.get(tenant.id, "unfinished")))
    }).pipe(Effect.provide(withEngine)))

  it.effect("reads the event log by tenant, agent and id", () =>
    Effect.gen(function*() {
      const a = yield* fixture
      const b = yield* fixture
      const log = yield* EventLog
      const appended = yield* log.append([event(a.tenant.id, null, { x: 1 }), event(b.tenant.id, null, { x: 2 })])
      assert.strictEqual(appended.length, 2)
      const ofA = yield* eventsOf(a.tenant.id)
      assert.isTrue(ofA.every((e) => e.tenantId === a.tenant.id))
      assert.isTrue(ofA.some((e) => e.id === appended[0]!.id))
      assert.isFalse(ofA.some((e) => e.id === appended[1]!.id))
      const ids = ofA.map((e) => e.id)
      assert.deepStrictEqual(ids, [...ids].sort((x, y) => x - y))
      const page = yield* log.read({ tenantId: a.tenant.id, afterId: ids[0]!, limit: 2 })
      assert.deepStrictEqual(page.map((e) => e.id), ids.slice(1, 3))
      const ofAgent = yield* log.read({ tenantId: a.tenant.id, afterId: 0, limit: 100, agentId: a.agent.id })
      assert.isTrue(ofAgent.length > 0 && ofAgent.every((e) => e.agentId === a.agent.id))
      const all = yield* log.read({ tenantId: null, afterId: appended[0]!.id - 1, limit: 2 })
      assert.deepStrictEqual(all.map((e) => e.id), appended.map((e) => e.id))
      // By type: only those types, in id order, paged past the others.
      const registered = yield* log.read({ tenantId: a.tenant.id, afterId: 0, limit: 100, types: ["AgentRegistered"] })
      assert.isTrue(registered.length > 0 && registered.every((e) => e.type === "AgentRegistered"))
      const mixed = yield* log.read({ tenantId: a.tenant.id, afterId: 0, limit: 100, types: ["ConfigChanged", "AgentRegistered"] })
      assert.deepStrictEqual(mixed.map((e) => e.id), ofA.filter((e) => e.type === "ConfigChanged" || e.type === "AgentRegistered").map((e) => e.id))
      const afterFirst = yield* log.read({ tenantId: a.tenant.id, afterId: registered[0]!.id, limit: 1, types: ["ConfigChanged"] })
      assert.deepStrictEqual(afterFirst.map((e) => e.id), [appended[0]!.id])
      assert.deepStrictEqual(yield* log.read({ tenantId: a.tenant.id, afterId: 0, limit: 100, types: [] }), [])
    }).pipe(Effect.provide(withEngine)))
}

/**
 * Registers these tests alone, in a describe block of their own, on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(`event log conformance: ${name}`, storeLayer, options, tests)
