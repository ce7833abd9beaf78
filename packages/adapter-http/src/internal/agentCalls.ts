/**
 * The agent calls that both ways in answer: the HttpApi handlers (ApiLive) and the node:http
 * fast path (AgentFastPath). One implementation, so the two cannot drift apart.
 */
import {
  type AgentStore,
  Command,
  Engine,
  type EventLog,
  type IdempotencyStore,
  type Ids,
  PriceService,
  type PriceStore,
  type StateMachine
} from "@spotfleet/engine"
import { DateTime, Effect } from "effect"
import { type HeartbeatRequest, ReportAccepted } from "../Api.js"
import type * as ApiError from "../ApiError.js"
import type { PrincipalService } from "../Security.js"
import { Forbidden } from "../ApiError.js"
import * as errors from "./errors.js"

/** An engine call with its failure mapped to the HTTP error it is answered with. */
export const engineCall = <A>(effect: Effect.Effect<A, Engine.EngineFailure>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

/** The idempotency key: `X-Request-ID`, else the body's `request_id`. */
export const keyOf = (
  headers: { readonly "x-request-id"?: string | undefined },
  payload?: { readonly request_id?: string | undefined }
): string | undefined => headers["x-request-id"] ?? payload?.request_id

/** A 403 with a message. */
export const forbidden = (message: string) => new Forbidden({ code: "Forbidden", message })

/** An agent token may act only for its own agent. */
export const forAgent = (principal: PrincipalService, agentId: Ids.AgentId): Effect.Effect<void, ApiError.ApiError> =>
  principal.agentId === null || principal.agentId === agentId
    ? Effect.void
    : Effect.fail(forbidden("this agent token belongs to another agent"))

/** Epoch milliseconds of an optional timestamp. */
export const millis = (d: DateTime.Utc | undefined) => (d === undefined ? undefined : DateTime.toEpochMillis(d))

/** An agent's inventory, translated from its dialect. */
export interface Inventory {
  readonly instances: ReadonlyArray<StateMachine.InventoryItem>
  readonly error: string | null
}

/** How long a heartbeat waits for its inventory's reconcile (the agent waits for the answer). */
export const reconcileTimeoutMillis = 5_000

/** Logs a reconcile that failed (it never fails the heartbeat). */
export const reconcileFailed = (agentId: Ids.AgentId, failure: Engine.EngineFailure | undefined) =>
  failure === undefined ? Effect.void : Effect.logWarning(`inventory of agent ${agentId} not reconciled: ${failure._tag}: ${failure.message}`)

/**
 * Hands an inventory that came with a heartbeat to the engine (`Engine.observeInventories`:
 * an inventory reconciled without a change before is not reconciled again). A reconcile that
 * fails (a conflict, the store, past {@link reconcileTimeoutMillis}) is logged and never fails
 * the heartbeat — the v5 agent goes offline for good after one failed heartbeat, and the next
 * inventory reconciles anyway.
 */
export const reconcile = (engine: Engine.EngineService, tenantId: Ids.TenantId, agentId: Ids.AgentId, inventory: Inventory) =>
  inventory.error !== null || inventory.instances.length === 0
    ? Effect.void
    : engine.observeInventories([{ tenantId, agentId, ...inventory }], { timeoutMillis: reconcileTimeoutMillis }).pipe(
      Effect.flatMap((outcomes) => reconcileFailed(agentId, outcomes[0])),
      Effect.catchAllCause((cause) => Effect.logWarning(`inventory of agent ${agentId} not reconciled`, cause))
    )

/** The v1 heartbeat's inventory, as the engine reads it. */
export const inventoryOf = (
  inventory: typeof HeartbeatRequest.Type["inventory"]
): Inventory | undefined =>
  inventory === undefined ? undefined : {
    error: inventory.error ?? null,
    instances: inventory.instances.map((i) => ({
      cloudInstanceId: i.instanceId,
      state: i.state ?? null,
      pool: i.pool ?? null,
      tags: i.tags,
      launchedAt: i.launchedAt === undefined || i.launchedAt === null ? null : DateTime.toEpochMillis(i.launchedAt)
    }))
  }

/** What a pricing report carries once decoded. */
export interface PricingReport {
  readonly instanceId?: string | undefined
  readonly prices: ReadonlyArray<{ readonly pool: string; readonly price: number; readonly observedAt?: DateTime.Utc | undefined }>
  readonly request_id?: string | undefined
}

/** A report's answer from what the engine wrote: how many items it kept, and its events. */
export const accepted = (count: number, eventId: number): typeof ReportAccepted.Type =>
  ReportAccepted.make({ accepted: count, eventIds: eventId === 0 ? [] : [eventId] })

/** The agent calls over the engine and the price service. */
export interface AgentCalls {
  readonly engine: Engine.EngineService
  readonly heartbeat: (
    principal: PrincipalService,
    agentId: Ids.AgentId,
    inventory?: Inventory
  ) => Effect.Effect<Engine.HeartbeatResult, ApiError.ApiError>
  readonly pendingCommands: (
    principal: PrincipalService,
    agentId: Ids.AgentId
  ) => Effect.Effect<{ readonly commands: ReadonlyArray<Command.Command> }, ApiError.ApiError>
  readonly pricingReport: (
    principal: PrincipalService,
    agentId: Ids.AgentId,
    key: string | undefined,
    payload: PricingReport
  ) => Effect.Effect<typeof ReportAccepted.Type, ApiError.ApiError>
}

/** Builds the agent calls. */
export const make: Effect.Effect<
  AgentCalls,
  never,
  Engine.Engine | IdempotencyStore.IdempotencyStore | AgentStore.AgentStore | EventLog.EventLog | PriceStore.PriceStore
> = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const prices = yield* PriceService.make

  const heartbeat = (principal: PrincipalService, agentId: Ids.AgentId, inventory?: Inventory) =>
    Effect.zipRight(
      forAgent(principal, agentId),
      Effect.tap(engineCall(engine.heartbeat(principal.tenantId, agentId)), () =>
        inventory === undefined ? Effect.void : reconcile(engine, principal.tenantId, agentId, inventory))
    )

  const pendingCommands = (principal: PrincipalService, agentId: Ids.AgentId) =>
    Effect.zipRight(
      forAgent(principal, agentId),
      Effect.map(engineCall(engine.pollCommands(principal.tenantId, agentId)), (commands): { readonly commands: ReadonlyArray<Command.Command> } => ({ commands }))
    )

  // The engine's PriceService validates, records and keeps the report idempotent by its key.
  const pricingReport = (principal: PrincipalService, agentId: Ids.AgentId, key: string | undefined, payload: PricingReport) =>
    Effect.zipRight(
      forAgent(principal, agentId),
      Effect.map(
        engineCall(prices.ingest(principal.tenantId, agentId, {
          cloudInstanceId: payload.instanceId,
          prices: payload.prices.map((p) => ({ pool: p.pool, price: p.price, observedAt: millis(p.observedAt) }))
        }, { idempotencyKey: key })),
        (result) => accepted(result.snapshots, result.eventId)
      )
    )

  return { engine, heartbeat, pendingCommands, pricingReport }
})
