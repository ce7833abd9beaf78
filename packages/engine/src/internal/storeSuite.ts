import { assert, layer } from "@effect/vitest"
import { Clock, Duration, Effect, Either, Exit, type Layer, Option, TestClock } from "effect"
import { Agent, Flow } from "../Agent.js"
import { AgentStore } from "../AgentStore.js"
import { Command, CommandResult } from "../Command.js"
import { Actor, EventDraft } from "../DomainEvent.js"
import * as Engine from "../Engine.js"
import { EventLog } from "../EventLog.js"
import { IdempotencyRecord, IdempotencyStore } from "../IdempotencyStore.js"
import { JobLease, JobRun } from "../JobLease.js"
import { AgentId, type CommandId, FlowId, InstanceId, type TenantId } from "../Ids.js"
import { Instance } from "../Instance.js"
import * as Pool from "../Pool.js"
import * as PriceService from "../PriceService.js"
import { bulkFromRecords, PriceStore, type PriceStoreService } from "../PriceStore.js"
import { canonicalPoints, consolidate, consolidatedPoints } from "./consolidation.js"
import {
  CanonicalPrice,
  ConsolidatedPrice,
  ConsolidationRun,
  OnDemandPrice,
  PriceFeatures,
  type PriceSnapshot,
  SnapshotDraft
} from "../Pricing.js"
import type { AgentAggregate } from "../StateMachine.js"
import { defaultLimits, Tenant, TenantToken } from "../Tenant.js"
import { TenantStore } from "../TenantStore.js"

/**
 * Options of the suite.
 *
 * @since 0.1.0
 */
export interface SuiteOptions {
  /** Per-test timeout (default 60 seconds: database adapters are slower). */
  readonly timeout?: Duration.DurationInput | undefined
}

const LEASE_SECONDS = 30
const pool = Pool.make("t3.medium", "us-east-1a")
const unique = () => globalThis.crypto.randomUUID().slice(0, 12)
const hash = () => (globalThis.crypto.randomUUID() + globalThis.crypto.randomUUID()).replaceAll("-", "")
const ok = (cloudInstanceId: string | null = null) =>
  CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })

const withEngine = Engine.layer({ leaseSeconds: LEASE_SECONDS })

/** A fresh tenant and one registered agent, loaded back from the store. */
const fixture = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
  const registered = yield* engine.register(tenant.id, {
    logicalAgentId: `agent-${unique()}`,
    cloudInstanceId: `i-${unique()}`,
    pool,
    metadata: { hostname: "suite" }
  })
  const store = yield* AgentStore
  const aggregate = Option.getOrThrow(yield* store.load(registered.agent.id))
  return { engine, store, tenant, agent: registered.agent, aggregate }
})

const event = (tenantId: TenantId, agentId: AgentId | null, data: Record<string, unknown>) =>
  EventDraft.make({ tenantId, agentId, type: "ConfigChanged", at: 0, actor: Actor.make({ kind: "system", id: null }), data })

const bump = (aggregate: AgentAggregate, patch: Partial<Agent> = {}): AgentAggregate => ({
  ...aggregate,
  agent: Agent.make({ ...aggregate.agent, ...patch, version: aggregate.agent.version + 1 })
})

const makeCommand = (aggregate: AgentAggregate, args: { priority: number; createdAt: number; seq: number }) => {
  const id = `cmd-${unique()}` as CommandId
  return Command.make({
    id,
    requestId: `req-${id}`,
    tenantId: aggregate.agent.tenantId,
    agentId: aggregate.agent.id,
    type: "APPLY_CONFIG",
    status: "pending",
    priority: args.priority,
    flowId: null,
    instanceId: null,
    params: { order: `${args.priority}/${args.createdAt}` },
    createdAt: args.createdAt,
    notBefore: args.createdAt,
    expiresAt: null,
    deliveredAt: null,
    leaseExpiresAt: null,
    deliveries: 0,
    completedAt: null,
    result: null,
    seq: args.seq
  })
}

const replicaOf = (aggregate: AgentAggregate, n: number) =>
  Instance.make({
    id: InstanceId.make(`inst-${unique()}`),
    agentId: aggregate.agent.id,
    cloudInstanceId: `i-r${n}-${unique()}`,
    pool,
    lifecycle: "spot",
    role: "REPLICA",
    roleHint: "replica",
    launchCommandId: null,
    launchRequestedAt: 0,
    launchConfirmedAt: 0,
    promotedAt: null,
    demotedAt: null,
    terminatedAt: null,
    hourlyPrice: 0.0123,
    createdAt: 0
  })

/** A time of its own for a test's price snapshots (the store may be shared). */
const logTime = () => 1_000_000_000 + Math.floor(Math.random() * 1_000_000) * 100

/** An agent's snapshot observed at `at`. */
const reported = (tenantId: TenantId, agentId: AgentId, at: number, price: number) =>
  SnapshotDraft.make({ tenantId, pool, price, observedAt: at, reporterAgentId: agentId, reporterRole: "PRIMARY", source: "agent", receivedAt: at })

/** The snapshots of `pool` observed in the 100 ms from `at`, in append order. */
const snapshotsAt = (prices: PriceStoreService, at: number) => prices.snapshots({ from: at, to: at + 100, pools: [pool] })

const eventsOf = (tenantId: TenantId) =>
  Effect.flatMap(EventLog, (log) => log.read({ tenantId, afterId: 0, limit: 10_000 }))

/**
 * Registers the conformance tests for a store layer.
 *
 * @since 0.1.0
 */
