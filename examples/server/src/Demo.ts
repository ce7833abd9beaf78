/**
 * The demo fleet of `npm start`: agents of the fleet simulator (examples/simulator) talking to
 * this server over HTTP exactly as real agents do — register, heartbeat, poll, run the commands
 * with realistic boot times (the simulator plays the cloud), report prices from its market model.
 * Notices come far more often than in a real fleet (a few per hour per agent), so emergencies
 * and promotions show up in the dashboard and the event stream within minutes.
 */
import { Simulator } from "@spotfleet/example-simulator"
import { Effect } from "effect"

/** Runs the demo fleet against `baseUrl` with a tenant token until interrupted. */
export const run = (options: {
  readonly baseUrl: string
  readonly token: string
  readonly agents?: number
}): Effect.Effect<unknown, unknown> =>
  Simulator.runFetch({
    baseUrl: options.baseUrl,
    token: options.token,
    agents: options.agents ?? 6,
    name: "demo",
    // Real timers (30 s heartbeats, 5 s polls, prices every 5 min), but boots of a few seconds
    // and a notice per agent about every 20 minutes: something happens on screen every few minutes.
    bootMedianSeconds: 8,
    noticesPerAgentHour: 3,
    manualReplicaShare: 0.34,
    progressMillis: 0
  }).pipe(Effect.catchAll((e) => Effect.logWarning(`demo fleet stopped: ${String((e as { message?: unknown }).message ?? e)}`)))
