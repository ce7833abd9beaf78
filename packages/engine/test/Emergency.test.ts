/**
 * Emergency scenarios of docs/DESIGN.md, "Emergencies" through the engine, step by step with
 * TestClock: commands, roles and events after each step.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric, TestClock } from "effect"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import * as EngineMetrics from "../src/EngineMetrics.js"
import type { AgentId, TenantId } from "../src/Ids.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Pool from "../src/Pool.js"

const poolA = Pool.make("t3.medium", "us-east-1a")
const poolB = Pool.make("t3.medium", "us-east-1b")
const poolC = Pool.make("t3.medium", "us-east-1c")
const poolM = Pool.make("m5.large", "us-east-1b")

const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })
const noCapacity = CommandResult.make({ success: false, message: "InsufficientInstanceCapacity", cloudInstanceId: null, data: {} })

const TestEngine = Engine.layer({ leaseSeconds: 600 }).pipe(Layer.provide(MemoryStore.layer))

const harness = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "a".repeat(64) })
  const t: TenantId = tenant.id
  let n = 0
  const register = (pool: Pool.PoolId, name = `web-${++n}`) =>
    Effect.map(engine.register(t, { logicalAgentId: name, cloudInstanceId: `i-${name}`, pool }), (r) => r.agent.id)
  const view = (id: AgentId) => engine.getAgent(t, id)
  const roles = (id: AgentId) =>
    Effect.map(view(id), (v) => Object.fromEntries(v.instances.filter((i) => i.cloudInstanceId !== null).map((i) => [i.cloudInstanceId, i.role])))
  const primaries = (id: AgentId) => Effect.map(view(id), (v) => v.instances.filter((i) => i.role === "PRIMARY").length)
  const poll = (id: AgentId) => engine.pollCommands(t, id)
  const report = (id: AgentId, commandId: string, result: CommandResult) => engine.reportResult(t, id, { commandId: commandId as never, result })
  const events = (id: AgentId) => Effect.map(engine.events(t, { afterId: 0, limit: 10_000, agentId: id }), (es) => es)
  /** Launches a replica and confirms it after `bootSeconds`, so the ledger learns the pool's boot time. */
  const replica = (id: AgentId, pool: Pool.PoolId, cloudId: string, bootSeconds = 30) =>
    Effect.gen(function*() {
      yield* engine.requestReplica(t, id, { pool })
      const [launch] = yield* poll(id)
      yield* TestClock.adjust(`${bootSeconds} seconds`)
      yield* report(id, launch!.id, ok(cloudId))
    })
  /** Teaches the ledger boot times of a pool through a throwaway agent. */
  const seedBoot = (pool: Pool.PoolId, seconds: ReadonlyArray<number>) =>
    Effect.gen(function*() {
      const id = yield* register(pool, `seed-${pool}`)
      let k = 0
      for (const s of seconds) {
        const cloudId = `i-seed-${pool}-${k++}`
        yield* replica(id, pool, cloudId, s)
        const inst = (yield* view(id)).instances.find((i) => i.cloudInstanceId === cloudId)!
        yield* engine.removeReplica(t, id, inst.id)
        for (const c of yield* poll(id)) yield* report(id, c.id, ok())
      }
    })
  return { engine, t, register, view, roles, primaries, poll, report, events, replica, seedBoot }
})

