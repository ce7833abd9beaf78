// @spotfleet/engine from its tarball, as CommonJS (require): the same facade.
const { createEngine, Pool } = require("@spotfleet/engine")

;(async () => {
  const engine = createEngine()
  try {
    const tenant = await engine.createTenant({ name: "smoke-cjs", tokenHash: "1".repeat(64) })
    const { agent } = await engine.register(tenant.id, { logicalAgentId: "api-1", cloudInstanceId: "i-0smoke2", pool: Pool.make("m5.large", "us-east-1b") })
    const beat = await engine.heartbeat(tenant.id, agent.id)
    if (beat.liveness !== "online") throw new Error(`expected online, got ${JSON.stringify(beat)}`)
    console.log(`engine (CJS): registered ${agent.logicalAgentId}, heartbeat answered ${beat.liveness}`)
  } finally {
    await engine.dispose()
  }
})().catch((e) => {
  console.error(e)
  process.exit(1)
})