export const suite = <E>(
  name: string,
  storeLayer: Layer.Layer<AgentStore | EventLog | IdempotencyStore | TenantStore | PriceStore, E>,
  options: SuiteOptions = {}
): void =>
  layer(storeLayer, { timeout: options.timeout ?? Duration.seconds(60) })(`store conformance: ${name}`, (it) => {
    it.effect("stores a new agent with its PRIMARY and finds it by every key", () =>
      Effect.gen(function*() {
        const { agent, aggregate, store, tenant } = yield* fixture
        assert.strictEqual(aggregate.agent.logicalAgentId, agent.logicalAgentId)
        assert.strictEqual(aggregate.agent.tenantId, tenant.id)
        assert.deepStrictEqual(aggregate.agent.metadata, { hostname: "suite" })
        assert.strictEqual(aggregate.instances.length, 1)
        assert.strictEqual(aggregate.instances[0]!.role, "PRIMARY")
        assert.strictEqual(aggregate.instances[0]!.pool, pool)
        const byLogical = yield* store.findByLogicalId(tenant.id, agent.logicalAgentId)
        assert.strictEqual(Option.getOrThrow(byLogical).agent.id, agent.id)
        const byCloud = yield* store.findByCloudInstanceId(tenant.id, aggregate.instances[0]!.cloudInstanceId!)
        assert.deepStrictEqual(byCloud, Option.some(agent.id))
        const listed = yield* store.list(tenant.id)
        assert.deepStrictEqual(listed.map((a) => a.id), [agent.id])
        assert.strictEqual(yield* store.countAgents(tenant.id), 1)
        assert.isTrue(Option.isNone(yield* store.load(AgentId.make(`agent-missing-${unique()}`))))
      }).pipe(Effect.provide(withEngine)))

    it.effect("round-trips instances and commands with every field", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* fixture
        const replica = replicaOf(aggregate, 1)
        const command = makeCommand(aggregate, { priority: 75, createdAt: 5, seq: 1 })
        const after = { ...bump(aggregate), instances: [...aggregate.instances, replica], commands: [command] }
        yield* store.commit({ before: aggregate, after, events: [] })
        const loaded = Option.getOrThrow(yield* store.load(aggregate.agent.id))
        assert.deepStrictEqual(loaded.agent, after.agent)
        assert.strictEqual(loaded.instances.length, 2)
        assert.deepStrictEqual(loaded.instances.find((i) => i.id === replica.id), replica)
        assert.deepStrictEqual(loaded.commands, [command])
      }).pipe(Effect.provide(withEngine)))

    it.effect("rejects a stale write with VersionConflict and writes nothing", () =>
      Effect.gen(function*() {
        const { agent, aggregate, engine, store, tenant } = yield* fixture
        yield* engine.updateConfig(tenant.id, agent.id, { autoTerminate: false })
        const current = Option.getOrThrow(yield* store.load(agent.id))
        const eventsBefore = (yield* eventsOf(tenant.id)).length
        const stale = yield* Effect.flip(
          store.commit({ before: aggregate, after: bump(aggregate, { metadata: { stale: true } }), events: [event(tenant.id, agent.id, {})] })
        )
        assert.strictEqual(stale._tag, "VersionConflict")
        assert.deepStrictEqual(Option.getOrThrow(yield* store.load(agent.id)), current)
        assert.strictEqual((yield* eventsOf(tenant.id)).length, eventsBefore)
      }).pipe(Effect.provide(withEngine)))

    it.effect("creating the same logical agent twice fails with DuplicateKey", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* fixture
        const twin: AgentAggregate = {
          agent: Agent.make({ ...aggregate.agent, id: AgentId.make(`agent-${unique()}`), version: 1 }),
          instances: [],
          commands: []
        }
        const error = yield* Effect.flip(store.commit({ before: null, after: twin, events: [] }))
        assert.strictEqual(error._tag, "DuplicateKey")
        assert.isTrue(Option.isNone(yield* store.load(twin.agent.id)))
      }).pipe(Effect.provide(withEngine)))

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
        const { agent, tenant } = yield* fixture
        const log = yield* EventLog
        const prices = yield* PriceStore
        const idempotency = yield* IdempotencyStore
        const at = logTime()
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
        const { agent, tenant } = yield* fixture
        const log = yield* EventLog
        const prices = yield* PriceStore
        const idempotency = yield* IdempotencyStore
        const at = logTime()
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
        const { agent, tenant } = yield* fixture
        const log = yield* EventLog
        const prices = yield* PriceStore
        const idempotency = yield* IdempotencyStore
        const at = logTime()
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

    it.effect("delivers commands in priority order, then by age", () =>
      Effect.gen(function*() {
        const { agent, aggregate, engine, store, tenant } = yield* fixture
        const commands = [
          makeCommand(aggregate, { priority: 10, createdAt: 0, seq: 1 }),
          makeCommand(aggregate, { priority: 100, createdAt: 3, seq: 2 }),
          makeCommand(aggregate, { priority: 75, createdAt: 1, seq: 3 }),
          makeCommand(aggregate, { priority: 100, createdAt: 2, seq: 4 }),
          makeCommand(aggregate, { priority: 25, createdAt: 2, seq: 5 }),
          makeCommand(aggregate, { priority: 75, createdAt: 1, seq: 6 })
        ]
        yield* store.commit({ before: aggregate, after: { ...bump(aggregate), commands }, events: [] })
        yield* TestClock.adjust("10 seconds")
        const first = yield* engine.pollCommands(tenant.id, agent.id, { limit: 4 })
        const rest = yield* engine.pollCommands(tenant.id, agent.id, { limit: 10 })
        assert.deepStrictEqual(
          [...first, ...rest].map((c) => c.params.order),
          ["100/2", "100/3", "75/1", "75/1", "25/2", "10/0"]
        )
        assert.deepStrictEqual([...first, ...rest].map((c) => c.id), [commands[3], commands[1], commands[2], commands[5], commands[4], commands[0]].map((c) => c!.id))
        assert.isTrue([...first, ...rest].every((c) => c.status === "delivered" && c.deliveries === 1))
        assert.deepStrictEqual(yield* engine.pollCommands(tenant.id, agent.id), [])
      }).pipe(Effect.provide(withEngine)))

    it.effect("a lease that runs out sends the command back to pending", () =>
      Effect.gen(function*() {
        const { agent, engine, tenant } = yield* fixture
        yield* engine.requestReplica(tenant.id, agent.id, {})
        const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
        assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
        yield* TestClock.adjust(Duration.seconds(LEASE_SECONDS - 1))
        assert.deepStrictEqual(yield* engine.pollCommands(tenant.id, agent.id), [])
        yield* TestClock.adjust("2 seconds")
        const [again] = yield* engine.pollCommands(tenant.id, agent.id)
        assert.strictEqual(again!.id, launch!.id)
        assert.strictEqual(again!.requestId, launch!.requestId)
        assert.strictEqual(again!.deliveries, 2)
        const events = yield* eventsOf(tenant.id)
        assert.isTrue(events.some((e) => e.type === "CommandRedelivered" && e.data.commandId === launch!.id))
        // The result of the redelivered command is taken once.
        yield* engine.reportResult(tenant.id, agent.id, { commandId: launch!.id, result: ok(`i-${unique()}`) })
        const view = yield* engine.getAgent(tenant.id, agent.id)
        assert.strictEqual(view.commands.find((c) => c.id === launch!.id)!.status, "succeeded")
        assert.strictEqual(view.instances.filter((i) => i.role === "REPLICA").length, 1)
      }).pipe(Effect.provide(withEngine)))

    it.effect("poll peek (optional): false only with no open command and no notice, None for unknown or foreign agents", () =>
      Effect.gen(function*() {
        const { agent, engine, store, tenant } = yield* fixture
        const peek = store.peekPoll
        if (peek === undefined) return
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        assert.deepStrictEqual(yield* peek(tenant.id, agent.id), Option.some(false))
        assert.isTrue(Option.isNone(yield* peek(other.id, agent.id)))
        assert.isTrue(Option.isNone(yield* peek(tenant.id, AgentId.make(`agent-missing-${unique()}`))))
        // A pending command, then the same command delivered (its lease may run out): busy.
        yield* engine.requestReplica(tenant.id, agent.id, {})
        assert.deepStrictEqual(yield* peek(tenant.id, agent.id), Option.some(true))
        const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
        assert.deepStrictEqual(yield* peek(tenant.id, agent.id), Option.some(true))
        // Done: quiet again, and a poll through the engine delivers nothing.
        yield* engine.reportResult(tenant.id, agent.id, { commandId: launch!.id, result: ok(`i-${unique()}`) })
        assert.deepStrictEqual(yield* peek(tenant.id, agent.id), Option.some(false))
        assert.deepStrictEqual(yield* engine.pollCommands(tenant.id, agent.id), [])
        assert.strictEqual((yield* Effect.flip(engine.pollCommands(other.id, agent.id)))._tag, "AgentNotFound")
        // A notice makes a poll worth the full path (its deadline is checked there).
        const primary = (yield* engine.getAgent(tenant.id, agent.id)).instances.find((i) => i.role === "PRIMARY")!
        yield* engine.notice(tenant.id, agent.id, { kind: "rebalance", cloudInstanceId: primary.cloudInstanceId! })
        assert.deepStrictEqual(yield* peek(tenant.id, agent.id), Option.some(true))
      }).pipe(Effect.provide(withEngine)))

    it.effect("busy includes an open flow or a DEGRADED agent without any open command (peek and busy agents, both optional)", () =>
      Effect.gen(function*() {
        const { aggregate, store, tenant } = yield* fixture
        if (store.peekPoll === undefined && store.busyAgents === undefined) return
        const busy = Effect.gen(function*() {
          const peeked = store.peekPoll === undefined ? undefined : Option.getOrThrow(yield* store.peekPoll(tenant.id, aggregate.agent.id))
          const listed = store.busyAgents === undefined ? undefined : (yield* store.busyAgents(tenant.id)).some((r) => r.agentId === aggregate.agent.id)
          return [peeked, listed].filter((x) => x !== undefined)
        })
        assert.isTrue((yield* busy).every((b) => b === false))
        // A flow waiting on nothing the agent holds (the sweep closes it at its TTL).
        const flowing = bump(aggregate, {
          flow: Flow.make({
            id: FlowId.make(`flow-${unique()}`),
            kind: "emergency",
            priority: 100,
            startedAt: 0,
            targetInstanceId: null,
            promoteOnArrival: true,
            fallbackPools: []
          })
        })
        yield* store.commit({ before: aggregate, after: flowing, events: [] })
        assert.isTrue((yield* busy).every((b) => b === true))
        // DEGRADED, no flow: the sweep starts its recovery.
        const degraded = bump(flowing, { flow: null, degraded: true })
        yield* store.commit({ before: flowing, after: degraded, events: [] })
        assert.isTrue((yield* busy).every((b) => b === true))
      }).pipe(Effect.provide(withEngine)))

    it.effect("owners of cloud ids (optional): one read for many ids, within the tenant, unknown ids left out", () =>
      Effect.gen(function*() {
        const { agent, aggregate, engine, store, tenant } = yield* fixture
        const ownersOf = store.ownersOf
        if (ownersOf === undefined) return
        const second = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
        const first = aggregate.instances[0]!.cloudInstanceId!
        const secondId = second.instance.cloudInstanceId!
        const owners = yield* ownersOf(tenant.id, [first, secondId, `i-unknown-${unique()}`])
        assert.deepStrictEqual([...owners].sort(), [[first, agent.id], [secondId, second.agent.id]].sort())
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        assert.strictEqual((yield* ownersOf(other.id, [first, secondId])).size, 0)
        assert.strictEqual((yield* ownersOf(tenant.id, [])).size, 0)
      }).pipe(Effect.provide(withEngine)))

    it.effect("live instances (optional): the PRIMARY and REPLICAs with their pools, None for unknown or foreign agents", () =>
      Effect.gen(function*() {
        const { agent, engine, store, tenant } = yield* fixture
        const live = store.liveInstances
        if (live === undefined) return
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        const view = yield* engine.getAgent(tenant.id, agent.id)
        const expected = (v: typeof view) =>
          v.instances.filter((i) => i.role === "PRIMARY" || i.role === "REPLICA")
            .map((i) => ({ role: i.role, cloudInstanceId: i.cloudInstanceId, pool: i.pool }))
            .sort((a, b) => a.role.localeCompare(b.role))
        const sorted = (found: Option.Option<ReadonlyArray<{ readonly role: string }>>) =>
          [...Option.getOrThrow(found)].sort((a, b) => a.role.localeCompare(b.role))
        assert.deepStrictEqual(sorted(yield* live(tenant.id, agent.id)), expected(view))
        assert.strictEqual(expected(view).length, 1)
        assert.isTrue(Option.isNone(yield* live(other.id, agent.id)))
        assert.isTrue(Option.isNone(yield* live(tenant.id, AgentId.make(`agent-missing-${unique()}`))))
        // A replica once its launch is confirmed; a LAUNCHING instance is not live yet.
        yield* engine.requestReplica(tenant.id, agent.id, {})
        const launching = yield* engine.getAgent(tenant.id, agent.id)
        assert.deepStrictEqual(sorted(yield* live(tenant.id, agent.id)), expected(launching))
        const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
        yield* engine.reportResult(tenant.id, agent.id, { commandId: launch!.id, result: ok(`i-${unique()}`) })
        const withReplica = yield* engine.getAgent(tenant.id, agent.id)
        assert.deepStrictEqual(sorted(yield* live(tenant.id, agent.id)), expected(withReplica))
        assert.strictEqual(expected(withReplica).length, 2)
      }).pipe(Effect.provide(withEngine)))

    it.effect("instances in bulk (optional): by tenant, role and termination time, paged by instance id", () =>
      Effect.gen(function*() {
        const { aggregate, engine, store, tenant } = yield* fixture
        const listInstances = store.listInstances
        if (listInstances === undefined) return
        const zombie = Instance.make({ ...replicaOf(aggregate, 1), role: "ZOMBIE", roleHint: null, demotedAt: 10 })
        const terminated = Instance.make({ ...replicaOf(aggregate, 2), role: "TERMINATED", roleHint: null, terminatedAt: 100 })
        const replica = replicaOf(aggregate, 3)
        yield* store.commit({
          before: aggregate,
          after: { ...bump(aggregate), instances: [...aggregate.instances, zombie, terminated, replica] },
          events: []
        })
        const second = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
        const secondPrimary = Option.getOrThrow(yield* store.load(second.agent.id)).instances[0]!
        const all = [...aggregate.instances, zombie, terminated, replica, secondPrimary].sort((a, b) => (a.id < b.id ? -1 : 1))
        const ids = (found: ReadonlyArray<{ readonly instance: Instance }>) => found.map((f) => f.instance.id)
        // Every field round-trips, with the agent's tenant.
        const listed = yield* listInstances(tenant.id)
        assert.deepStrictEqual(listed.map((f) => f.instance), all)
        assert.isTrue(listed.every((f) => f.tenantId === tenant.id))
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { roles: ["ZOMBIE"] })), [zombie.id])
        assert.deepStrictEqual(
          ids(yield* listInstances(tenant.id, { roles: ["ZOMBIE", "TERMINATED"] })),
          [zombie.id, terminated.id].sort()
        )
        // Terminated at or before the time: left out; after it: kept.
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { notTerminatedBy: 100 })), all.filter((i) => i !== terminated).map((i) => i.id))
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { notTerminatedBy: 99 })), all.map((i) => i.id))
        // Keyset pages.
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { limit: 2 })), all.slice(0, 2).map((i) => i.id))
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { afterId: all[1]!.id })), all.slice(2).map((i) => i.id))
        // Another tenant sees none of them; all tenants (null) see them with their tenant.
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        assert.deepStrictEqual(yield* listInstances(other.id), [])
        const everywhere = (yield* listInstances(null, { roles: ["ZOMBIE"] })).filter((f) => f.instance.id === zombie.id)
        assert.deepStrictEqual(everywhere, [{ tenantId: tenant.id, instance: zombie }])
      }).pipe(Effect.provide(withEngine)))

    it.effect("instances in bulk (optional): those that may run after a time, and the unreconciled ones", () =>
      Effect.gen(function*() {
        const { aggregate, engine, store, tenant } = yield* fixture
        const listInstances = store.listInstances
        if (listInstances === undefined) return
        // Retired, not seen gone (unreconciled); retired and seen gone at 250; a launch given up
        // before it had a cloud id; a launch in flight; a ZOMBIE (kept running, wanted).
        const leaked = Instance.make({ ...replicaOf(aggregate, 1), role: "TERMINATED", roleHint: null, terminatedAt: 100 })
        const gone = Instance.make({ ...replicaOf(aggregate, 2), role: "TERMINATED", roleHint: null, terminatedAt: 200, terminationConfirmedAt: 250 })
        const givenUp = Instance.make({
          ...replicaOf(aggregate, 3),
          cloudInstanceId: null,
          role: "TERMINATED",
          launchConfirmedAt: null,
          terminatedAt: 300
        })
        const launching = Instance.make({ ...replicaOf(aggregate, 4), cloudInstanceId: null, role: "LAUNCHING", launchConfirmedAt: null })
        const zombie = Instance.make({ ...replicaOf(aggregate, 5), role: "ZOMBIE", roleHint: null, demotedAt: 10 })
        yield* store.commit({
          before: aggregate,
          after: { ...bump(aggregate), instances: [...aggregate.instances, leaked, gone, givenUp, launching, zombie] },
          events: []
        })
        const all = [...aggregate.instances, leaked, gone, givenUp, launching, zombie].sort((a, b) => (a.id < b.id ? -1 : 1))
        const ids = (found: ReadonlyArray<{ readonly instance: Instance }>) => found.map((f) => f.instance.id)
        const idsOf = (wanted: ReadonlyArray<Instance>) => all.filter((i) => wanted.includes(i)).map((i) => i.id)
        // Running after a time: launched with a cloud id, end not seen by then (the leaked one too).
        const primary = aggregate.instances[0]!
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { runningAfter: 249 })), idsOf([primary, leaked, gone, zombie]))
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { runningAfter: 250 })), idsOf([primary, leaked, zombie]))
        // Unreconciled: only the retired instance not seen gone; `false` is the rest.
        assert.deepStrictEqual(yield* listInstances(tenant.id, { unreconciled: true }), [{ tenantId: tenant.id, instance: leaked }])
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { unreconciled: false })), idsOf(all.filter((i) => i !== leaked)))
        // With the other filters and pages.
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { unreconciled: true, roles: ["ZOMBIE"] })), [])
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { unreconciled: true, afterId: leaked.id })), [])
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { runningAfter: 250, limit: 1 })), idsOf([primary, leaked, zombie]).slice(0, 1))
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        assert.deepStrictEqual(yield* listInstances(other.id, { unreconciled: true }), [])
        const everywhere = (yield* listInstances(null, { unreconciled: true })).filter((f) => f.tenantId === tenant.id)
        assert.deepStrictEqual(everywhere, [{ tenantId: tenant.id, instance: leaked }])
        // Seen gone: no longer unreconciled.
        const stored = Option.getOrThrow(yield* store.load(aggregate.agent.id))
        const confirmed = Instance.make({ ...leaked, terminationConfirmedAt: 400 })
        yield* store.commit({
          before: stored,
          after: { ...bump(stored), instances: stored.instances.map((i) => (i.id === leaked.id ? confirmed : i)) },
          events: []
        })
        assert.deepStrictEqual(yield* listInstances(tenant.id, { unreconciled: true }), [])
        assert.deepStrictEqual(ids(yield* listInstances(tenant.id, { runningAfter: 400 })), idsOf([primary, zombie]))
      }).pipe(Effect.provide(withEngine)))

    it.effect("busy agents (optional): those with a notice or an open command, with their version, paged by id", () =>
      Effect.gen(function*() {
        const busyAgents = (yield* AgentStore).busyAgents
        if (busyAgents === undefined) return
        const engine = yield* Engine.Engine
        const store = yield* AgentStore
        const tenant = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        const ids: Array<AgentId> = []
        for (let n = 0; n < 3; n++) {
          const r = yield* engine.register(tenant.id, { logicalAgentId: `agent-${n}`, cloudInstanceId: `i-${unique()}`, pool })
          ids.push(r.agent.id)
        }
        const [commanded, noticed] = ids as [AgentId, AgentId, AgentId]
        assert.deepStrictEqual(yield* busyAgents(tenant.id), [])
        const refOf = (agentId: AgentId) =>
          Effect.map(store.load(agentId), (a) => ({ tenantId: tenant.id, agentId, version: Option.getOrThrow(a).agent.version }))
        // A pending command, then delivered; a notice.
        yield* engine.requestReplica(tenant.id, commanded, {})
        assert.deepStrictEqual(yield* busyAgents(tenant.id), [yield* refOf(commanded)])
        const [launch] = yield* engine.pollCommands(tenant.id, commanded)
        const primary = (yield* engine.getAgent(tenant.id, noticed)).instances.find((i) => i.role === "PRIMARY")!
        yield* engine.notice(tenant.id, noticed, { kind: "rebalance", cloudInstanceId: primary.cloudInstanceId! })
        const both = [yield* refOf(commanded), yield* refOf(noticed)].sort((a, b) => (a.agentId < b.agentId ? -1 : 1))
        assert.deepStrictEqual(yield* busyAgents(tenant.id), both)
        assert.deepStrictEqual(yield* busyAgents(tenant.id, { limit: 1 }), both.slice(0, 1))
        assert.deepStrictEqual(yield* busyAgents(tenant.id, { afterId: both[0]!.agentId }), both.slice(1))
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        assert.deepStrictEqual(yield* busyAgents(other.id), [])
        const everywhere = (yield* busyAgents(null)).filter((r) => r.tenantId === tenant.id)
        assert.deepStrictEqual(everywhere, both)
        // Done: the commanded agent is quiet again.
        yield* engine.reportResult(tenant.id, commanded, { commandId: launch!.id, result: ok(`i-${unique()}`) })
        assert.deepStrictEqual((yield* busyAgents(tenant.id)).map((r) => r.agentId), [noticed])
      }).pipe(Effect.provide(withEngine)))

    it.effect("heartbeats do not bump the version and never move back", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* fixture
        // The clock is shared by the tests of one layer: work relative to now.
        const now = yield* Clock.currentTimeMillis
        const id = aggregate.agent.id
        const tenantId = aggregate.agent.tenantId
        const touched = yield* store.touchHeartbeat(tenantId, id, now + 5_000)
        assert.deepStrictEqual(Option.getOrThrow(touched), {
          liveness: aggregate.agent.liveness,
          configVersion: aggregate.agent.configVersion
        })
        yield* store.touchHeartbeat(tenantId, id, now + 3_000)
        const loaded = Option.getOrThrow(yield* store.load(id))
        assert.strictEqual(loaded.agent.lastHeartbeatAt, now + 5_000)
        assert.strictEqual(loaded.agent.version, aggregate.agent.version)
        // A commit based on an older read keeps the newer heartbeat.
        yield* store.commit({ before: aggregate, after: bump(aggregate), events: [] })
        assert.strictEqual(Option.getOrThrow(yield* store.load(id)).agent.lastHeartbeatAt, now + 5_000)
        assert.isTrue(Option.isNone(yield* store.touchHeartbeat(tenantId, AgentId.make(`agent-missing-${unique()}`), 1)))
      }).pipe(Effect.provide(withEngine)))

    it.effect("a heartbeat reports liveness and config version, and never touches another tenant's agent", () =>
      Effect.gen(function*() {
        const { aggregate, engine, store } = yield* fixture
        const now = yield* Clock.currentTimeMillis
        const id = aggregate.agent.id
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        // Another tenant's heartbeat: None, and nothing written.
        assert.isTrue(Option.isNone(yield* store.touchHeartbeat(other.id, id, now + 9_000)))
        assert.strictEqual(Option.getOrThrow(yield* store.load(id)).agent.lastHeartbeatAt, aggregate.agent.lastHeartbeatAt)
        // The touch reads the stored row, not a cached one: a committed change shows at once.
        const changed = bump(aggregate, { liveness: "offline", configVersion: aggregate.agent.configVersion + 1 })
        yield* store.commit({ before: aggregate, after: changed, events: [] })
        const touched = Option.getOrThrow(yield* store.touchHeartbeat(aggregate.agent.tenantId, id, now + 9_000))
        assert.deepStrictEqual(touched, { liveness: "offline", configVersion: aggregate.agent.configVersion + 1 })
        const loaded = Option.getOrThrow(yield* store.load(id)).agent
        assert.strictEqual(loaded.lastHeartbeatAt, now + 9_000)
        assert.strictEqual(loaded.version, changed.agent.version)
      }).pipe(Effect.provide(withEngine)))

    it.effect("heartbeats in batches (optional): each answered as alone, never another tenant's, never moving back", () =>
      Effect.gen(function*() {
        const { aggregate, engine, store, tenant } = yield* fixture
        const touchHeartbeats = store.touchHeartbeats
        if (touchHeartbeats === undefined) return
        const now = yield* Clock.currentTimeMillis
        const a = aggregate.agent
        const second = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
        const b = Option.getOrThrow(yield* store.load(second.agent.id))
        const offline = bump(b, { liveness: "offline", configVersion: b.agent.configVersion + 1 })
        yield* store.commit({ before: b, after: offline, events: [] })
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        const missing = AgentId.make(`agent-missing-${unique()}`)
        const touched = yield* touchHeartbeats([
          { tenantId: tenant.id, agentId: a.id },
          { tenantId: tenant.id, agentId: b.agent.id },
          { tenantId: other.id, agentId: a.id },
          { tenantId: tenant.id, agentId: missing },
          { tenantId: tenant.id, agentId: a.id }
        ], now + 7_000)
        const aTouch = Option.some({ liveness: a.liveness, configVersion: a.configVersion })
        assert.deepStrictEqual(touched, [
          aTouch,
          Option.some({ liveness: "offline" as const, configVersion: b.agent.configVersion + 1 }),
          Option.none(),
          Option.none(),
          aTouch
        ])
        const loaded = Option.getOrThrow(yield* store.load(a.id)).agent
        assert.strictEqual(loaded.lastHeartbeatAt, now + 7_000)
        assert.strictEqual(loaded.version, a.version)
        assert.strictEqual(Option.getOrThrow(yield* store.load(b.agent.id)).agent.lastHeartbeatAt, now + 7_000)
        // An older batch never moves the time back; an empty batch is answered empty.
        assert.deepStrictEqual(yield* touchHeartbeats([{ tenantId: tenant.id, agentId: a.id }], now + 6_000), [aTouch])
        assert.strictEqual(Option.getOrThrow(yield* store.load(a.id)).agent.lastHeartbeatAt, now + 7_000)
        assert.deepStrictEqual(yield* touchHeartbeats([], now + 8_000), [])
      }).pipe(Effect.provide(withEngine)))

    it.effect("engine heartbeats: a batch is answered as its heartbeats one by one", () =>
      Effect.gen(function*() {
        const { agent, engine, store, tenant } = yield* fixture
        const second = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
        const b = Option.getOrThrow(yield* store.load(second.agent.id))
        yield* store.commit({ before: b, after: bump(b, { liveness: "offline" }), events: [] })
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        const missing = AgentId.make(`agent-missing-${unique()}`)
        yield* TestClock.adjust("1 second")
        const answers = yield* engine.heartbeats([
          { tenantId: tenant.id, agentId: agent.id },
          { tenantId: tenant.id, agentId: b.agent.id },
          { tenantId: other.id, agentId: agent.id },
          { tenantId: tenant.id, agentId: missing }
        ])
        assert.strictEqual(answers.length, 4)
        const [first, back, foreign, unknown] = answers.map((e) => Either.isRight(e) ? { ...e.right } : { _tag: e.left._tag })
        assert.deepStrictEqual(first, { ...(yield* engine.heartbeat(tenant.id, agent.id)) })
        // The offline agent came back online through a commit, as a lone heartbeat brings it.
        assert.deepStrictEqual(back, { agentId: b.agent.id, liveness: "online", configVersion: b.agent.configVersion })
        const reloaded = Option.getOrThrow(yield* store.load(b.agent.id)).agent
        assert.strictEqual(reloaded.liveness, "online")
        assert.strictEqual(reloaded.version, b.agent.version + 2)
        assert.deepStrictEqual(foreign, { _tag: "AgentNotFound" })
        assert.deepStrictEqual(unknown, { _tag: "AgentNotFound" })
        assert.deepStrictEqual(yield* engine.heartbeats([]), [])
      }).pipe(Effect.provide(withEngine)))

    it.effect("engine heartbeat: one write while online, a commit only when it brings the agent back online", () =>
      Effect.gen(function*() {
        const { agent, aggregate, engine, store, tenant } = yield* fixture
        const configured = yield* engine.updateConfig(tenant.id, agent.id, { autoTerminate: !agent.config.autoTerminate })
        const beat = yield* engine.heartbeat(tenant.id, agent.id)
        assert.deepStrictEqual({ ...beat }, { agentId: agent.id, liveness: "online", configVersion: configured.agent.configVersion })
        // Online: the heartbeat writes no version and no event.
        const online = Option.getOrThrow(yield* store.load(agent.id))
        assert.strictEqual(online.agent.version, configured.agent.version)
        const countBefore = (yield* eventsOf(tenant.id)).length
        // Another tenant's token: 404 and nothing written.
        const other = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        const foreign = yield* Effect.flip(engine.heartbeat(other.id, agent.id))
        assert.strictEqual(foreign._tag, "AgentNotFound")
        // Offline: the heartbeat commits MarkOnline (an AgentOnline event, a new version).
        yield* store.commit({ before: online, after: bump(online, { liveness: "offline" }), events: [] })
        yield* TestClock.adjust("1 second")
        const back = yield* engine.heartbeat(tenant.id, agent.id)
        assert.strictEqual(back.liveness, "online")
        assert.strictEqual(back.configVersion, configured.agent.configVersion)
        const reloaded = Option.getOrThrow(yield* store.load(agent.id)).agent
        assert.strictEqual(reloaded.liveness, "online")
        assert.strictEqual(reloaded.version, online.agent.version + 2)
        const events = (yield* eventsOf(tenant.id)).slice(countBefore)
        assert.deepStrictEqual(events.map((e) => e.type), ["AgentOnline"])
        assert.isTrue(aggregate.agent.version < reloaded.version)
      }).pipe(Effect.provide(withEngine)))

    it.effect("lists agents by liveness and heartbeat age, paged by id", () =>
      Effect.gen(function*() {
        const engine = yield* Engine.Engine
        const store = yield* AgentStore
        const tenant = yield* engine.createTenant({ name: `suite-${unique()}`, tokenHash: hash() })
        const start = yield* Clock.currentTimeMillis
        const ids: Array<AgentId> = []
        for (let n = 0; n < 4; n++) {
          const r = yield* engine.register(tenant.id, { logicalAgentId: `agent-${n}`, cloudInstanceId: `i-${unique()}`, pool })
          ids.push(r.agent.id)
        }
        yield* TestClock.adjust("1 minute")
        yield* engine.heartbeat(tenant.id, ids[0]!)
        yield* engine.markOffline(tenant.id, ids[1]!)
        const sorted = [...ids].sort()
        assert.deepStrictEqual((yield* store.list(tenant.id)).map((a) => a.id), sorted)
        assert.deepStrictEqual((yield* store.list(tenant.id, { limit: 2 })).map((a) => a.id), sorted.slice(0, 2))
        assert.deepStrictEqual((yield* store.list(tenant.id, { afterId: sorted[1]! })).map((a) => a.id), sorted.slice(2))
        assert.deepStrictEqual((yield* store.list(tenant.id, { liveness: "offline" })).map((a) => a.id), [ids[1]])
        const stale = (yield* store.list(tenant.id, { heartbeatBefore: start + 30_000 })).map((a) => a.id)
        assert.deepStrictEqual([...stale].sort(), [ids[1]!, ids[2]!, ids[3]!].sort())
        yield* engine.updateConfig(tenant.id, ids[2]!, { autoSwitch: true })
        assert.deepStrictEqual((yield* store.list(tenant.id, { autoSwitch: true })).map((a) => a.id), [ids[2]])
        assert.deepStrictEqual((yield* store.list(tenant.id, { autoSwitch: false })).map((a) => a.id), sorted.filter((id) => id !== ids[2]))
      }).pipe(Effect.provide(withEngine)))

    it.effect("concurrent writers from one read: exactly one wins, one PRIMARY remains", () =>
      Effect.gen(function*() {
        const { aggregate, store } = yield* fixture
        const replicas = Array.from({ length: 12 }, (_, n) => replicaOf(aggregate, n))
        yield* store.commit({ before: aggregate, after: { ...bump(aggregate), instances: [...aggregate.instances, ...replicas] }, events: [] })
        const base = Option.getOrThrow(yield* store.load(aggregate.agent.id))
        const oldPrimary = base.instances.find((i) => i.role === "PRIMARY")!
        const exits = yield* Effect.all(
          replicas.map((replica) =>
            Effect.exit(store.commit({
              before: base,
              after: {
                ...bump(base),
                instances: base.instances.map((i) =>
                  i.id === replica.id
                    ? Instance.make({ ...i, role: "PRIMARY", promotedAt: 1 })
                    : i.id === oldPrimary.id
                    ? Instance.make({ ...i, role: "ZOMBIE", demotedAt: 1 })
                    : i
                )
              },
              events: [event(base.agent.tenantId, base.agent.id, { promoted: replica.id })]
            }))
          ),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
        const final = Option.getOrThrow(yield* store.load(aggregate.agent.id))
        assert.strictEqual(final.instances.filter((i) => i.role === "PRIMARY").length, 1)
        const promotedEvents = (yield* eventsOf(aggregate.agent.tenantId)).filter((e) => e.data.promoted !== undefined)
        assert.strictEqual(promotedEvents.length, 1)
      }).pipe(Effect.provide(withEngine)))

    it.effect("stores tenants and finds them only by a known token hash", () =>
      Effect.gen(function*() {
        const tenants = yield* TenantStore
        const id = `tenant-${unique()}` as TenantId
        const tenant = Tenant.make({ id, name: `t-${unique()}`, limits: defaultLimits, dryRun: false, createdAt: 7 })
        yield* tenants.create(tenant)
        assert.deepStrictEqual(Option.getOrThrow(yield* tenants.get(id)), tenant)
        const sameName = yield* Effect.flip(tenants.create(Tenant.make({ ...tenant, id: `tenant-${unique()}` as TenantId })))
        assert.strictEqual(sameName._tag, "DuplicateKey")
        const tokenHash = hash()
        yield* tenants.addToken(TenantToken.make({ tenantId: id, tokenHash, label: "ci", createdAt: 7 }))
        assert.deepStrictEqual(Option.getOrThrow(yield* tenants.findByTokenHash(tokenHash)), tenant)
        assert.isTrue(Option.isNone(yield* tenants.findByTokenHash(hash())))
        const dup = yield* Effect.flip(tenants.addToken(TenantToken.make({ tenantId: id, tokenHash, label: "again", createdAt: 8 })))
        assert.strictEqual(dup._tag, "DuplicateKey")
        const updated = Tenant.make({ ...tenant, dryRun: true })
        yield* tenants.update(updated)
        assert.isTrue(Option.getOrThrow(yield* tenants.get(id)).dryRun)
        assert.isTrue((yield* tenants.list).some((t) => t.id === id))
      }).pipe(Effect.provide(withEngine)))

    it.effect("a full replica promotion survives the store unchanged", () =>
      Effect.gen(function*() {
        const { agent, engine, store, tenant } = yield* fixture
        yield* engine.requestReplica(tenant.id, agent.id, {})
        const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
        const cloudId = `i-${unique()}`
        yield* engine.reportResult(tenant.id, agent.id, { commandId: launch!.id, result: ok(cloudId) })
        const replica = (yield* engine.getAgent(tenant.id, agent.id)).instances.find((i) => i.cloudInstanceId === cloudId)!
        yield* engine.promote(tenant.id, agent.id, replica.id)
        const [promote] = yield* engine.pollCommands(tenant.id, agent.id)
        const reported = yield* engine.reportResult(tenant.id, agent.id, { requestId: promote!.requestId, result: ok() })
        assert.strictEqual(reported.status, "succeeded")
        const final = Option.getOrThrow(yield* store.load(agent.id))
        assert.deepStrictEqual(
          final.instances.filter((i) => i.role === "PRIMARY").map((i) => i.cloudInstanceId),
          [cloudId]
        )
        assert.strictEqual(final.agent.flow, null)
        const types = (yield* eventsOf(tenant.id)).map((e) => e.type)
        assert.includeMembers(types, ["AgentRegistered", "CommandQueued", "CommandDelivered", "CommandSucceeded", "RoleChanged", "FlowFinished"])
      }).pipe(Effect.provide(withEngine)))
  })