describe("emergency flows", () => {
  it.effect("termination with a ready replica: PROMOTE at once, at emergency priority, until the deadline", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.replica(id, poolB, "i-r")
      yield* h.engine.updateConfig(h.t, id, { terminateWaitSeconds: 0 })
      for (const c of yield* h.poll(id)) yield* h.report(id, c.id, ok()) // APPLY_CONFIG
      const histogramBefore = yield* Metric.value(EngineMetrics.emergencyPromotion)
      const promotedCounter = Metric.tagged(Metric.tagged(EngineMetrics.emergencyEvents, "kind", "termination"), "result", "promoted")
      const promotedBefore = (yield* Metric.value(promotedCounter)).count
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      const [promote] = yield* h.poll(id)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      assert.strictEqual(promote!.priority, 100)
      assert.deepStrictEqual(promote!.params, { replica_instance_id: "i-r", old_primary_id: "i-web-1" })
      assert.strictEqual(promote!.expiresAt! - promote!.createdAt, 120_000)
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "PRIMARY", "i-r": "REPLICA" })
      yield* TestClock.adjust("3 seconds")
      yield* h.report(id, promote!.id, ok())
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-r": "PRIMARY" })
      const es = yield* h.events(id)
      const promotion = es.find((e) => e.type === "EmergencyPromotion")!
      assert.strictEqual(promotion.data.secondsSinceNotice, 3)
      assert.isTrue(promotion.data.beforeDeadline)
      assert.isTrue(es.some((e) => e.type === "NoticeCleared" && e.data.reason === "promoted"))
      assert.isNull((yield* h.view(id)).agent.notice)
      const histogramAfter = yield* Metric.value(EngineMetrics.emergencyPromotion)
      assert.strictEqual(histogramAfter.count - histogramBefore.count, 1)
      assert.strictEqual(histogramAfter.sum - histogramBefore.sum, 3)
      assert.strictEqual((yield* Metric.value(promotedCounter)).count - promotedBefore, 1)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("termination with a launching replica that arrives in time: promoted on arrival", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.requestReplica(h.t, id, { pool: poolB })
      const [launch] = yield* h.poll(id)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      // Nothing new to launch: the replica on its way is adopted by the emergency.
      assert.deepStrictEqual(yield* h.poll(id), [])
      const flow = (yield* h.view(id)).agent.flow!
      assert.strictEqual(flow.kind, "emergency")
      yield* TestClock.adjust("40 seconds")
      yield* h.report(id, launch!.id, ok("i-r"))
      const [promote] = yield* h.poll(id)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* h.report(id, promote!.id, ok())
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-r": "PRIMARY" })
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a replica that arrives too late: PROMOTE handed out at deadline − margin, DEGRADED after the reclaim, promoted on arrival", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.requestReplica(h.t, id, { pool: poolB })
      const [launch] = yield* h.poll(id)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      yield* TestClock.adjust("99 seconds")
      assert.deepStrictEqual(yield* h.poll(id), [])
      yield* TestClock.adjust("2 seconds") // 101 s: inside the 20 s margin
      const [early] = yield* h.poll(id)
      assert.strictEqual(early!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      assert.strictEqual(early!.params.replica_instance_id, null)
      assert.strictEqual(early!.params.temp_instance_id, launch!.params.temp_instance_id)
      yield* TestClock.adjust("19 seconds")
      yield* h.engine.confirmTerminated(h.t, id, { cloudInstanceId: "i-web-1" })
      const degraded = yield* h.view(id)
      assert.isTrue(degraded.agent.degraded)
      assert.strictEqual(yield* h.primaries(id), 0)
      assert.deepStrictEqual(yield* h.poll(id), []) // no second launch, no second promote
      yield* TestClock.adjust("30 seconds")
      yield* h.report(id, launch!.id, ok("i-r"))
      yield* h.report(id, early!.id, ok("i-r"))
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-r": "PRIMARY" })
      assert.isFalse((yield* h.view(id)).agent.degraded)
      const types = (yield* h.events(id)).map((e) => e.type)
      assert.includeMembers(types, ["AgentDegraded", "AgentRecovered", "EmergencyPromotion"])
    }).pipe(Effect.provide(TestEngine)))

  it.effect("no replica: launches in the fastest-boot pool (same type first, ≥ 3 samples, not the interrupted pool)", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.seedBoot(poolA, [10, 10, 10]) // fastest, but it is the interrupted pool
      yield* h.seedBoot(poolB, [40, 50, 45])
      yield* h.seedBoot(poolC, [30, 35, 32])
      yield* h.seedBoot(poolM, [5, 5, 5]) // another type: only after same-type pools
      yield* h.seedBoot(Pool.make("t3.medium", "eu-west-1a"), [2, 2, 2]) // another region: never
      const fewSamples = Pool.make("t3.medium", "us-east-1d")
      yield* h.seedBoot(fewSamples, [1, 1]) // too few samples to trust
      yield* TestClock.adjust("10 minutes")
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      const [launch] = yield* h.poll(id)
      assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
      assert.strictEqual(launch!.priority, 100)
      assert.strictEqual(launch!.params.target_pool, "spot:t3.medium.us-east-1c")
      const chain = (yield* h.events(id)).find((e) => e.type === "EmergencyLaunch")!.data
      assert.deepStrictEqual(chain.fallbacks, [poolB, poolM, "ondemand:t3.medium.us-east-1a", "ondemand:t3.medium.us-east-1b", "ondemand:t3.medium.us-east-1c", "ondemand:t3.medium.us-east-1d"])
      yield* TestClock.adjust("32 seconds")
      yield* h.report(id, launch!.id, ok("i-new"))
      const [promote] = yield* h.poll(id)
      yield* h.report(id, promote!.id, ok())
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-new": "PRIMARY" })
      const ledger = yield* h.engine.poolLedger
      assert.strictEqual(ledger.pools.get(poolC)!.medianBootSeconds, 32)
      assert.isNull(ledger.pools.get(fewSamples)!.medianBootSeconds)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("spot capacity failure moves down the chain at once: next spot pool, then on-demand in the same zone", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.seedBoot(poolB, [20, 20, 20])
      yield* TestClock.adjust("10 minutes")
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      const [spot] = yield* h.poll(id)
      assert.strictEqual(spot!.params.target_pool, "spot:t3.medium.us-east-1b")
      yield* TestClock.adjust("2 seconds")
      yield* h.report(id, spot!.id, noCapacity)
      const [onDemand] = yield* h.poll(id)
      assert.strictEqual(onDemand!.params.target_pool, "ondemand:t3.medium.us-east-1a")
      assert.strictEqual(onDemand!.params.lifecycle, "on-demand")
      assert.strictEqual(onDemand!.expiresAt, spot!.expiresAt)
      const steps = (yield* h.events(id)).filter((e) => e.type === "EmergencyLaunch").map((e) => [e.data.step, e.data.pool])
      assert.deepStrictEqual(steps, [["launch", poolB], ["fallback", "ondemand:t3.medium.us-east-1a"]])
      yield* h.report(id, onDemand!.id, ok("i-od"))
      const [promote] = yield* h.poll(id)
      yield* h.report(id, promote!.id, ok())
      const v = yield* h.view(id)
      assert.strictEqual(v.instances.find((i) => i.cloudInstanceId === "i-od")!.lifecycle, "on-demand")
      assert.strictEqual(yield* h.primaries(id), 1)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("duplicate notices (re-sent every 10 s) are handled once", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      for (let k = 0; k < 5; k++) {
        yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1", deadline: 120_000 })
        yield* TestClock.adjust("10 seconds")
      }
      const es = yield* h.events(id)
      assert.strictEqual(es.filter((e) => e.type === "NoticeReceived").length, 1)
      assert.strictEqual((yield* h.view(id)).commands.filter((c) => c.type === "LAUNCH_INSTANCE").length, 1)
      // A rebalance after the termination for the same instance changes nothing either.
      yield* h.engine.notice(h.t, id, { kind: "rebalance", cloudInstanceId: "i-web-1" })
      assert.strictEqual((yield* h.events(id)).length, es.length)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a notice for an instance that was already replaced changes nothing", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.replica(id, poolB, "i-r")
      const r = (yield* h.view(id)).instances.find((i) => i.cloudInstanceId === "i-r")!
      yield* h.engine.promote(h.t, id, r.id)
      const [promote] = yield* h.poll(id)
      yield* h.report(id, promote!.id, ok())
      const before = yield* h.view(id)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      assert.deepStrictEqual(yield* h.view(id), before)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("rebalance then termination: the pre-launched replica is promoted at once", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "rebalance", cloudInstanceId: "i-web-1" })
      const [launch] = yield* h.poll(id)
      assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
      assert.strictEqual(launch!.priority, 100)
      assert.strictEqual(launch!.expiresAt! - launch!.createdAt, 600_000)
      yield* TestClock.adjust("45 seconds")
      yield* h.report(id, launch!.id, ok("i-r"))
      // A rebalance only prepares: no promotion yet.
      assert.deepStrictEqual(yield* h.poll(id), [])
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "PRIMARY", "i-r": "REPLICA" })
      yield* TestClock.adjust("5 minutes")
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      const [promote] = yield* h.poll(id)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* h.report(id, promote!.id, ok())
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-r": "PRIMARY" })
      const ledger = yield* h.engine.poolLedger
      assert.strictEqual(ledger.pools.get(poolA)!.rebalanceFollowed, 1)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("two agents interrupted at once: the pool of the first is quarantined for the second", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.seedBoot(poolB, [15, 15, 15]) // the fastest pool
      yield* h.seedBoot(poolC, [40, 40, 40])
      yield* TestClock.adjust("10 minutes")
      const x = yield* h.register(poolB)
      const y = yield* h.register(poolA)
      yield* Effect.all([
        h.engine.notice(h.t, x, { kind: "termination", cloudInstanceId: "i-web-1" }),
        h.engine.notice(h.t, y, { kind: "termination", cloudInstanceId: "i-web-2" })
      ], { concurrency: "unbounded" })
      const [lx] = yield* h.poll(x)
      const [ly] = yield* h.poll(y)
      // x was in B; y would have picked B (fastest) but B was just interrupted.
      assert.strictEqual(lx!.params.target_pool, "spot:t3.medium.us-east-1c")
      assert.strictEqual(ly!.params.target_pool, "spot:t3.medium.us-east-1c")
      // After the quarantine, B is chosen again.
      yield* TestClock.adjust("6 minutes")
      const z = yield* h.register(poolA)
      yield* h.engine.notice(h.t, z, { kind: "termination", cloudInstanceId: "i-web-3" })
      const [lz] = yield* h.poll(z)
      assert.strictEqual(lz!.params.target_pool, "spot:t3.medium.us-east-1b")
      const ledger = yield* h.engine.poolLedger
      assert.strictEqual(ledger.pools.get(poolB)!.terminationNotices, 1)
      assert.strictEqual(ledger.pools.get(poolA)!.terminationNotices, 2)
    }).pipe(Effect.provide(TestEngine)))

  it.effect("the ledger records lead times and rebalance false positives", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      yield* TestClock.adjust("110 seconds")
      yield* h.engine.confirmTerminated(h.t, id, { cloudInstanceId: "i-web-1" })
      const other = yield* h.register(poolB)
      yield* h.replica(other, poolC, "i-c")
      yield* h.engine.notice(h.t, other, { kind: "rebalance", cloudInstanceId: "i-web-2" })
      const r = (yield* h.view(other)).instances.find((i) => i.cloudInstanceId === "i-c")!
      yield* h.engine.promote(h.t, other, r.id)
      for (const c of yield* h.poll(other)) yield* h.report(other, c.id, ok())
      // i-web-2 was demoted and terminated on our terms: the rebalance was a false positive.
      yield* TestClock.adjust("10 minutes")
      for (const c of yield* h.poll(other)) yield* h.report(other, c.id, ok())
      const ledger = yield* h.engine.poolLedger
      assert.deepStrictEqual(ledger.pools.get(poolA)!.leadTimeSeconds, [110])
      assert.strictEqual(ledger.pools.get(poolA)!.reclaims, 1)
      assert.strictEqual(ledger.pools.get(poolB)!.rebalanceFalsePositives, 1)
    }).pipe(Effect.provide(TestEngine)))
})

