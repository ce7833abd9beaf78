import { assert, describe, it } from "@effect/vitest"
import { createEngine, Pool } from "../src/index.js"
import { SpotfleetError } from "../src/EngineClient.js"

describe("createEngine (Promise facade)", () => {
  it("runs operations as Promises over one runtime", async () => {
    const engine = createEngine()
    try {
      const tenant = await engine.createTenant({ name: "acme", tokenHash: "f".repeat(64) })
      assert.deepStrictEqual((await engine.authenticate("f".repeat(64)))?.id, tenant.id)
      const { agent } = await engine.register(tenant.id, {
        logicalAgentId: "web-1",
        cloudInstanceId: "i-1",
        pool: Pool.make("t3.medium", "us-east-1a")
      })
      await engine.requestReplica(tenant.id, agent.id, {})
      const commands = await engine.pollCommands(tenant.id, agent.id)
      assert.deepStrictEqual(commands.map((c) => c.type), ["LAUNCH_INSTANCE"])
      assert.deepStrictEqual((await engine.listTenants()).map((t) => t.name), ["acme"])
    } finally {
      await engine.dispose()
    }
  })

  it("rejects with a plain SpotfleetError naming the code and fields", async () => {
    const engine = createEngine()
    try {
      const tenant = await engine.createTenant({ name: "acme", tokenHash: "e".repeat(64) })
      const { agent } = await engine.register(tenant.id, {
        logicalAgentId: "web-1",
        cloudInstanceId: "i-1",
        pool: Pool.make("t3.medium", "us-east-1a")
      })
      await engine.updateConfig(tenant.id, agent.id, { autoSwitch: true })
      const error = await engine.updateConfig(tenant.id, agent.id, { manualReplica: true }).then(() => null, (e: unknown) => e)
      assert.instanceOf(error, SpotfleetError)
      const e = error as SpotfleetError
      assert.strictEqual(e.code, "InvalidInput")
      assert.strictEqual(e.details.field, "manualReplica")
      assert.include(e.message, "cannot both be on")
      assert.notInclude(String(e.stack ?? ""), "FiberFailure")
      const missing = await engine.getAgent(tenant.id, "agent-nope" as never).then(() => null, (x: SpotfleetError) => x)
      assert.strictEqual(missing?.code, "AgentNotFound")
    } finally {
      await engine.dispose()
    }
  })
})
