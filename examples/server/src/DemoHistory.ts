/**
 * The demo fleet's past, replayed through the engine at start-up so that the dashboard shows real
 * figures in its first minute: the day and a half before the start as backfilled prices (the
 * consolidation job with the demo's price history as its `PriceHistorySource`, as
 * `spotfleet backfill` does), then twelve hours of a six-agent fleet driven through the public
 * engine API with the clock set to each moment of those hours — registrations, heartbeats, price
 * reports every five minutes, every command run as an agent runs it (launches boot for a minute or
 * two), the auto-switch loop every half hour (its decisions logged, its switches carried out), a
 * manual switch and two termination notices (one promoting a warm replica, one launching in an
 * emergency).
 *
 * Nothing is written around the engine: every record comes out of the engine's own transitions,
 * only at past times. The live simulated agents (Demo.ts) take the same agents over afterwards.
 */
import {
  type Agent,
  type AgentStore,
  AutoSwitch,
  Command,
  ConsolidationJob,
  type DecisionLog,
  type DecisionModel,
  Engine,
  type EngineError,
  type Ids,
  Jobs,
  type Pool,
  PriceHistorySource,
  PriceService,
  type PriceStore,
  type TenantStore
} from "@spotfleet/engine"
import { Clock, Effect } from "effect"
import type * as DemoPrices from "./DemoPrices.js"

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** One agent of the demo fleet. */
export interface DemoAgent {
  readonly logical: string
  readonly pool: Pool.PoolId
  readonly config: Agent.AgentConfigPatch
}

/** The demo fleet: auto-switch on three agents, a warm replica on two, one plain. */
export const fleet: ReadonlyArray<DemoAgent> = [
  { logical: "demo-1", pool: "c5a.2xlarge.us-east-1b" as Pool.PoolId, config: { autoSwitch: true } },
  { logical: "demo-2", pool: "c5a.2xlarge.us-east-1d" as Pool.PoolId, config: { autoSwitch: true } },
  { logical: "demo-3", pool: "c5a.2xlarge.us-east-1c" as Pool.PoolId, config: { manualReplica: true } },
  { logical: "demo-4", pool: "c5a.2xlarge.us-east-1e" as Pool.PoolId, config: {} },
  { logical: "demo-5", pool: "c5a.xlarge.us-east-1b" as Pool.PoolId, config: { autoSwitch: true } },
  { logical: "demo-6", pool: "c5a.xlarge.us-east-1c" as Pool.PoolId, config: { manualReplica: true } }
]

/** What the replay left behind, for the live fleet to take over. */
export interface Replayed {
  readonly agents: ReadonlyArray<{
    readonly logicalAgentId: string
    readonly agentId: string
    /** The PRIMARY's cloud instance id and pool now. */
    readonly instanceId: string
    readonly pool: string
    readonly running: ReadonlyArray<string>
  }>
  readonly from: number
  readonly to: number
  readonly counts: Readonly<Record<string, number>>
}

/**
 * A clock that reads `t` when the step starts and runs on in real time from there, so a call
 * made "at" a past moment measures its own duration as it really was.
 */
const clockAt = (t: number): Clock.Clock => {
  const real = Clock.make()
  const anchor = Date.now()
  const now = () => t + (Date.now() - anchor)
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: now,
    currentTimeMillis: Effect.sync(now),
    unsafeCurrentTimeNanos: () => BigInt(now()) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(now()) * 1_000_000n),
    sleep: (d) => real.sleep(d)
  }
}

/** Deterministic pseudo-random numbers (the demo looks the same on every start). */
const random = (seed: number) => () => {
  seed = (seed * 16807) % 2147483647
  return seed / 2147483647
}

/** What the replay reads and writes: the server's engine, stores and jobs' services. */
export type Requirements =
  | Engine.Engine
  | PriceService.PriceService
  | ConsolidationJob.ConsolidationJob
  | AgentStore.AgentStore
  | PriceStore.PriceStore
  | DecisionModel.DecisionModel
  | DecisionLog.DecisionLog
  | TenantStore.TenantStore

/**
 * Replays the demo fleet's past for `tenantId`, ending at `now`: the backfill, then `hours` of
 * the fleet (default 12).
 */
