/**
 * Price operations over the stores: ingest agent price reports into the snapshot tier (with
 * the reporter's role, looked up in its agent aggregate), keep on-demand baselines, and read a
 * pool's price history the way the dashboard shows it (consolidated points plus raw points
 * newer than the last consolidation).
 *
 * The transports (agent API v1, the legacy v5 routes) map their own shapes onto `PriceReport`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Layer } from "effect"
import type { AgentStore } from "./AgentStore.js"
import type { AgentNotFound, InvalidInput, StoreError } from "./EngineError.js"
import type { EventLog } from "./EventLog.js"
import type { AgentId, TenantId } from "./Ids.js"
import * as internal from "./internal/priceService.js"
import type { PoolId } from "./Pool.js"
import type { PriceStore } from "./PriceStore.js"
import type { ConsolidatedPrice, ConsolidationRun, OnDemandPrice, PriceSnapshot, ReporterRole } from "./Pricing.js"

/**
 * One price report of an agent, transport-neutral.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceReport {
  /**
   * The cloud instance that observed the prices. Its role (PRIMARY or REPLICA) is recorded with
   * every snapshot; when absent, the agent's only live instance in the reported pool is assumed.
   */
  readonly cloudInstanceId?: string | undefined
  readonly prices: ReadonlyArray<{ readonly pool: string; readonly price: number; readonly observedAt: number }>
  readonly onDemand?: ReadonlyArray<{ readonly instanceType: string; readonly region: string; readonly price: number }> | undefined
}

/**
 * What an ingestion wrote.
 *
 * @since 0.1.0
 * @category models
 */
export interface IngestResult {
  readonly snapshots: number
  readonly onDemand: number
  /** The role recorded for the reporter of the first price (null when unknown). */
  readonly role: ReporterRole | null
  /** The id of the `PriceReported` event. */
  readonly eventId: number
}

/**
 * A pool's price history as the dashboard shows it.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceHistory {
  readonly pool: PoolId
  readonly consolidated: ReadonlyArray<ConsolidatedPrice>
  /** Agent snapshots observed at or after `rawSince` (not consolidated yet). */
  readonly raw: ReadonlyArray<PriceSnapshot>
  /** The end of the newest successful run's window (or the query's `from` when none). */
  readonly rawSince: number
}

/**
 * The price service.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceServiceService {
  /** Validates and appends a report's prices as snapshots, stores its on-demand prices, and appends one `PriceReported` event. */
  readonly ingest: (
    tenantId: TenantId,
    agentId: AgentId,
    report: PriceReport
  ) => Effect.Effect<IngestResult, AgentNotFound | InvalidInput | StoreError>
  /** Inserts or replaces on-demand prices (observed now). */
  readonly putOnDemand: (
    prices: ReadonlyArray<{ readonly instanceType: string; readonly region: string; readonly price: number }>
  ) => Effect.Effect<ReadonlyArray<OnDemandPrice>, InvalidInput | StoreError>
  readonly onDemandPrices: Effect.Effect<ReadonlyArray<OnDemandPrice>, StoreError>
  readonly history: (
    pool: PoolId,
    window: { readonly from: number; readonly to: number }
  ) => Effect.Effect<PriceHistory, StoreError>
  /**
   * A pool's spot prices over a window as price points (time → price): the consolidated slots,
   * then the agents' raw points not consolidated yet (a raw point wins a tie) — what
   * {@link history} holds, without building a record per point (the savings accrual reads
   * every raw report of its window). Reads the raw points as columns when the store has
   * `PriceStore.bulk`.
   */
  readonly spotPoints: (
    pool: PoolId,
    window: { readonly from: number; readonly to: number }
  ) => Effect.Effect<Map<number, number>, StoreError>
  /** The consolidation run ledger, newest first. */
  readonly runs: (options?: { readonly limit?: number | undefined }) => Effect.Effect<ReadonlyArray<ConsolidationRun>, StoreError>
}

/**
 * The price service tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class PriceService extends Context.Tag("@spotfleet/engine/PriceService")<PriceService, PriceServiceService>() {}

/**
 * Builds the price service over the store ports.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<PriceServiceService, never, AgentStore | EventLog | PriceStore> = internal.make

/**
 * The price service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PriceService, never, AgentStore | EventLog | PriceStore> = Layer.effect(PriceService, make)
