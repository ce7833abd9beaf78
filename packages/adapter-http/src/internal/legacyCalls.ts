/**
 * The v5 (legacy) agent calls that both ways in answer: the HttpApi handlers (`LegacyLive`) and
 * the node:http fast path (`AgentFastPathV5`). One implementation over the engine's operations,
 * so the two cannot drift apart; the rules themselves are the engine's.
 */
import {
  Agent as AgentModule,
  Engine,
  type EventLog,
  type IdempotencyStore,
  type Ids,
  type AgentStore,
  PriceService,
  type PriceStore,
  type StateMachine
} from "@spotfleet/engine"
import { Clock, Effect, Either, Option } from "effect"
import type * as ApiError from "../ApiError.js"
import type { LegacyHeartbeatRequest, LegacyHeartbeatResponse, LegacyPricingReport, LegacyRebalanceRecommendation, LegacyTerminationReport } from "../LegacyApi.js"
import * as agentCalls from "./agentCalls.js"
import * as errors from "./errors.js"
import { escapeLogField } from "./inputLimits.js"
import * as internal from "./legacy.js"
import * as heartbeats from "./legacyHeartbeat.js"

/**
 * Commands handed out per legacy poll. The agent runs a poll's commands one after another
 * without heartbeats (a launch may take 300 s, a terminate 180 s), so each answer holds at most
 * what it finishes well inside one command lease.
 */
export const pollLimit = 1

/** How long a price report's facts of the agent's registration are kept (1 min). */
const hostCacheMillis = 60_000

/** The settings the v5 agent reads, from the agent's config. */
export const configOf = (config: AgentModule.AgentConfig): heartbeats.LegacyConfig => ({
  auto_switch_enabled: config.autoSwitch,
  auto_terminate_enabled: config.autoTerminate
})

/** A non-empty string, else `undefined`. */
export const str = (u: unknown): string | undefined => (typeof u === "string" && u.length > 0 ? u : undefined)

/** The answer to a report the engine recorded. */
export const recorded = { success: true, status: "recorded" } as const

/** The answer to a report the engine could not apply (2xx all the same). */
export const ignored = (detail: string) => ({ success: false, status: "ignored", detail }) as const

/** Engine failures that mean "this report cannot be applied", as opposed to "try again later". */
const inapplicable = new Set([
  "InvalidInput",
  "InvalidTransition",
  "InstanceNotFound",
  "CommandNotFound",
  "FlowConflict",
  "LimitExceeded",
  "IdempotencyKeyReused",
  "DuplicateKey"
])

/**
 * Runs an agent report: answers `recorded`, or `ignored` (2xx, logged) when the engine rejects
 * it; an unknown agent (404) and store trouble (503) stay errors.
 */
export const report = (
  operation: string,
  effect: Effect.Effect<unknown, Engine.EngineFailure | ApiError.ApiError>
): Effect.Effect<typeof recorded | ReturnType<typeof ignored>, ApiError.ApiError> =>
  effect.pipe(
    Effect.as(recorded),
    Effect.catchAll((e) => {
      if (inapplicable.has(e._tag)) {
        const detail = "message" in e && typeof e.message === "string" && e.message.length > 0 ? e.message : e._tag
        return Effect.as(
          Effect.logWarning(`legacy ${operation}: ignored (${e._tag}: ${escapeLogField(detail)})`),
          ignored(`${e._tag}: ${detail}`)
        )
      }
      return Effect.fail(errors.isApiError(e) ? e : errors.fromEngine(e as Engine.EngineFailure))
    })
  )

/** A heartbeat's write: its result or its failure. */
export type Touched = Either.Either<Engine.HeartbeatResult, Engine.EngineFailure>

/** The v5 calls over the engine and the price service. */
export interface LegacyCalls {
  readonly engine: Engine.EngineService
  /** A v5 heartbeat's answer: never a failure (internal/legacyHeartbeat.ts). */
  readonly heartbeat: (tenantId: Ids.TenantId, agentId: Ids.AgentId, payload: typeof LegacyHeartbeatRequest.Type) => Effect.Effect<typeof LegacyHeartbeatResponse.Type>
  /**
   * Many v5 heartbeats, each answered (in order) as `heartbeat` answers it: one store write for
   * the batch (`Engine.heartbeats`), their inventories handed to the engine together
   * (`Engine.observeInventories`), the config from the cache — no fiber per heartbeat.
   */
  readonly heartbeats: (
    batch: ReadonlyArray<{ readonly tenantId: Ids.TenantId; readonly agentId: Ids.AgentId; readonly payload: typeof LegacyHeartbeatRequest.Type }>
  ) => Effect.Effect<ReadonlyArray<typeof LegacyHeartbeatResponse.Type>>
  /** The agent's commands in the v5 shape (at most {@link pollLimit}). */
  readonly poll: (tenantId: Ids.TenantId, agentId: Ids.AgentId) => Effect.Effect<{ readonly commands: ReadonlyArray<internal.LegacyCommandShape> }, ApiError.ApiError>
  readonly pricingReport: (
    tenantId: Ids.TenantId,
    agentId: Ids.AgentId,
    payload: typeof LegacyPricingReport.Type
  ) => Effect.Effect<{ readonly success: true; readonly accepted: number; readonly on_demand: number; readonly skipped: number }, ApiError.ApiError>
  readonly terminationReport: (
    tenantId: Ids.TenantId,
    agentId: Ids.AgentId,
    payload: typeof LegacyTerminationReport.Type
  ) => Effect.Effect<typeof recorded | ReturnType<typeof ignored>, ApiError.ApiError>
  readonly rebalanceRecommendation: (
    tenantId: Ids.TenantId,
    agentId: Ids.AgentId,
    payload: typeof LegacyRebalanceRecommendation.Type
  ) => Effect.Effect<typeof recorded | ReturnType<typeof ignored>, ApiError.ApiError>
}

