/**
 * N simulated agents speaking the v1 agent API through the typed client, the way the agent on a
 * VM does: register, heartbeat (30 s), poll commands (5 s), report prices (300 s) from a shared
 * price model, now and then get a rebalance or termination notice from "the cloud", and run the
 * commands they are handed with realistic boot times (log-normal), occasional capacity failures
 * and the cloud reclaiming an instance after a termination notice. Every timer is multiplied by
 * `timeScale` (0.01 = a hundred times faster). Every request is timed per endpoint (see
 * {@link Stats}); the run answers a summary.
 */
import { FetchHttpClient, type HttpClient } from "@effect/platform"
import { ApiError, Client } from "@spotfleet/adapter-http"
import type { Command } from "@spotfleet/engine"
import { Console, DateTime, Duration, Effect, Fiber } from "effect"
import * as PriceModel from "./PriceModel.js"
import * as Random from "./Random.js"
import * as Stats from "./Stats.js"

export interface SimulatorOptions {
  readonly baseUrl: string
  /** The tenant token (agents switch to their per-agent token when the server issues one). */
  readonly token: string
  readonly agents: number
  /** Multiplies every timer (default 1 = real time). */
  readonly timeScale?: number
  readonly heartbeatMillis?: number
  readonly pollMillis?: number
  readonly priceReportMillis?: number
  /** Notices per agent per hour of simulated time (default 0.02); a third are terminations. */
  readonly noticesPerAgentHour?: number
  readonly terminationShare?: number
  /** Boot time of a launched instance: log-normal median and sigma (default 45 s, 0.35). */
  readonly bootMedianSeconds?: number
  readonly bootSigma?: number
  /** Probability that a launch fails for lack of spot capacity (default 0.02). */
  readonly launchFailure?: number
  /** Share of agents registered with a manual replica (default 0.2), so launches and promotions happen. */
  readonly manualReplicaShare?: number
  readonly pools?: ReadonlyArray<string>
  /** Prefix of the logical agent ids (default `sim`). */
  readonly name?: string
  readonly seed?: number
  /** Stop after this long (default: run until interrupted). */
  readonly duration?: Duration.DurationInput
  /** Stop when this completes (e.g. on SIGINT); the summary is still answered. */
  readonly stop?: Effect.Effect<void>
  /** Progress every this many real milliseconds (default 10 s; 0 = none). */
  readonly progressMillis?: number
  readonly onProgress?: (summary: Stats.Summary) => Effect.Effect<void>
  /** Registrations in flight at once (default 32). */
  readonly registerConcurrency?: number
  /** The market the agents quote (default: a random walk per pool, {@link PriceModel.make}). */
  readonly market?: PriceModel.PriceModel
  /**
   * Agents that exist already (the first `adopt.length` agents of the fleet): each registers again
   * with its running PRIMARY, which the engine answers with the agent as it is, and goes on from
   * there with the instances it names as running.
   */
  readonly adopt?: ReadonlyArray<AdoptedAgent>
  /** The pools an agent reports prices of (default: its own, two more in its zone and one other). */
  readonly reportPools?: (own: string, pools: ReadonlyArray<string>) => ReadonlyArray<string>
  /**
   * Every how many heartbeats the agent sends its cloud inventory (the instances it runs, with
   * their pools and tags) for the engine to reconcile; default 10 (every 5 minutes at the
   * default rate), 0 = never.
   */
  readonly inventoryEvery?: number
}

/** What the simulated cloud knows of one instance of an agent. */
interface Running {
  readonly pool: string
  readonly tags: Record<string, string>
  readonly launchedAt: number
}

/** An existing agent the simulator takes over (see {@link SimulatorOptions.adopt}). */
export interface AdoptedAgent {
  readonly logicalAgentId: string
  /** Its PRIMARY's cloud instance id. */
  readonly instanceId: string
  readonly pool: string
  /** Every cloud instance id that is running (the PRIMARY and its replicas). */
  readonly running: ReadonlyArray<string>
}

