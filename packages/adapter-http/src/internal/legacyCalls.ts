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
  type PriceStore
} from "@spotfleet/engine"
import { Effect, Either, Option } from "effect"
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

/** A heartbeat's first try at the store (the fast path's batch write), or none (write it here). */
export type Touched = Either.Either<Engine.HeartbeatResult, Engine.EngineFailure>

/** The v5 calls over the engine and the price service. */
export interface LegacyCalls {
  readonly engine: Engine.EngineService
  /**
   * A v5 heartbeat's answer: never a failure (internal/legacyHeartbeat.ts). `touched` is the
   * outcome of a write already made (a store failure there is retried here as on its own).
   */
  readonly heartbeat: (
    tenantId: Ids.TenantId,
    agentId: Ids.AgentId,
    payload: typeof LegacyHeartbeatRequest.Type,
    touched?: Touched
  ) => Effect.Effect<typeof LegacyHeartbeatResponse.Type>
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

  const heartbeat: LegacyCalls["heartbeat"] = (tenantId, agentId, payload, touched) =>
    Effect.gen(function*() {
      // Never non-2xx for what the server can get past (internal/legacyHeartbeat.ts).
      const reconnect = payload.reconnect === true
      const cacheKey = `${tenantId}/${agentId}`
      const result = touched !== undefined && (Either.isRight(touched) || touched.left._tag !== "StoreError")
        ? touched
        : yield* Effect.either(
          Effect.retry(engine.heartbeat(tenantId, agentId), { schedule: heartbeats.storeRetry, while: (e) => e._tag === "StoreError" })
        )
      if (Either.isLeft(result)) {
        if (result.left._tag === "AgentNotFound") return heartbeats.unknownAgent(agentId, reconnect)
        yield* Effect.logWarning(`v5 heartbeat of agent ${agentId} deferred: ${result.left._tag}`)
        return heartbeats.deferred(agentId, reconnect, configs.last(cacheKey))
      }
      const beat = result.right
      const inventory = payload.inventory_snapshot
      const listed = inventory?.instances ?? []
      const usable = listed.length > 0 && (inventory?.error === undefined || inventory.error === null)
      // The engine reconciles what the inventory shows with what it believes; an empty or
      // failed inventory says nothing. Never a reason to fail the heartbeat.
      yield* agentCalls.reconcile(engine, tenantId, agentId, {
        error: inventory?.error ?? null,
        instances: listed.map(internal.inventoryItem)
      })
      // The config as the register answer carries it: loaded once per agent and config version.
      let config = configs.get(cacheKey, beat.configVersion)
      if (config === undefined) {
        const view = yield* Effect.option(engine.getAgent(tenantId, agentId))
        if (Option.isSome(view)) {
          config = configOf(view.value.agent.config)
          configs.set(cacheKey, view.value.agent.configVersion, config)
        }
      }
      return {
        success: true,
        agent_id: beat.agentId,
        status: beat.liveness,
        reconnected: reconnect,
        config_version: beat.configVersion,
        inventory_checked: usable ? listed.length : 0,
        ...(config === undefined ? {} : { config })
      }
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
      const { agent } = yield* agentCalls.engineCall(engine.getAgent(tenantId, agentId))
      const result = yield* agentCalls.engineCall(prices.ingestRecords(tenantId, agentId, {
        hostInstanceId: str(agent.metadata.instance_id),
        region: str(agent.metadata.region),
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

  return { engine, heartbeat, poll, pricingReport, terminationReport, rebalanceRecommendation }
})