const freshPool = () => Pool.make(`px${unique().replaceAll("-", "")}.large`, "us-east-1a")
const SLOT = 5 * 60 * 1000

const draft = (pool: Pool.PoolId, observedAt: number, price: number, source: "agent" | "backfill" = "agent") =>
  SnapshotDraft.make({
    tenantId: null,
    pool,
    price,
    observedAt,
    reporterAgentId: null,
    reporterRole: source === "agent" ? "PRIMARY" : null,
    source,
    receivedAt: observedAt + 1
  })

const point = (
  pool: Pool.PoolId,
  slot: number,
  price: number,
  source: "agent" | "interpolated" | "backfilled",
  runId = "run-a",
  snapshotsMerged = source === "agent" ? 1 : 0
) =>
  ConsolidatedPrice.make({
    pool,
    slotStart: slot * SLOT,
    price,
    source,
    confidence: source === "agent" ? 1 : source === "backfilled" ? 0.9 : 0.8,
    runId,
    snapshotsMerged
  })

const canonicalPoint = (pool: Pool.PoolId, slot: number, price: number, runId: string, rollingMean = price) =>
  CanonicalPrice.make({
    pool,
    slotStart: slot * SLOT,
    price,
    source: "agent",
    confidence: 1,
    runId,
    features: PriceFeatures.make({ rollingMean, volatility: 0.001, spreadToOnDemand: 0.6, notices: 1, interruptions: 0 })
  })

