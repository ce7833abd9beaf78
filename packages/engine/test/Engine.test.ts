import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Engine, MemoryStore, Pool } from "../src/index.js"
import { CommandResult } from "../src/Command.js"

const EngineLive = Engine.layer().pipe(Layer.provide(MemoryStore.layer))

describe("Engine", () => {
  it.effect("register → poll → launch replica → promote", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "h".repeat(64) })
      const reg = yield* engine.register(tenant.id, {
        logicalAgentId: "web-1",
        cloudInstanceId: "i-1",
        pool: Pool.make("t3.medium", "us-east-1a")
      })
      assert.strictEqual(reg.instance.role, "PRIMARY")
      yield* engine.requestReplica(tenant.id, reg.agent.id, {})
      const [launch] = yield* engine.pollCommands(tenant.id, reg.agent.id)
      assert.strictEqual(launch!.type, "LAUNCH_INSTANCE")
      yield* engine.reportResult(tenant.id, reg.agent.id, {
        commandId: launch!.id,
        result: CommandResult.make({ success: true, message: null, cloudInstanceId: "i-2", data: {} })
      })
      const view = yield* engine.getAgent(tenant.id, reg.agent.id)
      const replica = view.instances.find((i) => i.cloudInstanceId === "i-2")!
      assert.strictEqual(replica.role, "REPLICA")
      yield* engine.promote(tenant.id, reg.agent.id, replica.id)
      const [promote] = yield* engine.pollCommands(tenant.id, reg.agent.id)
      assert.strictEqual(promote!.type, "PROMOTE_REPLICA_TO_PRIMARY")
      yield* engine.reportResult(tenant.id, reg.agent.id, {
        requestId: promote!.requestId,
        result: CommandResult.make({ success: true, message: null, cloudInstanceId: null, data: {} })
      })
      const after = yield* engine.getAgent(tenant.id, reg.agent.id)
      assert.deepStrictEqual(
        after.instances.map((i) => [i.cloudInstanceId, i.role]),
        [["i-1", "TERMINATED"], ["i-2", "PRIMARY"]]
      )
    }).pipe(Effect.provide(EngineLive)))
})

describe("idempotency keys", () => {
  it.effect("a key reused for another agent or another kind of call is refused, never answered with the first answer", () =>
    Effect.gen(function*() {
      const engine = yield* Engine.Engine
      const tenant = yield* engine.createTenant({ name: "acme", tokenHash: "9".repeat(64) })
      const pool = Pool.make("t3.medium", "us-east-1a")
      const a = yield* engine.register(tenant.id, { logicalAgentId: "a", cloudInstanceId: "i-a", pool })
      const b = yield* engine.register(tenant.id, { logicalAgentId: "b", cloudInstanceId: "i-b", pool })
      const first = yield* engine.updateConfig(tenant.id, a.agent.id, { autoTerminate: false }, { idempotencyKey: "k-1" })
      assert.deepStrictEqual(yield* engine.updateConfig(tenant.id, a.agent.id, { autoTerminate: false }, { idempotencyKey: "k-1" }), first)
      const other = yield* Effect.flip(engine.updateConfig(tenant.id, b.agent.id, { autoTerminate: false }, { idempotencyKey: "k-1" }))
      assert.strictEqual(other._tag, "IdempotencyKeyReused")
      yield* engine.notice(tenant.id, a.agent.id, { kind: "rebalance", cloudInstanceId: "i-a" }, { idempotencyKey: "n-1" })
      const kind = yield* Effect.flip(engine.notice(tenant.id, a.agent.id, { kind: "termination", cloudInstanceId: "i-a" }, { idempotencyKey: "n-1" }))
      assert.strictEqual(kind._tag, "IdempotencyKeyReused")
    }).pipe(Effect.provide(EngineLive)))
})