/** Builds the v5 calls. */
export const make: Effect.Effect<
  LegacyCalls,
  never,
  Engine.Engine | IdempotencyStore.IdempotencyStore | AgentStore.AgentStore | EventLog.EventLog | PriceStore.PriceStore
> = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const prices = yield* PriceService.make
  const configs = heartbeats.makeConfigCache(100_000)
  /**
   * What an agent's registration said that a price report needs (the instance it runs on, its
   * region), kept for a minute so reports do not load the agent each time. Bounded.
   */
  const hosts = new Map<string, { readonly hostInstanceId: string | undefined; readonly region: string | undefined; readonly until: number }>()
  const hostOf = (tenantId: Ids.TenantId, agentId: Ids.AgentId) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const key = `${tenantId}/${agentId}`
      const cached = hosts.get(key)
      if (cached !== undefined && cached.until > now) return Effect.succeed(cached)
      return Effect.map(agentCalls.engineCall(engine.getAgent(tenantId, agentId)), ({ agent }) => {
        const host = { hostInstanceId: str(agent.metadata.instance_id), region: str(agent.metadata.region), until: now + hostCacheMillis }
        hosts.delete(key)
        hosts.set(key, host)
        if (hosts.size > 100_000) hosts.delete(hosts.keys().next().value!)
        return host
      })
    })

  type Answer = typeof LegacyHeartbeatResponse.Type
  const translated = new WeakMap<object, { readonly instances: ReadonlyArray<StateMachine.InventoryItem>; readonly error: string | null; readonly checked: number }>()
  type Payload = typeof LegacyHeartbeatRequest.Type

  /** The inventory of a v5 heartbeat as the engine reads it, and how many instances it lists usably. */
  const inventoryOf = (payload: Payload) => {
    const inventory = payload.inventory_snapshot
    // The fast path hands the same decoded inventory again while the agent's does not change.
    const known = inventory ? translated.get(inventory) : undefined
    if (known !== undefined) return known
    const listed = inventory?.instances ?? []
    const error = inventory?.error ?? null
    const result = { instances: listed.map(internal.inventoryItem), error, checked: listed.length > 0 && error === null ? listed.length : 0 }
    if (inventory) translated.set(inventory, result)
    return result
  }

  /** A recorded heartbeat's answer with this config (absent when the server does not know it). */
  const recordedAnswer = (beat: Engine.HeartbeatResult, reconnect: boolean, checked: number, config: heartbeats.LegacyConfig | undefined): Answer => ({
    success: true,
    agent_id: beat.agentId,
    status: beat.liveness,
    reconnected: reconnect,
    config_version: beat.configVersion,
    inventory_checked: checked,
    ...(config === undefined ? {} : { config })
  })

  /** The config as the register answer carries it: loaded once per agent and config version. */
  const configFor = (tenantId: Ids.TenantId, agentId: Ids.AgentId) =>
    Effect.map(Effect.option(engine.getAgent(tenantId, agentId)), (view) => {
      if (Option.isNone(view)) return undefined
      const config = configOf(view.value.agent.config)
      configs.set(`${tenantId}/${agentId}`, view.value.agent.configVersion, config)
      return config
    })

  /** The answer once the heartbeat was written (or not) and its inventory handed to the engine. */
  const answerOf = (
    tenantId: Ids.TenantId,
    agentId: Ids.AgentId,
    payload: Payload,
    checked: number,
    result: Touched
  ): Answer | Effect.Effect<Answer> => {
    // Never non-2xx for what the server can get past (internal/legacyHeartbeat.ts).
    const reconnect = payload.reconnect === true
    const cacheKey = `${tenantId}/${agentId}`
    if (Either.isLeft(result)) {
      if (result.left._tag === "AgentNotFound") return heartbeats.unknownAgent(agentId, reconnect)
      return Effect.as(
        Effect.logWarning(`v5 heartbeat of agent ${agentId} deferred: ${result.left._tag}`),
        heartbeats.deferred(agentId, reconnect, configs.last(cacheKey))
      )
    }
    const beat = result.right
    const config = configs.get(cacheKey, beat.configVersion)
    return config !== undefined
      ? recordedAnswer(beat, reconnect, checked, config)
      : Effect.map(configFor(tenantId, agentId), (loaded) => recordedAnswer(beat, reconnect, checked, loaded))
  }

  const heartbeat: LegacyCalls["heartbeat"] = (tenantId, agentId, payload) =>
    Effect.gen(function*() {
      const result = yield* Effect.either(
        Effect.retry(engine.heartbeat(tenantId, agentId), { schedule: heartbeats.storeRetry, while: (e) => e._tag === "StoreError" })
      )
      const inventory = inventoryOf(payload)
      // The engine reconciles what the inventory shows with what it believes; an empty or
      // failed inventory says nothing. Never a reason to fail the heartbeat.
      if (Either.isRight(result)) yield* agentCalls.reconcile(engine, tenantId, agentId, inventory)
      const answer = answerOf(tenantId, agentId, payload, inventory.checked, result)
      return Effect.isEffect(answer) ? yield* answer : answer
    })

  const heartbeatBatch: LegacyCalls["heartbeats"] = (batch) =>
    Effect.flatMap(engine.heartbeats(batch), (touched) => {
      const inventories = batch.map((c) => inventoryOf(c.payload))
      const recorded = batch.flatMap((c, i) => (Either.isRight(touched[i]!) ? [{ tenantId: c.tenantId, agentId: c.agentId, ...inventories[i]! }] : []))
      return Effect.flatMap(engine.observeInventories(recorded, { timeoutMillis: agentCalls.reconcileTimeoutMillis }), (outcomes) => {
        const answers = batch.map((c, i) =>
          Either.isLeft(touched[i]!) && touched[i]!.left._tag === "StoreError"
            // The batch's write failed: this heartbeat is retried on its own, as on the HttpApi route.
            ? heartbeat(c.tenantId, c.agentId, c.payload)
            : answerOf(c.tenantId, c.agentId, c.payload, inventories[i]!.checked, touched[i]!)
        )
        const failed = recorded.flatMap((r, i) => (outcomes[i] === undefined ? [] : [agentCalls.reconcileFailed(r.agentId, outcomes[i])]))
        const logged = failed.length === 0 ? Effect.void : Effect.all(failed, { discard: true })
        return answers.every((a) => !Effect.isEffect(a))
          ? Effect.as(logged, answers as Array<Answer>)
          : Effect.zipRight(logged, Effect.forEach(answers, (a) => (Effect.isEffect(a) ? a : Effect.succeed(a)), { concurrency: "unbounded" }))
      })
    })

  const poll: LegacyCalls["poll"] = (tenantId, agentId) =>
    Effect.map(
      agentCalls.engineCall(engine.pollCommands(tenantId, agentId, { limit: pollLimit })),
      (commands) => ({ commands: commands.map(internal.renderCommand) })
    )

  const pricingReport: LegacyCalls["pricingReport"] = (tenantId, agentId, payload) =>
    Effect.gen(function*() {
      // What the agent's registration said (its payload is the agent's metadata): the
      // instance it runs on and its region. PriceService decides what they are used for.
      const host = yield* hostOf(tenantId, agentId)
      const result = yield* agentCalls.engineCall(prices.ingestRecords(tenantId, agentId, {
        hostInstanceId: host.hostInstanceId,
        region: host.region,
        reportedAt: internal.parseTimestamp(payload.timestamp),
        records: (payload.pricing_data_array ?? []).map((r): PriceService.PriceRecord => {
          const onDemand = internal.isOnDemandPriceType(r.price_type)
          return {
            lifecycle: onDemand ? "on-demand" : "spot",
            pool: r.pool_id ?? undefined,
            instanceType: r.instance_type ?? undefined,
            az: r.az ?? undefined,
            // An on-demand record carries `price`; a spot one `spot_price` (older agents: `price`).
            price: onDemand ? r.price : r.spot_price ?? r.price,
            observedAt: internal.parseTimestamp(r.timestamp)
          }
        })
      }))
      return { success: true as const, accepted: result.snapshots, on_demand: result.onDemand, skipped: result.skipped }
    })

  const terminationReport: LegacyCalls["terminationReport"] = (tenantId, agentId, payload) => {
    const cloudInstanceId = str(payload.cloud_instance_id)
    if (cloudInstanceId === undefined) return Effect.succeed(ignored("no cloud_instance_id"))
    // As reported (past or not): the engine owns the deadline rule, and a repeat of the
    // same (instance, time) — re-sent every 10 s while it stands — is the same notice.
    const deadline = internal.parseTimestamp(payload.termination_time)
    return report("termination-report", engine.notice(tenantId, agentId, { kind: "termination", cloudInstanceId, deadline }))
  }

  const rebalanceRecommendation: LegacyCalls["rebalanceRecommendation"] = (tenantId, agentId, payload) => {
    const cloudInstanceId = str(payload.cloud_instance_id)
    if (cloudInstanceId === undefined) return Effect.succeed(ignored("no cloud_instance_id"))
    // notice_time is when it was seen, not a deadline: the engine's default applies.
    return report("rebalance-recommendation", engine.notice(tenantId, agentId, { kind: "rebalance", cloudInstanceId }))
  }

  return { engine, heartbeat, heartbeats: heartbeatBatch, poll, pricingReport, terminationReport, rebalanceRecommendation }
})
