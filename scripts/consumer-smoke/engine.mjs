// @spotfleet/engine from its tarball, as ESM: the Promise facade end to end in memory.
import { createEngine, EngineClient, Pool } from "@spotfleet/engine"

const engine = createEngine()
try {
  const tenant = await engine.createTenant({ name: "smoke", tokenHash: "0".repeat(64) })
  const { agent } = await engine.register(tenant.id, {
    logicalAgentId: "web-1",
    cloudInstanceId: "i-0smoke1",
    pool: Pool.make("t3.medium", "us-east-1a"),
    config: { manualReplica: true }
  })
  const commands = await engine.pollCommands(tenant.id, agent.id)
  if (!commands.some((c) => c.type === "LAUNCH_INSTANCE")) throw new Error(`expected a replica launch, got ${JSON.stringify(commands.map((c) => c.type))}`)
  const rejected = await engine.getAgent(tenant.id, "agent-nope").then(() => null, (e) => e)
  if (!(rejected instanceof EngineClient.SpotfleetError) || rejected.code !== "AgentNotFound") throw new Error(`expected AgentNotFound, got ${rejected}`)
  console.log(`engine (ESM): registered ${agent.logicalAgentId}, replica launch queued, errors as SpotfleetError`)
} finally {
  await engine.dispose()
}