describe("inventory reconciliation", () => {
  it.effect("a managed instance missing from the inventory is terminated; unmanaged ones and errors change nothing", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.replica(id, poolB, "i-r")
      const before = yield* h.view(id)
      // Reconnect (empty list) and cloud errors say nothing.
      yield* h.engine.reconcileInventory(h.t, id, { instances: [] })
      yield* h.engine.reconcileInventory(h.t, id, { instances: [{ cloudInstanceId: "i-unrelated", state: "running" }], error: "UnauthorizedOperation" })
      assert.deepStrictEqual(yield* h.view(id), before)
      // Everything listed (plus an unmanaged instance): nothing changes.
      yield* h.engine.reconcileInventory(h.t, id, {
        instances: [{ cloudInstanceId: "i-web-1", state: "running" }, { cloudInstanceId: "i-r", state: "running" }, { cloudInstanceId: "i-other", state: "running" }]
      })
      assert.deepStrictEqual((yield* h.view(id)).agent.version, before.agent.version)
      // The replica vanished.
      yield* h.engine.reconcileInventory(h.t, id, { instances: [{ cloudInstanceId: "i-web-1", state: "running" }] })
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "PRIMARY", "i-r": "TERMINATED" })
      assert.isTrue((yield* h.events(id)).some((e) => e.type === "InstanceMissing" && e.data.cloudInstanceId === "i-r"))
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a PRIMARY listed as terminated starts the emergency replacement", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.reconcileInventory(h.t, id, { instances: [{ cloudInstanceId: "i-web-1", state: "terminated" }, { cloudInstanceId: "i-x", state: "running" }] })
      const v = yield* h.view(id)
      assert.isTrue(v.agent.degraded)
      assert.strictEqual(v.agent.flow!.kind, "emergency")
      const [launch] = yield* h.poll(id)
      assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
    }).pipe(Effect.provide(TestEngine)))
})

