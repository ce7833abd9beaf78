import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer, TestClock } from "effect"
import * as AutoSwitch from "../src/AutoSwitch.js"
import * as DecisionLog from "../src/DecisionLog.js"
import * as DecisionModel from "../src/DecisionModel.js"
import * as Engine from "../src/Engine.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as ModelRegistry from "../src/ModelRegistry.js"
import * as Pool from "../src/Pool.js"
import { SnapshotDraft } from "../src/Pricing.js"
import { PriceStore } from "../src/PriceStore.js"
import { ModelRegistrySuite } from "../src/testing.js"

ModelRegistrySuite.suite("memory", ModelRegistry.layerMemory)

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`
const pools = [Pool.make("t3.medium", "us-east-1a"), Pool.make("t3.medium", "us-east-1b"), Pool.make("t3.medium", "us-east-1c")]

describe("A/B assignment", () => {
  it.effect("a 30% share takes 30% ± 2% of 10,000 agents, and every agent keeps its assignment", () =>
    Effect.gen(function*() {
      const registry = yield* ModelRegistry.makeMemory()
      for (const v of ["1", "2"]) yield* registry.register({ name: "switch", version: v, artifactDigest: digest(Number(v)), inputLayoutVersion: 1 })
      yield* registry.activate("switch", "1")
      yield* registry.setTrafficShare("switch", "2", 0.3)
      const routing = yield* registry.routing("switch")
      const agents = Array.from({ length: 10_000 }, (_, i) => `agent-${i}`)
      const first = agents.map((a) => ModelRegistry.assign(routing, a).acting!.version)
      const share = first.filter((v) => v === "2").length / agents.length
      assert.isTrue(Math.abs(share - 0.3) <= 0.02, `share ${share}`)
      // Sticky: the same answer later, from a fresh routing read, and with a shadow added.
      yield* registry.register({ name: "switch", version: "3", artifactDigest: digest(3), inputLayoutVersion: 1 })
      yield* registry.shadow("switch", "3")
      const again = yield* registry.routing("switch")
      assert.deepStrictEqual(agents.map((a) => ModelRegistry.assign(again, a).acting!.version), first)
      // Buckets are per model name: another name splits the fleet independently.
      const overlap = agents.filter((a, i) => first[i] === "2" && ModelRegistry.bucketOf("other", a) < 0.3).length
      assert.isTrue(Math.abs(overlap / agents.length - 0.09) < 0.02, `overlap ${overlap}`)
      // Shadows shadow every agent they do not act for.
      assert.deepStrictEqual(ModelRegistry.assign(again, "agent-1").shadows.map((s) => s.version), ["3"])
    }))
})

const fixed = (name: string, version: string, decide: DecisionModel.DecisionModelService["decide"]): DecisionModel.DecisionModelService => ({
  name,
  version,
  decide
})
const switchTo = (pool: Pool.PoolId, confidence: number) =>
  DecisionModel.Decision.make({ action: "SWITCH", targetPool: pool, confidence, reasoning: "test", expectedSavingsPercent: 40, risk: 0 })
const stay = DecisionModel.Decision.make({ action: "STAY", targetPool: null, confidence: 0.9, reasoning: "test", expectedSavingsPercent: null, risk: null })

const models = {
  "switch@1": fixed("switch", "1", () => Effect.succeed(stay)),
  "switch@2": fixed("switch", "2", () => Effect.succeed(switchTo(pools[2]!, 0.95))),
  "switch@slow": fixed("switch", "slow", () => Effect.as(Effect.sleep("10 minutes"), stay))
}

const TestLayer = Layer.mergeAll(
  Engine.layer(),
  DecisionModel.layerRuleBased,
  DecisionLog.layerMemory,
  ModelRegistry.layerRouter("switch").pipe(
    Layer.provideMerge(ModelRegistry.layerMemory),
    Layer.provide(Layer.succeed(ModelRegistry.ModelLoader, ModelRegistry.loaderFromTable(models)))
  )
).pipe(Layer.provideMerge(MemoryStore.layer))

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const prices = yield* PriceStore
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "d".repeat(64) })
  const r = yield* engine.register(tenant.id, { logicalAgentId: "web", cloudInstanceId: "i-web-0", pool: pools[0]! })
  yield* engine.updateConfig(tenant.id, r.agent.id, { autoSwitch: true })
  yield* TestClock.adjust("3 hours")
  const now = yield* Effect.clockWith((c) => c.currentTimeMillis)
  yield* prices.appendSnapshots(pools.map((pool, k) =>
    SnapshotDraft.make({ tenantId: tenant.id, pool, price: [0.03, 0.02, 0.01][k]!, observedAt: now, reporterAgentId: null, reporterRole: null, source: "agent", receivedAt: now })
  ))
  const registry = yield* ModelRegistry.ModelRegistry
  for (const [i, v] of ["1", "2", "slow"].entries()) {
    yield* registry.register({ name: "switch", version: v, artifactDigest: digest(i + 1), inputLayoutVersion: 1, confidenceThreshold: 0.8 })
  }
  return { engine, registry, t: tenant.id as TenantId, id: r.agent.id as AgentId }
})

const logOf = (t: TenantId) => Effect.flatMap(DecisionLog.DecisionLog, (l) => l.list(t))

describe("the decision loop with the registry", () => {
  it.effect("without an active version the default model decides", () =>
    Effect.gen(function*() {
      const { t } = yield* setup
      yield* AutoSwitch.runOnce({ dryRun: true })
      const [record] = yield* logOf(t)
      assert.strictEqual(record!.model, "rule-based")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a shadow version is logged as shadow and never queues a command", () =>
    Effect.gen(function*() {
      const { engine, id, registry, t } = yield* setup
      yield* registry.activate("switch", "1")
      yield* registry.shadow("switch", "2")
      const before = yield* engine.getAgent(t, id)
      const summary = yield* AutoSwitch.runOnce()
      assert.deepStrictEqual(summary, { agents: 1, decisions: 1, switches: 0, wouldSwitch: 0, timeouts: 0 })
      const records = yield* logOf(t)
      assert.deepStrictEqual(records.map((r) => [r.modelVersion, r.mode, r.decision.action, r.acted]).sort(), [
        ["1", "active", "STAY", false],
        ["2", "shadow", "SWITCH", false]
      ])
      const shadow = records.find((r) => r.mode === "shadow")!
      assert.isTrue(shadow.allowed) // every guard passed: it would have switched
      assert.strictEqual(shadow.note, "shadow: would switch")
      assert.isNull(shadow.flowId)
      const after = yield* engine.getAgent(t, id)
      assert.strictEqual(after.commands.length, before.commands.length)
      assert.isNull(after.agent.flow)
      const perf = ModelRegistry.performance(records)
      assert.deepStrictEqual(perf.map((p) => [p.version, p.mode, p.decisions, p.executed]), [["1", "active", 1, 0], ["2", "shadow", 1, 0]])
    }).pipe(Effect.provide(TestLayer)))

  it.effect("the agent's A/B version acts, with its own confidence threshold; rollback brings the old one back", () =>
    Effect.gen(function*() {
      const { engine, id, registry, t } = yield* setup
      yield* registry.activate("switch", "1")
      yield* registry.setTrafficShare("switch", "2", 1)
      yield* AutoSwitch.runOnce()
      const [acted] = yield* logOf(t)
      assert.strictEqual(acted!.modelVersion, "2")
      assert.isTrue(acted!.acted)
      assert.include(acted!.verdicts.find((v) => v.guard === "confidence")!.detail, "threshold 0.8")
      assert.strictEqual((yield* engine.getAgent(t, id)).agent.flow!.id, acted!.flowId)
      const perf = ModelRegistry.performance(yield* logOf(t))
      assert.strictEqual(perf[0]!.executed, 1)
      assert.strictEqual(perf[0]!.confidenceHistogram[9], 1)

      yield* registry.activate("switch", "2")
      const back = yield* registry.rollback("switch")
      assert.strictEqual(back.version, "1")
      assert.strictEqual((yield* registry.routing("switch")).active!.version, "1")
    }).pipe(Effect.provide(TestLayer)))

  it.effect("a model past its time budget yields WAIT and a timeout; the loop goes on", () =>
    Effect.gen(function*() {
      const { registry, t } = yield* setup
      yield* registry.activate("switch", "slow")
      const fiber = yield* Effect.fork(AutoSwitch.runOnce({ budget: "450 millis" }))
      yield* TestClock.adjust("1 second")
      const summary = yield* Fiber.join(fiber)
      assert.strictEqual(summary.timeouts, 1)
      const [record] = yield* logOf(t)
      assert.strictEqual(record!.decision.action, "WAIT")
      assert.isTrue(record!.timedOut)
      assert.strictEqual(record!.modelVersion, "slow")
      assert.isFalse(record!.acted)
    }).pipe(Effect.provide(TestLayer)))
})
