/**
 * Price operations over the stores: ingest agent price reports into the snapshot tier (with
 * the reporter's role, looked up in its agent aggregate), keep on-demand baselines, and read
 * prices — a pool's price history the way the dashboard shows it (consolidated points plus raw
 * points newer than the last consolidation), price series for savings, quotes for a switch.
 *
 * The rules of a report live here, the same for every transport:
 *
 * - **Idempotency.** A report sent with a key (a request id) is written once: its snapshots, its
 *   on-demand prices, its `PriceReported` event and the key's record in one commit
 *   (`EventLog.commit`); a repeat answers the first answer, the id of the event included. The
 *   key is scoped by tenant and agent: the same key from another agent of the tenant is
 *   `IdempotencyKeyReused`, not a replay.
 * - **Reporter.** The instance a report names is the reporter (its role is recorded while it is
 *   live); a report that names none is from the instance the agent runs on when its dialect
 *   says so (a v5 agent's registration instance) while it is live, else — per pool — from the
 *   agent's only live instance in that pool.
 * - **Records** (a v5 report): a record is spot or on-demand; a spot record needs a spot pool
 *   (named, or made of its instance type and zone) and a positive price, and takes the report's
 *   time when it has none; an on-demand record needs an instance type and a positive price, and
 *   takes the agent's region when it names none (its registration's, else that of its live
 *   instances, else that of the record's zone). Records that fall short are skipped and counted;
 *   a report with nothing usable writes nothing.
 *
 * The transports (agent API v1, the legacy v5 routes) map their own shapes onto `PriceReport`
 * and `RecordReport`.
 *
 * @since 0.1.0
 */
import { Context, type Effect, Layer } from "effect"
import type { AgentStore } from "./AgentStore.js"
import type { AgentNotFound, DuplicateKey, IdempotencyKeyReused, InvalidInput, StoreError } from "./EngineError.js"
import type { EventLog } from "./EventLog.js"
import type { IdempotencyStore } from "./IdempotencyStore.js"
import type { AgentId, TenantId } from "./Ids.js"
import * as internal from "./internal/priceService.js"
import type { Lifecycle, PoolId } from "./Pool.js"
import type { PriceStore, PriceStoreService } from "./PriceStore.js"
import type * as Product from "./Product.js"
import type { ConsolidatedPrice, ConsolidatedSource, ConsolidationRun, OnDemandPrice, PriceSnapshot, ReporterRole } from "./Pricing.js"
import type { PriceLookup } from "./Savings.js"

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
  /** Prices of pools; one without `observedAt` (epoch milliseconds) was observed when the report arrived. */
  readonly prices: ReadonlyArray<{ readonly pool: string; readonly price: number; readonly observedAt?: number | undefined }>
  readonly onDemand?: ReadonlyArray<{ readonly instanceType: string; readonly region: string; readonly price: number }> | undefined
}

/**
 * One record of a {@link RecordReport}: a price as an agent that classifies nothing itself sends
 * it (see the module's rules for what makes it usable).
 *
 * @since 0.2.0
 * @category models
 */
export interface PriceRecord {
  readonly lifecycle: Lifecycle
  /** A spot record's pool id; when absent or malformed, `instanceType` and `az` make it. */
  readonly pool?: string | undefined
  readonly instanceType?: string | undefined
  readonly az?: string | undefined
  /** An on-demand record's region (when absent: the agent's). */
  readonly region?: string | undefined
  readonly price?: number | null | undefined
  /** Epoch milliseconds (when absent: the report's time). */
  readonly observedAt?: number | undefined
}

/**
 * A report as records, classified and checked one by one by the engine (the v5 dialect's
 * pricing report).
 *
 * @since 0.2.0
 * @category models
 */
export interface RecordReport {
  /** The instance the agent runs on, when its dialect knows it (a v5 agent: its registration's). */
  readonly hostInstanceId?: string | undefined
  /** The region the agent runs in, when its registration says so. */
  readonly region?: string | undefined
  /** When the report was made (epoch milliseconds; when absent: when it arrived). */
  readonly reportedAt?: number | undefined
  readonly records: ReadonlyArray<PriceRecord>
}

/**
 * What running in a pool costs per hour at one time ({@link PriceServiceService.quote}).
 *
 * @since 0.2.0
 * @category models
 */
export interface PriceQuote {
  /** The pool's own price: its spot price, or for an on-demand pool the on-demand baseline. */
  readonly price: number | null
  /** The on-demand baseline of the pool's instance type in its region. */
  readonly onDemandPrice: number | null
}

/**
 * One point of a pool's price chart ({@link PriceServiceService.chart}).
 *
 * @since 0.2.0
 * @category models
 */
export interface ChartPoint {
  readonly at: number
  readonly price: number
  /**
   * A consolidated point's source, or `raw` for a point not consolidated yet (an agent report; in
   * pool options also a backfill record written after the last consolidation run).
   */
  readonly source: ConsolidatedSource | "raw"
  readonly confidence: number | null
  readonly runId: string | null
  readonly snapshotsMerged: number | null
  /** Raw points: the role of the instance that reported it. */
  readonly reporterRole: ReporterRole | null
}