describe("early promotion", () => {
  it.effect("an early PROMOTE the agent cannot execute does not end the emergency: the replica is promoted on arrival", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      const [launch] = yield* h.poll(id)
      yield* TestClock.adjust("101 seconds")
      const [early] = yield* h.poll(id)
      assert.strictEqual(early!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* h.report(id, early!.id, CommandResult.make({ success: false, message: "replica_instance_id missing", cloudInstanceId: null, data: {} }))
      assert.strictEqual((yield* h.view(id)).agent.flow!.kind, "emergency")
      yield* TestClock.adjust("10 seconds")
      yield* h.report(id, launch!.id, ok("i-r"))
      const [promote] = yield* h.poll(id)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      assert.strictEqual(promote!.params.replica_instance_id, "i-r")
      yield* h.report(id, promote!.id, ok())
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-r": "PRIMARY" })
    }).pipe(Effect.provide(TestEngine)))
})

describe("an emergency over a flow that is already promoting", () => {
  it.effect("a termination notice after a switch's PROMOTE was handed out adopts that PROMOTE: the emergency ends when it succeeds", () =>
    Effect.gen(function*() {
      // Found by `npm run chaos`: the emergency flow superseded the switch, but the switch's
      // PROMOTE was already delivered, so no new one was queued and the flow never learnt its
      // target — it stayed open forever after the promotion.
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.switchPool(h.t, id, { pool: poolB })
      const [launch] = yield* h.poll(id)
      yield* TestClock.adjust("20 seconds")
      yield* h.report(id, launch!.id, ok("i-b"))
      const [promote] = yield* h.poll(id)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      const during = yield* h.view(id)
      assert.strictEqual(during.agent.flow!.kind, "emergency")
      const replicaId = during.instances.find((i) => i.cloudInstanceId === "i-b")!.id
      assert.strictEqual(during.agent.flow!.targetInstanceId, replicaId)
      // the PROMOTE in the agent's hands is the one that counts: no second one is queued
      assert.deepStrictEqual(yield* h.poll(id), [])
      yield* TestClock.adjust("2 seconds")
      yield* h.report(id, promote!.id, ok())
      const after = yield* h.view(id)
      assert.isNull(after.agent.flow)
      assert.isNull(after.agent.notice)
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-b": "PRIMARY" })
      const finished = (yield* h.events(id)).filter((e) => e.type === "FlowFinished").map((e) => [e.data["kind"], e.data["result"]])
      assert.deepStrictEqual(finished, [["switch", "superseded"], ["emergency", "succeeded"]])
    }).pipe(Effect.provide(TestEngine)))

  it.effect("when the adopted PROMOTE fails, the emergency fails with its reason", () =>
    Effect.gen(function*() {
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.switchPool(h.t, id, { pool: poolB })
      const [launch] = yield* h.poll(id)
      yield* TestClock.adjust("20 seconds")
      yield* h.report(id, launch!.id, ok("i-b"))
      const [promote] = yield* h.poll(id)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1" })
      yield* h.report(id, promote!.id, CommandResult.make({ success: false, message: "replica unhealthy", cloudInstanceId: null, data: {} }))
      assert.isNull((yield* h.view(id)).agent.flow)
      const last = (yield* h.events(id)).filter((e) => e.type === "FlowFinished").at(-1)!
      assert.deepStrictEqual([last.data["kind"], last.data["result"], last.data["reason"]], ["emergency", "failed", "replica unhealthy"])
    }).pipe(Effect.provide(TestEngine)))
})