export const replay = (args: {
  readonly tenantId: Ids.TenantId
  readonly prices: DemoPrices.DemoPrices
  readonly now: number
  readonly hours?: number
}): Effect.Effect<Replayed, Engine.EngineFailure | EngineError.InvalidInput | EngineError.StoreError, Requirements> =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const priceService = yield* PriceService.PriceService
    const consolidation = yield* ConsolidationJob.ConsolidationJob
    const { tenantId, prices, now } = args
    const start = now - (args.hours ?? 12) * HOUR
    const next = random(20231230)
    const counts: Record<string, number> = {
      registered: 0, heartbeats: 0, priceReports: 0, commands: 0, launches: 0, promotions: 0, terminations: 0,
      notices: 0, autoSwitchRuns: 0, decisions: 0, mlSwitches: 0, backfilled: 0
    }
    let cloudCounter = 0
    const cloudId = () => `i-0demo${(++cloudCounter).toString(16).padStart(4, "0")}${Math.floor(next() * 2 ** 32).toString(16).padStart(8, "0")}`
    const at = <A, E, R>(t: number, effect: Effect.Effect<A, E, R>) => Effect.withClock(effect, clockAt(t))
    /** A failed step of the story is logged and the story goes on (the demo must start). */
    const step = <A, E, R>(label: string, effect: Effect.Effect<A, E, R>) =>
      Effect.catchAll(effect, (e) => Effect.as(Effect.logWarning(`demo history: ${label}: ${(e as { message?: string }).message ?? String(e)}`), undefined))

    // 1. On-demand prices (the savings baseline) and the backfilled day and a half before the fleet.
    yield* priceService.putOnDemand(prices.onDemand.prices.map((p) => ({ ...p, region: prices.onDemand.region })))
    const backfill = yield* step(
      "backfill",
      consolidation.run({ from: start - 24 * HOUR, to: start }).pipe(
        Effect.provide(PriceHistorySource.layerMemory(prices.rows))
      )
    )
    counts["backfilled"] = backfill?.backfilled ?? 0

    // 2. The fleet registers at the start.
    interface Live {
      readonly spec: DemoAgent
      readonly agentId: Ids.AgentId
      readonly running: Set<string>
      /** Launches under way: the command and when the instance is up. */
      readonly booting: Map<string, { readonly command: Command.Command; readonly readyAt: number }>
      /** Instances the cloud reclaims at a time (after a termination notice). */
      readonly reclaim: Map<string, number>
    }
    const agents: Array<Live> = []
    for (const spec of fleet) {
      const instanceId = cloudId()
      const registered = yield* at(start, engine.register(tenantId, {
        logicalAgentId: spec.logical,
        cloudInstanceId: instanceId,
        pool: spec.pool,
        metadata: { demo: true },
        config: spec.config
      }))
      counts["registered"]!++
      agents.push({ spec, agentId: registered.agent.id, running: new Set([instanceId]), booting: new Map(), reclaim: new Map() })
    }
    const byLogical = (logical: string) => agents.find((a) => a.spec.logical === logical)!
    const primaryOf = (a: Live, t: number) =>
      Effect.map(at(t, engine.getAgent(tenantId, a.agentId)), (view) => view.instances.find((i) => i.role === "PRIMARY"))
    const sameType = (pool: string) => {
      const type = pool.split(".").slice(0, 2).join(".")
      return [...prices.realPools, ...prices.derivedPools].filter((p) => p.startsWith(`${type}.`))
    }

    /** The agent's side of one command, as the simulator (and a real agent) runs it. */
    const execute = (a: Live, command: Command.Command, t: number) =>
      Effect.gen(function*() {
        counts["commands"]!++
        const result = (success: boolean, cloudInstanceId: string | null = null) =>
          at(t, engine.reportResult(tenantId, a.agentId, {
            commandId: command.id,
            result: Command.CommandResult.make({ success, message: null, cloudInstanceId, data: { demo: true } })
          }))
        switch (command.type) {
          case "LAUNCH_INSTANCE":
            // Boots for one to two minutes; confirmed when it is up (see `tick`).
            a.booting.set(command.id, { command, readyAt: t + MINUTE + Math.floor(next() * MINUTE) })
            return
          case "PROMOTE_REPLICA_TO_PRIMARY":
            // The agent takes a few seconds to move the workload over (the switch's downtime).
            counts["promotions"]!++
            return yield* at(t + 4_000 + Math.floor(next() * 8_000), engine.reportResult(tenantId, a.agentId, {
              commandId: command.id,
              result: Command.CommandResult.make({ success: true, message: null, cloudInstanceId: null, data: { demo: true } })
            }))
          case "TERMINATE_INSTANCE": {
            const target = command.params["instance_id"]
            if (typeof target === "string" && a.running.delete(target)) {
              counts["terminations"]!++
              yield* at(t, engine.confirmTerminated(tenantId, a.agentId, { cloudInstanceId: target }))
            }
            return yield* result(true)
          }
          default:
            return yield* result(true)
        }
      })

    const notice = (a: Live, t: number) =>
      Effect.gen(function*() {
        const primary = yield* primaryOf(a, t)
        if (primary?.cloudInstanceId == null) return
        counts["notices"]!++
        yield* at(t, engine.notice(tenantId, a.agentId, { kind: "termination", cloudInstanceId: primary.cloudInstanceId, deadline: t + 2 * MINUTE }))
        a.reclaim.set(primary.cloudInstanceId, t + 2 * MINUTE)
      })

    // 3. Minute by minute: commands every minute, heartbeats and prices every five, the
    // command sweep as the server runs it, the auto-switch loop every half hour, and the story.
    const story: Array<{ readonly at: number; readonly label: string; readonly run: (t: number) => Effect.Effect<unknown, unknown> }> = [
      {
        at: start + 3 * HOUR,
        label: "manual switch of demo-4",
        run: (t) => at(t, engine.switchPool(tenantId, byLogical("demo-4").agentId, { pool: "c5a.2xlarge.us-east-1f" as Pool.PoolId, trigger: "manual" }))
      },
      { at: start + 5 * HOUR + 10 * MINUTE, label: "termination notice of demo-3 (warm replica)", run: (t) => notice(byLogical("demo-3"), t) },
      { at: start + 8 * HOUR + 20 * MINUTE, label: "termination notice of demo-2 (no replica)", run: (t) => notice(byLogical("demo-2"), t) }
    ]
    const end = now - MINUTE
    for (let t = start + MINUTE, n = 1; t < end; t += MINUTE, n++) {
      for (const a of agents) {
        for (const [id, boot] of a.booting) {
          if (boot.readyAt > t) continue
          a.booting.delete(id)
          const instanceId = cloudId()
          a.running.add(instanceId)
          counts["launches"]!++
          yield* step("launch", Effect.zipRight(
            at(t, engine.confirmLaunch(tenantId, a.agentId, { commandId: boot.command.id, cloudInstanceId: instanceId })),
            at(t, engine.reportResult(tenantId, a.agentId, {
              commandId: boot.command.id,
              result: Command.CommandResult.make({ success: true, message: null, cloudInstanceId: instanceId, data: { demo: true } })
            }))
          ))
        }
        for (const [instanceId, when] of a.reclaim) {
          if (when > t) continue
          a.reclaim.delete(instanceId)
          if (a.running.delete(instanceId)) yield* step("reclaim", at(t, engine.confirmTerminated(tenantId, a.agentId, { cloudInstanceId: instanceId })))
        }
        if (n % 5 === 0) {
          yield* step("heartbeat", at(t, engine.heartbeat(tenantId, a.agentId)))
          counts["heartbeats"]!++
          const primary = yield* step("agent", primaryOf(a, t))
          const pools = sameType(primary?.pool ?? a.spec.pool)
          yield* step("price report", at(t, priceService.ingest(tenantId, a.agentId, {
            cloudInstanceId: primary?.cloudInstanceId ?? undefined,
            prices: pools.map((pool) => ({ pool, price: prices.priceAt(pool, t) ?? 0.1, observedAt: t }))
          })))
          counts["priceReports"]!++
        }
        const commands = (yield* step("poll", at(t, engine.pollCommands(tenantId, a.agentId)))) ?? []
        for (const command of commands) yield* step(command.type, execute(a, command, t))
      }
      yield* step("command sweep", at(t, Jobs.sweep))
      for (const event of story) {
        if (event.at > t - MINUTE && event.at <= t) yield* step(event.label, event.run(t))
      }
      if (n % 30 === 0) {
        const summary = yield* step("auto-switch", at(t, AutoSwitch.runOnce()))
        counts["autoSwitchRuns"]!++
        counts["decisions"]! += summary?.decisions ?? 0
        counts["mlSwitches"]! += summary?.switches ?? 0
      }
    }

    // 4. Handed over alive: a heartbeat now, so the liveness job finds every agent online.
    const handed: Array<Replayed["agents"][number]> = []
    for (const a of agents) {
      yield* step("heartbeat", engine.heartbeat(tenantId, a.agentId))
      const view = yield* engine.getAgent(tenantId, a.agentId)
      const primary = view.instances.find((i) => i.role === "PRIMARY")
      if (primary?.cloudInstanceId == null) continue
      const live = new Set(view.instances.filter((i) => i.role !== "TERMINATED" && i.cloudInstanceId !== null).map((i) => i.cloudInstanceId!))
      handed.push({
        logicalAgentId: a.spec.logical,
        agentId: a.agentId,
        instanceId: primary.cloudInstanceId,
        pool: primary.pool,
        running: [...a.running].filter((id) => live.has(id))
      })
    }
    return { agents: handed, from: start, to: now, counts } satisfies Replayed
  })
