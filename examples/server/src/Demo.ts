/**
 * The demo fleet: a few simulated agents that talk to the server over HTTP with the typed
 * client, exactly as real agents would — register, heartbeat, poll, run the commands (pretending
 * to be the cloud), report prices. Every few minutes one of them gets a rebalance notice, so the
 * emergency flow shows up in the event stream.
 */
import { FetchHttpClient } from "@effect/platform"
import { Client } from "@spotfleet/adapter-http"
import type { Command } from "@spotfleet/engine"
import { Duration, Effect, Schedule } from "effect"

const pools = ["t3.medium.us-east-1a", "t3.medium.us-east-1b", "m5.large.us-east-1c"] as const

interface Sim {
  readonly logical: string
  agentId: string
  primaryCloudId: string
  readonly pool: string
}

const fakeCloudId = () => `i-${globalThis.crypto.randomUUID().replaceAll("-", "").slice(0, 17)}`

/** Runs the demo fleet against `baseUrl` with a tenant token until interrupted. */
export const run = (options: {
  readonly baseUrl: string
  readonly token: string
  readonly agents?: number
  readonly tickMillis?: number
}): Effect.Effect<unknown, unknown> =>
  Effect.gen(function*() {
    const api = yield* Client.make({ baseUrl: options.baseUrl, token: options.token })
    const tick = Duration.millis(options.tickMillis ?? 5_000)
    const sims: Array<Sim> = []
    for (let n = 0; n < (options.agents ?? 3); n++) {
      const pool = pools[n % pools.length]!
      const cloudId = fakeCloudId()
      const registered = yield* api.agents.register({
        payload: { logicalAgentId: `demo-${n + 1}`, instanceId: cloudId, pool: pool as never, metadata: { demo: true } },
        headers: {}
      })
      sims.push({ logical: `demo-${n + 1}`, agentId: registered.agentId, primaryCloudId: registered.instance.cloudInstanceId ?? cloudId, pool })
    }

    // One agent keeps a warm replica, so LAUNCH commands and role changes show up at once.
    yield* api.dashboard.updateConfig({ path: { agentId: sims[0]!.agentId as never }, payload: { manualReplica: true }, headers: {} })

    const execute = (sim: Sim, command: Command.Command) =>
      Effect.gen(function*() {
        const path = { agentId: sim.agentId as never, commandId: command.id }
        let instanceId: string | null = null
        if (command.type === "LAUNCH_INSTANCE") {
          instanceId = fakeCloudId()
          yield* api.agents.instanceLaunched({
            path: { agentId: sim.agentId as never },
            payload: { instanceId, commandId: command.id },
            headers: {}
          })
        } else if (command.type === "TERMINATE_INSTANCE") {
          const cloudId = typeof command.params["cloudInstanceId"] === "string" ? command.params["cloudInstanceId"] : null
          if (cloudId !== null) {
            yield* api.agents.instanceTerminated({ path: { agentId: sim.agentId as never }, payload: { instanceId: cloudId }, headers: {} })
          }
        }
        yield* api.agents.commandExecuted({
          path,
          payload: { success: true, instanceId, data: { simulated: true } },
          headers: { "x-request-id": `demo-${command.requestId}` }
        })
      })

    const step = (sim: Sim, round: number) =>
      Effect.gen(function*() {
        yield* api.agents.heartbeat({ path: { agentId: sim.agentId as never }, payload: {}, headers: {} })
        const { commands } = yield* api.agents.pendingCommands({ path: { agentId: sim.agentId as never } })
        for (const command of commands) yield* execute(sim, command)
        if (round % 6 === 0) {
          const base = sim.pool.startsWith("m5") ? 0.035 : 0.0125
          yield* api.agents.pricingReport({
            path: { agentId: sim.agentId as never },
            payload: { prices: pools.map((pool) => ({ pool: pool as never, price: +(base * (0.9 + Math.random() * 0.2)).toFixed(5) })) },
            headers: {}
          })
        }
        if (round % 36 === 18 && sim === sims[round % sims.length]) {
          const view = yield* api.dashboard.getAgent({ path: { agentId: sim.agentId as never } })
          const primary = view.instances.find((i) => i.role === "PRIMARY")
          if (primary?.cloudInstanceId) {
            yield* api.agents.rebalanceNotice({ path: { agentId: sim.agentId as never }, payload: { instanceId: primary.cloudInstanceId }, headers: {} })
          }
        }
      }).pipe(Effect.catchAll((e) => Effect.logWarning(`demo agent ${sim.logical}: ${String((e as { message?: unknown }).message ?? e)}`)))

    let round = 0
    yield* Effect.forEach(sims, (sim) => step(sim, round), { concurrency: "unbounded", discard: true }).pipe(
      Effect.tap(() => Effect.sync(() => round++)),
      Effect.repeat(Schedule.spaced(tick))
    )
  }).pipe(Effect.provide(FetchHttpClient.layer))
