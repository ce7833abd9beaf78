/**
 * Port: the event log (outbox), read by id so several readers in several processes can tail it.
 *
 * @since 0.1.0
 */
import { Context, type Effect } from "effect"
import type { DomainEvent, EventDraft, EventType } from "./DomainEvent.js"
import type { StoreError } from "./EngineError.js"
import type { AgentId, TenantId } from "./Ids.js"

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
 * The event log port.
 *
 * @since 0.1.0
 * @category models
 */
export interface EventLogService {
  /** Events after an id, in id order. */
  readonly read: (options: ReadOptions) => Effect.Effect<ReadonlyArray<DomainEvent>, StoreError>
  /** Appends events that belong to no agent aggregate (tenant created, price reported). */
  readonly append: (events: ReadonlyArray<EventDraft>) => Effect.Effect<ReadonlyArray<DomainEvent>, StoreError>
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
