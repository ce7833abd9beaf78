/**
 * Notifications: the conformance suite on the in-memory store, the rule on real engine events,
 * and the projector (resumes where the store stopped, never writes twice).
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import { CommandResult } from "../src/Command.js"
import * as Engine from "../src/Engine.js"
import { EventLog } from "../src/EventLog.js"
import * as MemoryStore from "../src/MemoryStore.js"
import * as Notification from "../src/Notification.js"
import * as Pool from "../src/Pool.js"
import * as NotificationStoreSuite from "../src/testing/NotificationStoreSuite.js"

NotificationStoreSuite.suite("memory", Notification.layerMemory)

const ok = (cloudInstanceId: string | null = null) => CommandResult.make({ success: true, message: null, cloudInstanceId, data: {} })

const TestLayer = Layer.mergeAll(Engine.layer({ leaseSeconds: 600 }), Notification.layerMemory).pipe(Layer.provideMerge(MemoryStore.layer))

describe("notifications from engine events", () => {
  it.effect("a termination notice opens an emergency and quarantines the pool; the promotion closes it; a re-run or a new projector writes nothing twice", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const store = yield* Notification.NotificationStore
      const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "a".repeat(64) })
      const other = yield* engine.createTenant({ name: "other", tokenHash: "b".repeat(64) })
      const poolA = Pool.make("t3.medium", "us-east-1a")
      const { agent } = yield* engine.register(tenant.id, { logicalAgentId: "web", cloudInstanceId: "i-web", pool: poolA })
      yield* engine.register(other.id, { logicalAgentId: "quiet", cloudInstanceId: "i-quiet", pool: poolA })
      // a ready replica, so the notice is answered with a promotion
      yield* engine.requestReplica(tenant.id, agent.id, { pool: Pool.make("t3.medium", "us-east-1b") })
      const [launch] = yield* engine.pollCommands(tenant.id, agent.id)
      yield* TestClock.adjust("30 seconds")
      yield* engine.reportResult(tenant.id, agent.id, { commandId: launch!.id, result: ok("i-replica") })

      const projector = yield* Notification.makeProjector({ batch: 2 })
      const quiet = yield* projector
      assert.strictEqual(quiet.written, 0, "registration and replicas are not worth a notification")

      yield* engine.notice(tenant.id, agent.id, { kind: "termination", cloudInstanceId: "i-web" })
      const first = yield* projector
      assert.strictEqual(first.written, 2)
      const opened = yield* store.list(tenant.id)
      assert.deepStrictEqual(opened.map((n) => [n.kind, n.severity]), [["pool-quarantined", "warning"], ["emergency-opened", "critical"]])
      assert.include(opened[1]!.title, "i-web")
      assert.include(opened[0]!.title, poolA)
      assert.strictEqual(opened[1]!.agentId, agent.id)

      for (const c of yield* engine.pollCommands(tenant.id, agent.id)) yield* engine.reportResult(tenant.id, agent.id, { commandId: c.id, result: ok() })
      const closed = yield* projector
      assert.strictEqual(closed.written, 1)
      const [latest] = yield* store.list(tenant.id, { limit: 1 })
      assert.deepInclude(latest!, { kind: "emergency-closed", severity: "info" })
      assert.deepStrictEqual(yield* store.list(other.id), [], "the other tenant is told nothing")

      // nothing new: nothing written; a projector of another process starts where the store stopped
      assert.strictEqual((yield* projector).written, 0)
      const log = yield* EventLog
      const everything = yield* log.read({ tenantId: null, afterId: 0, limit: 10_000 })
      const restarted = yield* Notification.makeProjector()
      assert.strictEqual((yield* restarted).written, 0)
      // re-projecting the whole log (a lost resume point) writes each notification once
      assert.strictEqual(yield* store.insert(everything.flatMap(Notification.fromEvent)), 0)
      assert.strictEqual((yield* store.list(tenant.id, { limit: 500 })).length, 3)
    }).pipe(Effect.provide(TestLayer)))

  it("the rule: a switch that failed is told, one that succeeded is not; a termination given up on is critical", () => {
    const event = (type: string, data: Record<string, unknown>) =>
      ({ id: 7, tenantId: "t", agentId: "a", type, at: 1, actor: { kind: "system", id: null }, data }) as never
    assert.deepStrictEqual(Notification.fromEvent(event("FlowFinished", { kind: "switch", result: "succeeded" })), [])
    assert.deepInclude(Notification.fromEvent(event("FlowFinished", { kind: "switch", result: "failed", reason: "no capacity" }))[0]!, {
      kind: "switch-failed",
      body: "no capacity"
    })
    assert.strictEqual(Notification.fromEvent(event("TerminationRetried", { gaveUp: true, cloudInstanceId: "i-1", reason: "x" }))[0]!.severity, "critical")
    assert.strictEqual(Notification.fromEvent(event("InstanceAdopted", { as: "zombie" }))[0]!.kind, "leaked-instance")
    assert.deepStrictEqual(Notification.fromEvent(event("PriceReported", {})), [])
  })
})
