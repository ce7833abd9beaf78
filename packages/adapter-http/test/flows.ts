import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { call, client, createTenant } from "./utils.js"

/** register → heartbeat → replica request → poll → launch confirmation → result (+ replay), over HTTP. */
export const agentLifecycle = Effect.gen(function*() {
        const tenant = yield* createTenant(`t-${crypto.randomUUID()}`)
        const api = yield* client(tenant.token)
        const registered = yield* api.agents.register({
          payload: { logicalAgentId: "web-1", instanceId: "i-0001", pool: "t3.medium.us-east-1a" as never },
          headers: {}
        })
        assert.isTrue(registered.created)
        assert.strictEqual(registered.instance.role, "PRIMARY")
        const agentId = registered.agentId
        const beat = yield* api.agents.heartbeat({ path: { agentId }, payload: {}, headers: {} })
        assert.strictEqual(beat.liveness, "online")

        // a manual replica request queues a LAUNCH command for the agent
        const view = yield* api.dashboard.requestReplica({ path: { agentId }, payload: {}, headers: {} })
        assert.isTrue(view.commands.some((c) => c.type === "LAUNCH_INSTANCE"))
        const polled = yield* api.agents.pendingCommands({ path: { agentId } })
        assert.strictEqual(polled.commands.length, 1)
        const launch = polled.commands[0]!
        assert.strictEqual(launch.status, "delivered")

        const launched = yield* api.agents.instanceLaunched({
          path: { agentId },
          payload: { instanceId: "i-0002", commandId: launch.id },
          headers: {}
        })
        assert.isTrue(launched.instances.some((i) => i.cloudInstanceId === "i-0002" && i.role === "REPLICA"))
        const done = yield* api.agents.commandExecuted({
          path: { agentId, commandId: launch.id },
          payload: { success: true, instanceId: "i-0002" },
          headers: { "x-request-id": "exec-1" }
        })
        assert.strictEqual(done.status, "succeeded")
        // the same request id answers the first answer again
        const again = yield* api.agents.commandExecuted({
          path: { agentId, commandId: launch.id },
          payload: { success: false },
          headers: { "x-request-id": "exec-1" }
        })
        assert.strictEqual(again.status, "succeeded")

        const config = yield* api.agents.getConfig({ path: { agentId } })
        assert.strictEqual(config.agentId, agentId)

        const metrics = yield* call("GET", "/metrics")
        assert.strictEqual(metrics.status, 200)
        assert.match(metrics.text, /# TYPE spotfleet_heartbeats_received_total counter/)
        assert.match(metrics.text, /# TYPE spotfleet_optimistic_conflicts_total counter/)
        assert.match(metrics.text, /spotfleet_agents\{status="online"\} [1-9]/)
        assert.match(metrics.text, /spotfleet_instances\{role="REPLICA"\} [1-9]/)
        assert.match(metrics.text, /spotfleet_commands_total\{type="LAUNCH_INSTANCE",status="succeeded"\} [1-9]/)
      })