const runEntry = (id: string, startedAt: number, status: "running" | "succeeded" | "failed") =>
  ConsolidationRun.make({
    id,
    windowStart: startedAt - 12 * 3600_000,
    windowEnd: startedAt,
    fillPolicy: "step",
    status,
    startedAt,
    finishedAt: status === "running" ? null : startedAt + 1500,
    durationMillis: status === "running" ? null : 1500,
    pools: 3,
    snapshots: 100,
    duplicates: 5,
    agentPoints: 90,
    filled: 4,
    backfilled: 2,
    written: 96,
    canonical: 92,
    error: status === "failed" ? "boom" : null
  })

const ids = (xs: ReadonlyArray<PriceSnapshot>) => xs.map((s) => s.id)

/**
 * Registers the conformance tests of the `PriceStore` port (the price tiers, the run ledger
 * and on-demand prices). Every test uses fresh pools and run ids, so the store may be shared.
 *
 * @since 0.1.0
 */
export const priceSuite = <E>(name: string, storeLayer: Layer.Layer<PriceStore, E>, options: SuiteOptions = {}): void =>
  layer(storeLayer, { timeout: options.timeout ?? Duration.seconds(60) })(`price store conformance: ${name}`, (it) => {
    it.effect("appends snapshots in bulk and reads them back by pool, window and source, in append order", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const [p1, p2] = [freshPool(), freshPool()]
        const t = 1_000 * SLOT
        const appended = yield* store.appendSnapshots([
          draft(p1, t + 3, 0.2),
          draft(p2, t + 1, 0.3),
          draft(p1, t + 1, 0.21),
          draft(p1, t + SLOT, 0.22, "backfill"),
          draft(p1, t + 2 * SLOT, 0.23)
        ])
        assert.strictEqual(appended, 5)
        const all = yield* store.snapshots({ pools: [p1], from: t, to: t + 2 * SLOT })
        assert.deepStrictEqual(all.map((s) => [s.price, s.source, s.duplicate]), [[0.2, "agent", false], [0.21, "agent", false], [0.22, "backfill", false]])
        assert.isTrue(all[0]!.id < all[1]!.id && all[1]!.id < all[2]!.id)
        assert.deepStrictEqual(all[0]!.reporterRole, "PRIMARY")
        assert.strictEqual(all[0]!.receivedAt, t + 4)
        const agentOnly = yield* store.snapshots({ pools: [p1, p2], from: t, to: t + 3 * SLOT, source: "agent" })
        assert.deepStrictEqual(agentOnly.map((s) => s.price), [0.2, 0.3, 0.21, 0.23])
        const page = yield* store.snapshots({ pools: [p1, p2], from: t, to: t + 3 * SLOT, afterId: agentOnly[0]!.id, limit: 2 })
        assert.deepStrictEqual(page.map((s) => s.price), [0.3, 0.21])
        const pools = yield* store.snapshotPools({ from: t, to: t + 3 * SLOT })
        assert.includeMembers([...pools], [p1, p2])
        const backfillPools = yield* store.snapshotPools({ from: t, to: t + 3 * SLOT, source: "backfill" })
        assert.include([...backfillPools], p1)
        assert.notInclude([...backfillPools], p2)
      }))

    it.effect("flags duplicates without deleting them; flagging twice is counted once", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const pool = freshPool()
        yield* store.appendSnapshots([draft(pool, 10, 0.1), draft(pool, 20, 0.2), draft(pool, 30, 0.3)])
        const rows = yield* store.snapshots({ pools: [pool], from: 0, to: SLOT })
        assert.strictEqual(yield* store.flagDuplicates([rows[0]!.id, rows[2]!.id]), 2)
        assert.strictEqual(yield* store.flagDuplicates([rows[0]!.id]), 0)
        const after = yield* store.snapshots({ pools: [pool], from: 0, to: SLOT })
        assert.deepStrictEqual(ids(after), ids(rows))
        assert.deepStrictEqual(after.map((s) => s.duplicate), [true, false, true])
        assert.deepStrictEqual(after.map((s) => s.price), [0.1, 0.2, 0.3])
      }))

    it.effect("upserts consolidated points idempotently and never lowers confidence", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const pool = freshPool()
        const first = yield* store.upsertConsolidated([point(pool, 1, 0.1, "agent"), point(pool, 2, 0.1, "interpolated"), point(pool, 3, 0.3, "backfilled")])
        assert.deepStrictEqual(first, { inserted: 3, updated: 0, unchanged: 0, kept: 0 })
        // the same points from another run: nothing changes, run id included
        const again = yield* store.upsertConsolidated([point(pool, 1, 0.1, "agent", "run-b"), point(pool, 2, 0.1, "interpolated", "run-b")])
        assert.deepStrictEqual(again, { inserted: 0, updated: 0, unchanged: 2, kept: 0 })
        // a fill never overwrites a real point; interpolated never replaces backfilled
        const lower = yield* store.upsertConsolidated([point(pool, 1, 0.5, "interpolated", "run-c"), point(pool, 3, 0.5, "interpolated", "run-c")])
        assert.deepStrictEqual(lower, { inserted: 0, updated: 0, unchanged: 0, kept: 2 })
        // a late real point replaces a filled one; a changed real point replaces the old one
        const higher = yield* store.upsertConsolidated([point(pool, 2, 0.15, "agent", "run-d", 2), point(pool, 1, 0.11, "agent", "run-d")])
        assert.deepStrictEqual(higher, { inserted: 0, updated: 2, unchanged: 0, kept: 0 })
        const stored = yield* store.consolidated({ pool, from: 0, to: 10 * SLOT })
        assert.deepStrictEqual(stored.map((p) => [p.slotStart / SLOT, p.price, p.source, p.confidence, p.runId, p.snapshotsMerged]), [
          [1, 0.11, "agent", 1, "run-d", 1],
          [2, 0.15, "agent", 1, "run-d", 2],
          [3, 0.3, "backfilled", 0.9, "run-a", 0]
        ])
        const window = yield* store.consolidated({ pool, from: 2 * SLOT, to: 3 * SLOT })
        assert.deepStrictEqual(window.map((p) => p.slotStart / SLOT), [2])
      }))

    it.effect("upserts canonical points idempotently, features included", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const pool = freshPool()
        assert.deepStrictEqual(yield* store.upsertCanonical([canonicalPoint(pool, 1, 0.1, "a"), canonicalPoint(pool, 2, 0.2, "a")]), {
          inserted: 2,
          updated: 0,
          unchanged: 0,
          kept: 0
        })
        assert.deepStrictEqual(yield* store.upsertCanonical([canonicalPoint(pool, 1, 0.1, "b"), canonicalPoint(pool, 2, 0.2, "b", 0.19)]), {
          inserted: 0,
          updated: 1,
          unchanged: 1,
          kept: 0
        })
        const stored = yield* store.canonical({ pool, from: 0, to: 10 * SLOT })
        assert.deepStrictEqual(stored.map((p) => [p.slotStart / SLOT, p.runId, p.features.rollingMean]), [[1, "a", 0.1], [2, "b", 0.19]])
        assert.deepStrictEqual(stored[0]!.features, PriceFeatures.make({ rollingMean: 0.1, volatility: 0.001, spreadToOnDemand: 0.6, notices: 1, interruptions: 0 }))
      }))

    it.effect("the columnar path (bulk) reads and writes exactly what the record path does", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const bulk = store.bulk ?? bulkFromRecords(store)
        const [pa, pb] = [freshPool(), freshPool()].sort()
        const t = 2_000 * SLOT
        const replica = SnapshotDraft.make({ ...draft(pa!, t + 7, 0.9), reporterRole: "REPLICA" })
        yield* store.appendSnapshots([
          draft(pa!, t + 5, 0.2),
          replica,
          draft(pb!, t + SLOT + 1, 0.4),
          draft(pa!, t + 3 * SLOT + 2, 0.25),
          draft(pa!, t + 6 * SLOT, 0.3, "backfill"),
          draft(pa!, t + 9 * SLOT, 0.35, "backfill")
        ])
        const q = { pools: [pa!, pb!], from: t, to: t + 10 * SLOT }
        const read = yield* bulk.snapshotColumns(q)
        const viaRecords = yield* bulkFromRecords(store).snapshotColumns(q)
        const rows = (r: typeof read) =>
          Array.from({ length: r.agent.length }, (_, i) => [
            r.agentIds[i],
            r.agent.pools[r.agent.pool[i]!],
            r.agent.observedAt[i],
            r.agent.price[i],
            r.agent.role[i]
          ])
        assert.strictEqual(read.agent.length, 4)
        assert.deepStrictEqual(rows(read), rows(viaRecords))
        assert.deepStrictEqual([...read.backfill.entries()], [...viaRecords.backfill.entries()])
        assert.deepStrictEqual(read.backfill.get(pa!), [{ observedAt: t + 6 * SLOT, price: 0.3 }, { observedAt: t + 9 * SLOT, price: 0.35 }])

        const result = consolidate(read.agent, {
          from: t,
          to: t + 10 * SLOT,
          history: read.backfill,
          pools: [pa!, pb!],
          onDemand: new Map([[pa!, 0.5]])
        })
        assert.deepStrictEqual(result.duplicates.length, 1)
        const expectedConsolidated = consolidatedPoints(result, "bulk-1")
        const expectedCanonical = canonicalPoints(result, "bulk-1")
        const first = yield* bulk.upsertResult(result, "bulk-1")
        assert.deepStrictEqual(first, {
          consolidated: { inserted: expectedConsolidated.length, updated: 0, unchanged: 0, kept: 0 },
          canonical: { inserted: expectedCanonical.length, updated: 0, unchanged: 0, kept: 0 }
        })
        const readAll = Effect.gen(function*() {
          const c = [...(yield* store.consolidated({ pool: pa!, from: t, to: t + 10 * SLOT })), ...(yield* store.consolidated({ pool: pb!, from: t, to: t + 10 * SLOT }))]
          const k = [...(yield* store.canonical({ pool: pa!, from: t, to: t + 10 * SLOT })), ...(yield* store.canonical({ pool: pb!, from: t, to: t + 10 * SLOT }))]
          return { c, k }
        })
        const stored = yield* readAll
        assert.deepStrictEqual(stored.c, expectedConsolidated)
        assert.deepStrictEqual(stored.k, expectedCanonical)
        assert.deepStrictEqual(new Set(stored.c.map((p) => p.source)), new Set(["agent", "interpolated", "backfilled"]))

        // Repeating the write changes nothing, run id included.
        const again = yield* bulk.upsertResult(result, "bulk-2")
        assert.deepStrictEqual(again, {
          consolidated: { inserted: 0, updated: 0, unchanged: expectedConsolidated.length, kept: 0 },
          canonical: { inserted: 0, updated: 0, unchanged: expectedCanonical.length, kept: 0 }
        })
        assert.deepStrictEqual(yield* readAll, stored)

        // A real point where the result has a filled one is kept; a changed agent point is updated.
        const filled = expectedConsolidated.find((p) => p.source === "interpolated")!
        yield* store.upsertConsolidated([ConsolidatedPrice.make({ ...filled, source: "agent", confidence: 1, snapshotsMerged: 1, runId: "manual" })])
        const changed = expectedConsolidated.find((p) => p.pool === pb)!
        yield* store.upsertConsolidated([ConsolidatedPrice.make({ ...changed, price: 0.99, runId: "manual" })])
        const third = yield* bulk.upsertResult(result, "bulk-3")
        assert.deepStrictEqual(third.consolidated, { inserted: 0, updated: 1, unchanged: expectedConsolidated.length - 2, kept: 1 })
        const after = (yield* readAll).c
        assert.deepStrictEqual(after.find((p) => p.slotStart === filled.slotStart && p.pool === filled.pool)?.runId, "manual")
        assert.deepStrictEqual(after.find((p) => p.slotStart === changed.slotStart && p.pool === pb)?.price, changed.price)
        assert.deepStrictEqual(after.find((p) => p.slotStart === changed.slotStart && p.pool === pb)?.runId, "bulk-3")
      }))

    it.effect("keeps one on-demand price per instance type and region", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const type = `px${unique().replaceAll("-", "")}.large`
        yield* store.putOnDemandPrices([
          OnDemandPrice.make({ instanceType: type, region: "us-east-1", price: 0.3, observedAt: 1 }),
          OnDemandPrice.make({ instanceType: type, region: "eu-west-1", price: 0.34, observedAt: 1 })
        ])
        yield* store.putOnDemandPrices([OnDemandPrice.make({ instanceType: type, region: "us-east-1", price: 0.31, observedAt: 2 })])
        const mine = (yield* store.onDemandPrices).filter((p) => p.instanceType === type)
        assert.deepStrictEqual(mine.map((p) => [p.region, p.price, p.observedAt]), [["eu-west-1", 0.34, 1], ["us-east-1", 0.31, 2]])
      }))

    it.effect("records runs by id and lists the newest first", () =>
      Effect.gen(function*() {
        const store = yield* PriceStore
        const id = unique()
        const far = 4_000_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1000
        yield* store.recordRun(runEntry(`${id}-1`, far, "running"))
        yield* store.recordRun(runEntry(`${id}-2`, far + 10, "failed"))
        yield* store.recordRun(runEntry(`${id}-1`, far, "succeeded"))
        const runs = (yield* store.runs({ limit: 1000 })).filter((r) => r.id.startsWith(id))
        assert.deepStrictEqual(runs.map((r) => [r.id, r.status]), [[`${id}-2`, "failed"], [`${id}-1`, "succeeded"]])
        assert.deepStrictEqual(runs[1], runEntry(`${id}-1`, far, "succeeded"))
        assert.strictEqual(runs[0]!.error, "boom")
        assert.strictEqual((yield* store.runs({ limit: 1 })).length, 1)
      }))
  })

