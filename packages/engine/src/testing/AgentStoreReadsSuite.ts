/**
 * The conformance tests of the `AgentStore` port's optional fast reads (`peekPoll`, `busyAgents`,
 * `ownersOf`, `liveInstances`, `listInstances`): each answers exactly what the full aggregates say.
 * A store without one of them passes its tests (the engine then falls back to the aggregates).
 *
 * @since 0.1.0
 */
import { assert } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { Flow } from "../Agent.js"
import { AgentStore } from "../AgentStore.js"
import * as Engine from "../Engine.js"
import { AgentId, FlowId } from "../Ids.js"
import { Instance } from "../Instance.js"
import { bump, describeOn, fixture, hash, ok, pool, replicaOf, type Stores, type SuiteOptions, type Tests, unique, withEngine } from "./fixtures.js"

/**
 * Registers these tests with the `it` of a layer that provides every store port (the tests drive
 * the engine over it); `StoreSuite.suite` runs them with the other ports' tests.
 *
 * @since 0.1.0
 */
export const tests: Tests<Stores> = (it) => {
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
}

/**
 * Registers these tests alone, in a describe block of their own, on `storeLayer`.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<Stores, E>, options: SuiteOptions = {}): void =>
  describeOn(`agent store reads conformance: ${name}`, storeLayer, options, tests)