interface Agent {
  readonly logical: string
  readonly agentId: string
  readonly api: Client.Client
  readonly pool: string
  primary: string
  readonly running: Map<string, Running>
  readonly inFlight: Set<string>
  heartbeats: number
}

const apiErrorTags = new Set(["BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge", "TooManyRequests", "InternalError", "ServiceUnavailable"])

/** The status of a failed client call, or `transport` when no answer came. */
export const statusOf = (e: unknown): number | "transport" => {
  const tag = (e as { _tag?: unknown })?._tag
  if (typeof tag === "string" && apiErrorTags.has(tag)) return ApiError.statusOf(e as ApiError.ApiError)
  const status = (e as { response?: { status?: unknown } })?.response?.status
  return typeof status === "number" ? status : "transport"
}

const messageOf = (e: unknown) => {
  const m = (e as { message?: unknown })?.message
  return typeof m === "string" && m !== "" ? m : String(e)
}

let instanceCounter = 0
const cloudId = (random: Random.Random) =>
  `i-${(++instanceCounter).toString(16).padStart(5, "0")}${Math.floor(random.next() * 2 ** 48).toString(16).padStart(12, "0")}`

/** Runs the fleet; answers the summary when `duration` is over (or never, without one). */
export const run = (options: SimulatorOptions): Effect.Effect<Stats.Summary, unknown, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const scale = options.timeScale ?? 1
    const heartbeatMillis = (options.heartbeatMillis ?? 30_000) * scale
    const pollMillis = (options.pollMillis ?? 5_000) * scale
    const priceMillis = (options.priceReportMillis ?? 300_000) * scale
    const noticeChance = (options.noticesPerAgentHour ?? 0.02) * (options.pollMillis ?? 5_000) / 3_600_000
    const random = Random.make(options.seed)
    const pools = options.pools ?? PriceModel.defaultPools
    // the market moves in simulated time
    const started = Date.now()
    const simNow = () => started + (Date.now() - started) / scale
    const market = options.market ?? PriceModel.make(pools, random)
    const stats = new Stats.Stats(random, started)
    const name = options.name ?? "sim"
    const sleep = (millis: number) => Effect.sleep(Duration.millis(Math.max(0, millis)))

    /** Times one call; failures are recorded and answered as `undefined`. */
    const timed = <A, E>(endpoint: string, call: Effect.Effect<A, E>): Effect.Effect<A | undefined> =>
      Effect.suspend(() => {
        const t0 = performance.now()
        return call.pipe(
          Effect.tap(() => Effect.sync(() => stats.record(endpoint, performance.now() - t0))),
          Effect.catchAllCause((cause) =>
            Effect.sync(() => {
              const e = cause._tag === "Fail" ? cause.error : cause
              stats.record(endpoint, performance.now() - t0, { status: statusOf(e), message: messageOf(e).slice(0, 200) })
              return undefined
            })
          )
        )
      })

    const tenant = yield* Client.make({ baseUrl: options.baseUrl, token: options.token })
    const register = (n: number) =>
      Effect.gen(function*() {
        const adopted = options.adopt?.[n]
        const pool = adopted?.pool ?? pools[n % pools.length]!
        const logical = adopted?.logicalAgentId ?? `${name}-${n + 1}`
        const instanceId = adopted?.instanceId ?? cloudId(random)
        const manualReplica = adopted === undefined && random.chance(options.manualReplicaShare ?? 0.2)
        const registered = yield* timed("register", tenant.agents.register({
          payload: {
            logicalAgentId: logical,
            instanceId,
            pool: pool as never,
            metadata: { simulator: true },
            ...(manualReplica ? { config: { manualReplica: true } } : {})
          },
          headers: { "x-request-id": `${logical}-register-${instanceId}` }
        }))
        if (registered === undefined) return undefined
        stats.count("registered")
        const api = registered.agentToken === undefined
          ? tenant
          : yield* Client.make({ baseUrl: options.baseUrl, token: registered.agentToken })
        const primary = registered.instance.cloudInstanceId ?? instanceId
        const agent: Agent = {
          logical,
          agentId: registered.agentId,
          api,
          pool,
          primary,
          // Adopted agents' other instances are taken to run in the PRIMARY's pool (they are matched by id).
          running: new Map([primary, ...(adopted?.running ?? [])].map((id) => [id, { pool, tags: { ManagedBy: "spotfleet" }, launchedAt: Date.now() }])),
          inFlight: new Set(),
          heartbeats: 0
        }
        return agent
      })

    const execute = (agent: Agent, command: Command.Command) =>
      Effect.gen(function*() {
        const path = { agentId: agent.agentId as never }
        const done = (success: boolean, extra: { instanceId?: string; message?: string } = {}) =>
          timed("command-executed", agent.api.agents.commandExecuted({
            path: { ...path, commandId: command.id },
            payload: { success, ...extra, data: { simulated: true } },
            headers: { "x-request-id": `sim-exec-${command.requestId}` }
          })).pipe(Effect.tap(() => Effect.sync(() => stats.count(success ? "commandsExecuted" : "commandsFailed"))))
        switch (command.type) {
          case "LAUNCH_INSTANCE": {
            yield* sleep(random.logNormal(options.bootMedianSeconds ?? 45, options.bootSigma ?? 0.35) * 1000 * scale)
            if (random.chance(options.launchFailure ?? 0.02)) {
              return yield* done(false, { message: "InsufficientInstanceCapacity (simulated)" })
            }
            const id = cloudId(random)
            const target = String(command.params["target_pool"] ?? agent.pool)
            agent.running.set(id, {
              pool: target.startsWith("spot:") ? target.slice("spot:".length) : target,
              // What the cloud API was asked to tag the instance with: ours, for this agent, this launch.
              tags: { ManagedBy: "spotfleet", "spotfleet:agent-id": agent.agentId, "spotfleet:launch-token": String(command.params["temp_instance_id"] ?? "") },
              launchedAt: Date.now()
            })
            stats.count("launches")
            yield* timed("instance-launched", agent.api.agents.instanceLaunched({ path, payload: { instanceId: id, commandId: command.id }, headers: {} }))
            return yield* done(true, { instanceId: id })
          }
          case "PROMOTE_REPLICA_TO_PRIMARY": {
            yield* sleep(random.logNormal(4, 0.5) * 1000 * scale)
            const target = command.params["replica_instance_id"]
            if (typeof target === "string") agent.primary = target
            stats.count("promotions")
            return yield* done(true)
          }
          case "TERMINATE_INSTANCE": {
            const target = command.params["instance_id"]
            if (typeof target === "string" && agent.running.delete(target)) {
              yield* timed("instance-terminated", agent.api.agents.instanceTerminated({ path, payload: { instanceId: target }, headers: {} }))
            }
            return yield* done(true)
          }
          default:
            return yield* done(true)
        }
      }).pipe(Effect.ensuring(Effect.sync(() => agent.inFlight.delete(command.id))))

    const notice = (agent: Agent) =>
      Effect.gen(function*() {
        const instanceId = agent.primary
        const path = { agentId: agent.agentId as never }
        if (random.chance(options.terminationShare ?? 1 / 3)) {
          stats.count("terminationNotices")
          yield* timed("termination-notice", agent.api.agents.terminationNotice({ path, payload: { instanceId }, headers: {} }))
          // the cloud reclaims the instance two minutes later
          yield* sleep(120_000 * scale)
          if (agent.running.delete(instanceId)) {
            stats.count("reclaimed")
            yield* timed("instance-terminated", agent.api.agents.instanceTerminated({ path, payload: { instanceId }, headers: {} }))
          }
        } else {
          stats.count("rebalanceNotices")
          yield* timed("rebalance-notice", agent.api.agents.rebalanceNotice({ path, payload: { instanceId }, headers: {} }))
        }
      })

    const loops = (agent: Agent) => {
      const path = { agentId: agent.agentId as never }
      const inventoryEvery = options.inventoryEvery ?? 10
      const inventory = () => ({
        instances: [...agent.running].map(([instanceId, i]) => ({
          instanceId,
          state: "running",
          pool: i.pool as never,
          tags: i.tags,
          launchedAt: DateTime.unsafeMake(i.launchedAt)
        }))
      })
      const heartbeat = Effect.suspend(() => {
        const withInventory = inventoryEvery > 0 && agent.heartbeats++ % inventoryEvery === inventoryEvery - 1
        return timed("heartbeat", agent.api.agents.heartbeat({ path, payload: withInventory ? { inventory: inventory() } : {}, headers: {} }))
      }).pipe(
        Effect.tap((r) => Effect.sync(() => r !== undefined && stats.count("heartbeats")))
      )
      const poll = Effect.gen(function*() {
        const polled = yield* timed("pending-commands", agent.api.agents.pendingCommands({ path }))
        for (const command of polled?.commands ?? []) {
          if (agent.inFlight.has(command.id)) continue
          agent.inFlight.add(command.id)
          yield* Effect.forkScoped(execute(agent, command))
        }
        if (random.chance(noticeChance)) yield* Effect.forkScoped(notice(agent))
      })
      const prices = Effect.gen(function*() {
        const now = simNow()
        const own = agent.pool
        const others = pools.filter((p) => p !== own && p.split(".")[2] === own.split(".")[2]).slice(0, 2)
        const observed = options.reportPools?.(own, pools) ??
          [own, ...others, ...pools.filter((p) => p !== own && !others.includes(p)).slice(0, 1)]
        const r = yield* timed("pricing-report", agent.api.agents.pricingReport({
          path,
          payload: { instanceId: agent.primary, prices: observed.map((pool) => ({ pool: pool as never, price: market.quote(pool, now) })) },
          headers: {}
        }))
        if (r !== undefined) stats.count("priceReports")
      })
      const every = <R>(millis: number, effect: Effect.Effect<unknown, never, R>) =>
        sleep(random.next() * millis).pipe(Effect.zipRight(Effect.forever(Effect.zipRight(effect, sleep(millis)))))
      return Effect.all([every(heartbeatMillis, heartbeat), every(pollMillis, poll), every(priceMillis, prices)], {
        concurrency: "unbounded",
        discard: true
      })
    }

    const progressMillis = options.progressMillis ?? 10_000
    const onProgress = options.onProgress ?? ((s) => Console.log(Stats.progressLine(s, options.agents)))
    const progress = progressMillis > 0
      ? yield* Effect.forkScoped(Effect.forever(Effect.zipRight(sleep(progressMillis), Effect.suspend(() => onProgress(stats.summary())))))
      : undefined

    const fleet = Effect.gen(function*() {
      const agents = yield* Effect.forEach(Array.from({ length: options.agents }, (_, n) => n), register, {
        concurrency: options.registerConcurrency ?? 32
      })
      yield* Effect.forEach(agents, (agent) => (agent === undefined ? Effect.void : loops(agent)), { concurrency: "unbounded", discard: true })
    })
    const stops = [
      ...(options.duration === undefined ? [] : [Effect.sleep(options.duration)]),
      ...(options.stop === undefined ? [] : [options.stop])
    ]
    yield* stops.length === 0 ? fleet : Effect.raceAll([fleet, ...stops])
    if (progress !== undefined) yield* Fiber.interrupt(progress)
    return stats.summary()
  }).pipe(Effect.scoped)

/** {@link run} with the fetch-based HTTP client. */
export const runFetch = (options: SimulatorOptions): Effect.Effect<Stats.Summary, unknown> =>
  Effect.provide(run(options), FetchHttpClient.layer)
