/**
 * Port: the event log (outbox), read by id so several readers in several processes can tail it.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { DomainEvent, EventDraft, EventType } from "./DomainEvent.js"
import type { DuplicateKey, StoreError } from "./EngineError.js"
import type { IdempotencyRecord } from "./IdempotencyStore.js"
import type { AgentId, TenantId } from "./Ids.js"
import type { OnDemandPrice, SnapshotDraft } from "./Pricing.js"

/**
 * A read of the log.
 *
 * @since 0.1.0
 * @category models
 */
export interface ReadOptions {
  /** Only this tenant's events (null: every tenant, for system readers). */
  readonly tenantId: TenantId | null
  /** Events with an id strictly greater than this. */
  readonly afterId: number
  readonly limit: number
  readonly agentId?: AgentId | undefined
  /**
   * Only events of these types (a reader that folds a few types, such as the engine's read
   * models, need not read and decode the rest — at fleet scale mostly `PriceReported`).
   */
  readonly types?: ReadonlyArray<EventType> | undefined
}

/**
 * A write that belongs to no agent aggregate, made all or nothing by
 * {@link EventLogService.commit}: events, the price snapshots and on-demand prices they report
 * (an agent's price report), and the idempotency record of the request that made them (a price
 * or switch report sent with a request id).
 *
 * @since 0.2.0
 * @category models
 */
export interface LogCommit {
  readonly events: ReadonlyArray<EventDraft>
  /** Appended to the snapshot tier of the `PriceStore` (see `PriceStore.appendSnapshots`). */
  readonly snapshots?: ReadonlyArray<SnapshotDraft> | undefined
  /** Inserted or replaced per `(instanceType, region)` (see `PriceStore.putOnDemandPrices`). */
  readonly onDemand?: ReadonlyArray<OnDemandPrice> | undefined
  /**
   * Inserted in the same transaction. Its `response` is a JSON object: the store sets the
   * object's `eventIds` member to the ids of the events written (in order), so that a replay of
   * the request answers them too (they are known only once the events are written).
   */
  readonly idempotency?: IdempotencyRecord | undefined
}

/**
 * The event log port.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventLogService {
  /** Events after an id, in id order. */
  readonly read: (options: ReadOptions) => Effect.Effect<ReadonlyArray<DomainEvent>, StoreError>
  /** Appends events that belong to no agent aggregate (tenant created, jobs). */
  readonly append: (events: ReadonlyArray<EventDraft>) => Effect.Effect<ReadonlyArray<DomainEvent>, StoreError>
  /**
   * Writes a {@link LogCommit} all or nothing: when its idempotency key exists already it fails
   * with `DuplicateKey` (entity `"idempotency key"`) and writes nothing — no snapshot, no
   * on-demand price, no event. Otherwise it writes the record (with the events' ids in its
   * response), the snapshots, the on-demand prices and the events with the next ids, and
   * returns the events as stored. The snapshots and on-demand prices go where the
   * `PriceStore` of the same store reads them.
   */
  readonly commit: (commit: LogCommit) => Effect.Effect<ReadonlyArray<DomainEvent>, DuplicateKey | StoreError>
  /** The id of the newest event (0 when empty). */
  readonly latestId: Effect.Effect<number, StoreError>
}

/**
 * The event log tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class EventLog extends Context.Tag("@spotfleet/engine/EventLog")<EventLog, EventLogService>() {}
