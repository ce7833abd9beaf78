/**
 * The conformance tests of heartbeats on the `AgentStore` port: a heartbeat is one write that bumps
 * no version and never moves time back, never touches another tenant's agent, reads the stored
 * liveness; batches (optional `touchHeartbeats`) answer each call as alone; and the engine's
 * heartbeat commits only when it brings an agent back online.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Clock, Effect, Either, type Layer, Option, TestClock } from "effect"
import { AgentId } from "../Ids.js"
import { bump, describeOn, eventsOf, fixture, hash, pool, type Stores, type SuiteOptions, type Tests, unique, withEngine } from "./fixtures.js"

/**
 * Registers these tests with the `it` of a layer that provides every store port (the tests drive
 * the engine over it); `StoreSuite.suite` runs them with the other ports' tests.
 *
 * @since 0.1.0
 */
export const tests: Tests<Stores> = (it) => {
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
}

/**
 * Registers these tests alone, in a describe block of their own, on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(`agent store heartbeat conformance: ${name}`, storeLayer, options, tests)
