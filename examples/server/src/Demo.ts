/**
 * The demo fleet of `npm start`. At start-up its past is replayed through the engine
 * (DemoHistory.ts: real AWS spot prices, on-demand prices, twelve hours of a six-agent fleet with
 * auto-switch decisions, a manual switch and two emergencies), so the dashboard shows real
 * savings, prices and decisions in its first minute. Then agents of the fleet simulator
 * (examples/simulator) take the same agents over and talk to this server over HTTP exactly as
 * real agents do — heartbeat, poll, run the commands with realistic boot times (the simulator
 * plays the cloud), report the demo's price series live. Notices come far more often than in a
 * real fleet (a few per hour per agent), so emergencies and promotions show up within minutes.
 */
import { Simulator } from "@spotfleet/example-simulator"
import type { Engine, EngineError, Ids } from "@spotfleet/engine"
import { Effect } from "effect"
import * as DemoHistory from "./DemoHistory.js"
import * as DemoPrices from "./DemoPrices.js"

/** The demo's prices and its replayed past, for {@link run}. */
export interface Seeded {
  readonly prices: DemoPrices.DemoPrices
  readonly history: DemoHistory.Replayed
}

/** Replays the demo fleet's past for the tenant (see DemoHistory.ts), ending now. */
export const seed = (
  tenantId: Ids.TenantId
): Effect.Effect<Seeded, Engine.EngineFailure | EngineError.InvalidInput | EngineError.StoreError, DemoHistory.Requirements> =>
  Effect.gen(function*() {
    const now = Date.now()
    const prices = DemoPrices.load(now)
    const history = yield* DemoHistory.replay({ tenantId, prices, now })
    return { prices, history } satisfies Seeded
  })

/** Runs the demo fleet against `baseUrl` with a tenant token until interrupted. */
export const run = (options: {
  readonly baseUrl: string
  readonly token: string
  readonly seeded: Seeded
}): Effect.Effect<unknown, unknown> => {
  const { prices, history } = options.seeded
  const typeOf = (pool: string) => pool.split(".").slice(0, 2).join(".")
  return Simulator.runFetch({
    baseUrl: options.baseUrl,
    token: options.token,
    agents: history.agents.length,
    adopt: history.agents,
    name: "demo",
    market: prices.market,
    pools: prices.market.pools,
    // Each agent reports its instance type in every zone (what the auto-switch loop compares).
    reportPools: (own) => prices.market.pools.filter((p) => typeOf(p) === typeOf(own)),
    // Real timers (30 s heartbeats, 5 s polls, prices every 5 min), but boots of a few seconds
    // and a notice per agent about every 20 minutes: something happens on screen every few minutes.
    bootMedianSeconds: 8,
    noticesPerAgentHour: 3,
    progressMillis: 0
  }).pipe(Effect.catchAll((e) => Effect.logWarning(`demo fleet stopped: ${String((e as { message?: unknown }).message ?? e)}`)))
}
