/**
 * `Engine.observeInventories`: an inventory reconciled without a change is not reconciled again
 * (no aggregate load) while the agent has not changed through the engine since, for
 * `Timing.reconcile.unchangedInventorySeconds`; anything else is reconciled as
 * `reconcileInventory` does. And `Engine.pollCommands`: a poll that found nothing stands, without
 * the store, until the agent is committed or `Timing.idlePollSeconds` pass. The store below
 * counts aggregate loads and poll peeks.
 */
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, Layer, TestClock } from "effect"
import { AgentStore } from "../src/AgentStore.js"
import * as Engine from "../src/Engine.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"
import type { InventoryItem } from "../src/StateMachine.js"
import * as Timing from "../src/Timing.js"

class Loads extends Context.Tag("test/Loads")<Loads, { count: number; peeks: number }>() {}

const countingStore = Layer.effect(
  AgentStore,
  Effect.gen(function*() {
    const store = yield* AgentStore
    const loads = yield* Loads
    const peek = store.peekPoll!
    return {
      ...store,
      load: (agentId) => Effect.suspend(() => (loads.count++, store.load(agentId))),
      peekPoll: (tenantId, agentId) => Effect.suspend(() => (loads.peeks++, peek(tenantId, agentId)))
    } satisfies AgentStore["Type"]
  })
)

// The engine reads agents through the counting store; everything else is the memory store's.
const engineOn = (options: Engine.EngineOptions) =>
  Engine.layer(options).pipe(
    Layer.provide(countingStore),
    Layer.provideMerge(MemoryStore.layer),
    Layer.provideMerge(Layer.sync(Loads, () => ({ count: 0, peeks: 0 })))
  )
const TestEngine = engineOn({ idlePollSeconds: Timing.idlePollSeconds })

const pool = Pool.make("t3.medium", "us-east-1a")
const item = (cloudInstanceId: string, tags: Record<string, string> = { ManagedBy: "spotfleet" }): InventoryItem => ({
  cloudInstanceId,
  state: "running",
  pool,
  tags,
  launchedAt: null
})

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const loads = yield* Loads
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "c".repeat(64) })
  const t: TenantId = tenant.id
  const { agent } = yield* engine.register(t, { logicalAgentId: "a", cloudInstanceId: "i-a", pool })
  const id: AgentId = agent.id
  /** Observes `instances` and answers how many aggregate loads it took. */
  const observe = (instances: ReadonlyArray<InventoryItem>) =>
    Effect.gen(function*() {
      const before = loads.count
      const [outcome] = yield* engine.observeInventories([{ tenantId: t, agentId: id, instances }])
      assert.isUndefined(outcome)
      return loads.count - before
    })
  return { engine, t, id, observe }
})

describe("Engine.observeInventories", () => {
  it.effect("an unchanged inventory is not reconciled again until the agent changes or the bound passes", () =>
    Effect.gen(function*() {
      const { engine, id, observe, t } = yield* setup
      const steady = [item("i-a"), item("i-other", { Name: "unrelated" })]
      assert.isAbove(yield* observe(steady), 0, "the first one is reconciled")
      assert.strictEqual(yield* observe(steady), 0, "the same one again: nothing loaded")
      assert.strictEqual(yield* observe([...steady].map((i) => ({ ...i }))), 0, "equal content, another list")
      // A change of the agent through the engine: the inventory is looked at again.
      const { agent } = yield* engine.getAgent(t, id)
      yield* engine.updateConfig(t, id, { autoSwitch: !agent.config.autoSwitch })
      assert.isAbove(yield* observe(steady), 0)
      assert.strictEqual(yield* observe(steady), 0)
      // Past the bound (changes made by another process): again.
      yield* TestClock.adjust(`${Timing.reconcile.unchangedInventorySeconds + 1} seconds`)
      assert.isAbove(yield* observe(steady), 0)
      // Empty or failed inventories say nothing and load nothing.
      assert.strictEqual(yield* observe([]), 0)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a changed inventory is reconciled (the PRIMARY gone: an emergency), and so is one listing unknown instances of ours", () =>
    Effect.gen(function*() {
      const { engine, id, observe, t } = yield* setup
      assert.isAbove(yield* observe([item("i-a")]), 0)
      // An instance of ours no agent knows: what happens to it depends on other agents, every time.
      const adoptable = [item("i-a"), item("i-stray")]
      assert.isAbove(yield* observe(adoptable), 0)
      assert.isAbove(yield* observe(adoptable), 0)
      // The PRIMARY no longer listed: reconciled, the agent changes.
      const before = (yield* engine.getAgent(t, id)).agent.version
      assert.isAbove(yield* observe([item("i-b")]), 0)
      const after = yield* engine.getAgent(t, id)
      assert.isAbove(after.agent.version, before)
      assert.isTrue(after.commands.some((c) => c.type === "LAUNCH_INSTANCE"), "the emergency launches a replacement")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a poll that found nothing stands until the agent is committed or the bound passes", () =>
    Effect.gen(function*() {
      const { engine, id, t } = yield* setup
      const loads = yield* Loads
      const poll = Effect.gen(function*() {
        const before = { peeks: loads.peeks, loads: loads.count }
        const commands = yield* engine.pollCommands(t, id)
        return { commands, peeks: loads.peeks - before.peeks, loads: loads.count - before.loads }
      })
      assert.deepStrictEqual(yield* poll, { commands: [], peeks: 1, loads: 0 })
      assert.deepStrictEqual(yield* poll, { commands: [], peeks: 0, loads: 0 }, "answered without the store")
      // A commit that queues a command: the next poll asks the store and delivers it.
      yield* engine.requestReplica(t, id, {})
      const delivered = yield* poll
      assert.strictEqual(delivered.commands.length, 1)
      assert.strictEqual(delivered.commands[0]!.type, "LAUNCH_INSTANCE")
      assert.strictEqual(delivered.peeks, 1)
      // Past the bound, an idle agent's poll asks the store again.
      const other = yield* engine.register(t, { logicalAgentId: "b", cloudInstanceId: "i-b", pool })
      const pollOther = Effect.gen(function*() {
        const before = loads.peeks
        yield* engine.pollCommands(t, other.agent.id)
        return loads.peeks - before
      })
      assert.strictEqual(yield* pollOther, 1)
      assert.strictEqual(yield* pollOther, 0)
      yield* TestClock.adjust(`${Timing.idlePollSeconds + 1} seconds`)
      assert.strictEqual(yield* pollOther, 1)
      // An unknown agent is still found out.
      const unknown = yield* Effect.flip(engine.pollCommands(t, "agent-nobody" as AgentId))
      assert.strictEqual(unknown._tag, "AgentNotFound")
    }).pipe(Effect.provide(TestEngine)))

  it.effect("by default (several processes may share the store) every poll asks the store", () =>
    Effect.gen(function*() {
      const { engine, id, t } = yield* setup
      const loads = yield* Loads
      const before = loads.peeks
      for (let i = 0; i < 3; i++) assert.deepStrictEqual(yield* engine.pollCommands(t, id), [])
      assert.strictEqual(loads.peeks - before, 3)
    }).pipe(Effect.provide(engineOn({}))))
})