describe("the PRIMARY reclaimed while the emergency replica still boots", () => {
  it.effect("the launch no longer expires at the deadline: the replica is promoted on arrival and the agent recovers", () =>
    Effect.gen(function*() {
      // Found by `npm run chaos`: a 6 s termination notice, a replica booting for 8 s, the reclaim
      // reported at the deadline. The LAUNCH then expired at the old deadline, the flow gave up
      // ("expired before completion") and the agent stayed DEGRADED without a PRIMARY for good.
      const h = yield* harness
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1", deadline: 6_000 })
      // inside the promote margin already: the LAUNCH and the early PROMOTE come together
      const [launch, promote] = yield* h.poll(id)
      assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
      assert.strictEqual(launch!.expiresAt, 6_000)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* TestClock.adjust("6 seconds")
      yield* h.engine.confirmTerminated(h.t, id, { cloudInstanceId: "i-web-1" })
      assert.isTrue((yield* h.view(id)).agent.degraded)
      yield* TestClock.adjust("2 seconds")
      yield* h.engine.maintain(h.t, id) // the command sweep after the deadline
      const during = yield* h.view(id)
      assert.strictEqual(during.commands.find((c) => c.id === launch!.id)!.status, "delivered")
      assert.strictEqual(during.agent.flow!.kind, "emergency")
      yield* h.report(id, launch!.id, ok("i-r"))
      assert.deepStrictEqual(yield* h.poll(id), []) // the PROMOTE in the agent's hands is the one
      yield* h.report(id, promote!.id, ok("i-r"))
      const after = yield* h.view(id)
      assert.isFalse(after.agent.degraded)
      assert.isNull(after.agent.flow)
      assert.strictEqual(yield* h.primaries(id), 1)
      assert.deepStrictEqual(yield* h.roles(id), { "i-web-1": "TERMINATED", "i-r": "PRIMARY" })
    }).pipe(Effect.provide(TestEngine)))

  it.effect("a launch that fails after the PRIMARY is gone falls back to the next pool even past the deadline", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.seedBoot(poolB, [30, 30, 30])
      const id = yield* h.register(poolA)
      yield* h.engine.notice(h.t, id, { kind: "termination", cloudInstanceId: "i-web-1", deadline: 6_000 })
      const [launch] = yield* h.poll(id)
      yield* TestClock.adjust("6 seconds")
      yield* h.engine.confirmTerminated(h.t, id, { cloudInstanceId: "i-web-1" })
      yield* TestClock.adjust("10 seconds")
      yield* h.report(id, launch!.id, noCapacity)
      const [fallback] = yield* h.poll(id)
      assert.strictEqual(fallback!.type, "LAUNCH_INSTANCE")
      assert.notStrictEqual(fallback!.params.az + String(fallback!.params.lifecycle), launch!.params.az + String(launch!.params.lifecycle))
      assert.strictEqual((yield* h.view(id)).agent.flow!.kind, "emergency")
    }).pipe(Effect.provide(TestEngine)))
})
