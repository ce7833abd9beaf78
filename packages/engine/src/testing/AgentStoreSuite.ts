/**
 * The conformance tests of the `AgentStore` port's aggregates: an agent stored with its PRIMARY and
 * found by every key, every field round-tripped, stale writes refused with `VersionConflict`,
 * duplicate logical ids with `DuplicateKey`, concurrent writers from one read (exactly one wins),
 * command delivery order and leases, listing by liveness and heartbeat age, and a full replica
 * promotion through the engine.
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, type Layer, Option, TestClock } from "effect"
import { Agent } from "../Agent.js"
import { AgentStore } from "../AgentStore.js"
import * as Engine from "../Engine.js"
import { AgentId } from "../Ids.js"
import { Instance } from "../Instance.js"
import type { AgentAggregate } from "../StateMachine.js"
import { bump, describeOn, event, eventsOf, fixture, hash, LEASE_SECONDS, makeCommand, ok, pool, replicaOf, type Stores, type SuiteOptions, type Tests, unique, withEngine } from "./fixtures.js"

/**
 * Registers these tests with the `it` of a layer that provides every store port (the tests drive
 * the engine over it); `StoreSuite.suite` runs them with the other ports' tests.
 *
 * @since 0.1.0
 */
export const tests: Tests<Stores> = (it) => {
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
}

/**
 * Registers these tests alone, in a describe block of their own, on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(`agent store conformance: ${name}`, storeLayer, options, tests)