/**
 * One spot pool of an instance type in a region, with its latest price
 * ({@link PriceServiceService.poolOptions}).
 *
 * @since 0.2.0
 * @category models
 */
export interface PoolOption {
  readonly pool: PoolId
  readonly availabilityZone: string
  /**
   * The pool's product (operating system).
   *
   * @since 0.2.0
   */
  readonly product: Product.Product
  readonly price: number
  readonly at: number
  readonly source: ChartPoint["source"]
  /**
   * `(onDemand − price) ÷ onDemand × 100` against the on-demand price of the pool's product,
   * rounded to 2 decimals; null without one.
   */
  readonly savingsPercent: number | null
  /** The cloud's interruption-frequency band (0 `<5%` … 4 `>20%`) from `InterruptionData`; null when unknown. */
  readonly interruptionBand: number | null
  /** The band's label, e.g. `>20%`; null when unknown. */
  readonly interruptionLabel: string | null
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
  /** Records of a {@link RecordReport} that were not usable (0 for a `PriceReport`). */
  readonly skipped: number
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
  /**
   * Validates a report (a bad price fails it, naming the field) and writes its prices as
   * snapshots, its on-demand prices and one `PriceReported` event in one commit — with the
   * idempotency record of `idempotencyKey`, when given (see the module's rules).
   */
  readonly ingest: (
    tenantId: TenantId,
    agentId: AgentId,
    report: PriceReport,
    options?: { readonly idempotencyKey?: string | undefined }
  ) => Effect.Effect<IngestResult, AgentNotFound | InvalidInput | IdempotencyKeyReused | DuplicateKey | StoreError>
  /**
   * Classifies a report's records (unusable ones are skipped and counted) and writes the rest as
   * {@link ingest} does; a report with nothing usable writes nothing (`eventId` 0).
   */
  readonly ingestRecords: (
    tenantId: TenantId,
    agentId: AgentId,
    report: RecordReport
  ) => Effect.Effect<IngestResult, AgentNotFound | InvalidInput | DuplicateKey | StoreError>
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
  /**
   * Price series of some pools over a window, looked back 7 days so the price holding at its
   * start is known, with the on-demand baselines of their instance types and regions: the
   * consolidated points up to the end of the newest successful consolidation run, the raw
   * snapshots (not flagged duplicate) after it. A baseline is the series of the `ondemand:`
   * pools of its type and region, and before their first point the stored on-demand price.
   */
  readonly lookup: (
    pools: ReadonlyArray<PoolId>,
    window: { readonly from: number; readonly to: number }
  ) => Effect.Effect<PriceLookup, StoreError>
  /** What running in each pool costs at `at`, from the prices {@link lookup} reads. */
  readonly quote: (pools: ReadonlyArray<PoolId>, at: number) => Effect.Effect<ReadonlyMap<PoolId, PriceQuote>, StoreError>
  /**
   * A pool's price chart over a window: the consolidated points before `rawSince` (the end of
   * the newest successful consolidation run), then the agents' raw reports not flagged
   * duplicate, by time.
   */
  readonly chart: (
    pool: PoolId,
    window: { readonly from: number; readonly to: number }
  ) => Effect.Effect<{ readonly rawSince: number; readonly points: ReadonlyArray<ChartPoint> }, StoreError>
  /**
   * The spot pools of an instance type in a region that have prices in the window in any tier
   * (snapshots of either source, consolidated, canonical), cheapest first, each with its product,
   * its latest point in the window (the chart's — consolidated up to the last run, raw reports
   * after it — or a later consolidated, canonical or backfilled one), its interruption band (when
   * an `InterruptionData` service is in context) and its savings against the on-demand price of
   * its product: the stored one (a Linux/UNIX price), else the latest reported price of an
   * on-demand pool of the type and product. `onDemandPrice` is the Linux/UNIX one.
   */
  readonly poolOptions: (args: {
    readonly instanceType: string
    readonly region: string
    readonly from: number
    readonly to: number
  }) => Effect.Effect<{ readonly onDemandPrice: number | null; readonly options: ReadonlyArray<PoolOption> }, StoreError>
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
export const make: Effect.Effect<PriceServiceService, never, AgentStore | EventLog | PriceStore | IdempotencyStore> = internal.make

/**
 * The price service as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<PriceService, never, AgentStore | EventLog | PriceStore | IdempotencyStore> = Layer.effect(PriceService, make)

/**
 * {@link PriceServiceService.lookup} over a price store alone (for readers that have no agent
 * or event store at hand, such as the HTTP adapter's savings routes).
 *
 * @since 0.2.0
 * @category reads
 */
export const lookup: (
  store: PriceStoreService,
  pools: ReadonlyArray<PoolId>,
  window: { readonly from: number; readonly to: number }
) => Effect.Effect<PriceLookup, StoreError> = internal.lookupIn

/**
 * {@link PriceServiceService.quote} over a price store alone.
 *
 * @since 0.2.0
 * @category reads
 */
export const quote: (
  store: PriceStoreService,
  pools: ReadonlyArray<PoolId>,
  at: number
) => Effect.Effect<ReadonlyMap<PoolId, PriceQuote>, StoreError> = internal.quoteIn