const jobRun = (name: string, holder: string, startedAt: number, detail: Record<string, unknown> = {}) =>
  JobRun.make({ name, holder, fencingToken: 1, startedAt, finishedAt: startedAt + 5, outcome: "succeeded", detail })

/**
 * Registers the conformance tests of the `JobLease` port: one holder per job at a time, renewal,
 * expiry and takeover with a higher fencing token, release, concurrent acquirers, and the record
 * of runs. Every test uses fresh job names, so the store may be shared.
 *
 * @since 0.1.0
 */
export const jobLeaseSuite = <E>(name: string, leaseLayer: Layer.Layer<JobLease, E>, options: SuiteOptions = {}): void =>
  layer(leaseLayer, { timeout: options.timeout ?? Duration.seconds(60) })(`job lease conformance: ${name}`, (it) => {
    it.effect("a free lease is taken, others wait, the holder renews; after it runs out another takes it with a higher token", () =>
      Effect.gen(function*() {
        const leases = yield* JobLease
        const job = `job-${unique()}`
        const t = 1_000_000
        assert.deepStrictEqual(yield* leases.acquire(job, "a", t, 30_000), Option.some({ name: job, holder: "a", fencingToken: 1, leaseUntil: t + 30_000 }))
        assert.isTrue(Option.isNone(yield* leases.acquire(job, "b", t + 1_000, 30_000)))
        // renewal keeps the token and moves the expiry
        assert.deepStrictEqual(yield* leases.acquire(job, "a", t + 10_000, 30_000), Option.some({ name: job, holder: "a", fencingToken: 1, leaseUntil: t + 40_000 }))
        assert.isTrue(Option.isNone(yield* leases.acquire(job, "b", t + 39_999, 30_000)))
        // the lease runs out at leaseUntil: another holder takes it, the token goes up
        assert.deepStrictEqual(yield* leases.acquire(job, "b", t + 40_000, 30_000), Option.some({ name: job, holder: "b", fencingToken: 2, leaseUntil: t + 70_000 }))
        assert.isTrue(Option.isNone(yield* leases.acquire(job, "a", t + 40_001, 30_000)))
        assert.deepStrictEqual(yield* leases.acquire(job, "a", t + 70_000, 5_000), Option.some({ name: job, holder: "a", fencingToken: 3, leaseUntil: t + 75_000 }))
        // leases of other jobs are independent
        const other = yield* leases.acquire(`${job}-other`, "b", t + 70_000, 30_000)
        assert.deepStrictEqual(Option.map(other, (l) => [l.holder, l.fencingToken]), Option.some(["b", 1]))
      }))

    it.effect("release frees the lease only for its holder", () =>
      Effect.gen(function*() {
        const leases = yield* JobLease
        const job = `job-${unique()}`
        const t = 2_000_000
        assert.isTrue(Option.isSome(yield* leases.acquire(job, "a", t, 60_000)))
        yield* leases.release(job, "b")
        assert.isTrue(Option.isNone(yield* leases.acquire(job, "b", t + 1, 60_000)))
        yield* leases.release(job, "a")
        const taken = yield* leases.acquire(job, "b", t + 2, 60_000)
        assert.deepStrictEqual(Option.map(taken, (l) => [l.holder, l.fencingToken, l.leaseUntil]), Option.some(["b", 2, t + 60_002]))
        yield* leases.release(job, "a") // too late: b holds it now
        assert.isTrue(Option.isNone(yield* leases.acquire(job, "a", t + 3, 60_000)))
        yield* leases.release(`${job}-never-taken`, "a")
      }))

    it.effect("of many concurrent acquirers exactly one gets the lease", () =>
      Effect.gen(function*() {
        const leases = yield* JobLease
        const job = `job-${unique()}`
        const holders = Array.from({ length: 8 }, (_, i) => `h${i}`)
        const got = yield* Effect.forEach(holders, (h) => leases.acquire(job, h, 3_000_000, 10_000), { concurrency: "unbounded" })
        const winners = got.filter(Option.isSome)
        assert.strictEqual(winners.length, 1)
        assert.strictEqual(winners[0]!.value.fencingToken, 1)
        // and again once it has run out: one new holder, token 2
        const again = yield* Effect.forEach(holders, (h) => leases.acquire(job, h, 3_010_000, 10_000), { concurrency: "unbounded" })
        const next = again.filter(Option.isSome)
        assert.strictEqual(next.length, 1)
        assert.strictEqual(next[0]!.value.fencingToken, next[0]!.value.holder === winners[0]!.value.holder ? 1 : 2)
      }))

    it.effect("records runs, lists them newest first per job, and purges old ones", () =>
      Effect.gen(function*() {
        const leases = yield* JobLease
        const job = `job-${unique()}`
        yield* leases.recordRun(jobRun(job, "a", 1_000, { checked: 3, nested: { list: [1, "x", null] } }))
        yield* leases.recordRun(JobRun.make({
          name: job,
          holder: "b",
          fencingToken: 2,
          startedAt: 2_000,
          finishedAt: 2_500,
          outcome: "failed",
          detail: { error: "StoreError", message: "database unavailable" }
        }))
        yield* leases.recordRun(jobRun(`${job}-other`, "a", 2_100))
        yield* leases.recordRun(jobRun(job, "b", 9_000_000_000_000, { checked: 0 }))
        const runs = yield* leases.runs(job, 10)
        assert.deepStrictEqual(runs.map((r) => [r.holder, r.fencingToken, r.startedAt, r.outcome]), [
          ["b", 1, 9_000_000_000_000, "succeeded"],
          ["b", 2, 2_000, "failed"],
          ["a", 1, 1_000, "succeeded"]
        ])
        assert.deepStrictEqual(runs[2], jobRun(job, "a", 1_000, { checked: 3, nested: { list: [1, "x", null] } }))
        assert.deepStrictEqual(runs[1]!.detail, { error: "StoreError", message: "database unavailable" })
        assert.strictEqual(runs[1]!.finishedAt, 2_500)
        assert.strictEqual((yield* leases.runs(job, 1)).length, 1)
        assert.isAtLeast(yield* leases.purgeRuns(2_600), 2)
        assert.deepStrictEqual((yield* leases.runs(job, 10)).map((r) => r.startedAt), [9_000_000_000_000])
        assert.deepStrictEqual(yield* leases.runs(`${job}-other`, 10), [])
      }))
  })
