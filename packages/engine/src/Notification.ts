/**
 * Notifications: what an operator is told about, kept so that it survives a reload and a restart.
 *
 * The rule ({@link fromEvent}) picks the events that matter — an emergency opened (a termination
 * notice) or closed, the pool quarantine a termination notice starts, a failed switch, an agent
 * degraded or offline, money leaking (a retired instance the cloud still runs, an unknown
 * instance taken in as a ZOMBIE) — and says how urgent each is. A projector ({@link makeProjector},
 * run as the singleton job {@link job}) tails the event log and writes them through the
 * {@link NotificationStore} port; writes are idempotent per `(eventId, kind)`, so a projector that
 * starts again (another process took the job over) may read an event twice without writing it
 * twice. Readers list them newest first with paging and mark them read.
 *
 * @since 0.2.0
 */
import { Context, Duration, Effect, Layer, Ref, Schema } from "effect"
import type { DomainEvent } from "./DomainEvent.js"
import type { StoreError } from "./EngineError.js"
import { EventLog } from "./EventLog.js"
import { AgentId, TenantId } from "./Ids.js"
import * as internal from "./internal/notifications.js"
import type { JobSpec } from "./Jobs.js"

/**
 * How urgent a notification is.
 *
 * @since 0.2.0
 * @category models
 */
export const Severity = Schema.Literal("info", "warning", "critical")
/** @since 0.2.0 @category models */
export type Severity = typeof Severity.Type

/**
 * A stored notification.
 *
 * @since 0.2.0
 * @category models
 */
export class Notification extends Schema.Class<Notification>("Notification")({
  /** Increases with every notification written (paging cursor). */
  id: Schema.Number,
  tenantId: TenantId,
  agentId: Schema.NullOr(AgentId),
  /** The event it was made from. */
  eventId: Schema.Number,
  /** `emergency-opened`, `emergency-closed`, `pool-quarantined`, `rebalance-notice`, `switch-failed`, `agent-degraded`, `agent-offline`, `leaked-instance`. */
  kind: Schema.String,
  severity: Severity,
  title: Schema.String,
  body: Schema.NullOr(Schema.String),
  /** When the event happened (epoch ms). */
  createdAt: Schema.Number,
  /** When it was marked read (epoch ms), null while unread. */
  readAt: Schema.NullOr(Schema.Number)
}) {}

/**
 * A notification to write (the store gives it its id).
 *
 * @since 0.2.0
 * @category models
 */
export interface NotificationDraft {
  readonly tenantId: TenantId
  readonly agentId: AgentId | null
  readonly eventId: number
  readonly kind: string
  readonly severity: Severity
  readonly title: string
  readonly body: string | null
  readonly createdAt: number
}

/**
 * A page of a tenant's notifications.
 *
 * @since 0.2.0
 * @category models
 */
export interface ListOptions {
  /** Only notifications with an id below this (the next page of a newest-first list). */
  readonly beforeId?: number | undefined
  /**
   * Only notifications with an id above this (what is new since a previous read). The page is
   * then the oldest `limit` of them (still listed newest first), so a reader that moves its cursor
   * to the page's newest id misses none.
   */
  readonly afterId?: number | undefined
  /** At most this many (default 50). */
  readonly limit?: number | undefined
  readonly unreadOnly?: boolean | undefined
}

/**
 * What to mark read: the given ids, or every notification up to an id (both: either).
 *
 * @since 0.2.0
 * @category models
 */
export interface MarkRead {
  readonly ids?: ReadonlyArray<number> | undefined
  readonly upToId?: number | undefined
}

/**
 * The notification store port.
 *
 * @since 0.2.0
 * @category models
 */
export interface NotificationStoreService {
  /** Writes the drafts; one whose `(eventId, kind)` is stored already is skipped. Returns how many were new. */
  readonly insert: (drafts: ReadonlyArray<NotificationDraft>) => Effect.Effect<number, StoreError>
  /** The highest event id a notification was made from (0 when none): where a projector resumes. */
  readonly lastEventId: Effect.Effect<number, StoreError>
  /** A tenant's notifications, newest first. */
  readonly list: (tenantId: TenantId, options?: ListOptions) => Effect.Effect<ReadonlyArray<Notification>, StoreError>
  /** Marks unread notifications of the tenant read at `at`; returns how many changed. */
  readonly markRead: (tenantId: TenantId, which: MarkRead, at: number) => Effect.Effect<number, StoreError>
  /** How many of the tenant's notifications are unread. */
  readonly unreadCount: (tenantId: TenantId) => Effect.Effect<number, StoreError>
}

/** @since 0.2.0 @category tags */
export class NotificationStore extends Context.Tag("@spotfleet/engine/NotificationStore")<NotificationStore, NotificationStoreService>() {}

/**
 * The notifications an event gives (none for most events).
 *
 * @since 0.2.0
 * @category rules
 */
export const fromEvent: (event: DomainEvent) => ReadonlyArray<NotificationDraft> = internal.fromEvent

/**
 * The event types {@link fromEvent} can make a notification of.
 *
 * @since 0.2.0
 * @category rules
 */
export const sourceTypes = internal.sourceTypes

const pageOf = (options: ListOptions | undefined): number => Math.max(1, Math.min(500, Math.floor(options?.limit ?? 50)))

/**
 * The in-memory notification store.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeMemory = (): NotificationStoreService => {
  const rows: Array<Notification> = []
  const keys = new Set<string>()
  let maxEventId = 0
  const marks = (n: Notification, which: MarkRead) =>
    (which.ids !== undefined && which.ids.includes(n.id)) || (which.upToId !== undefined && n.id <= which.upToId)
  return {
    insert: (drafts) =>
      Effect.sync(() => {
        let written = 0
        for (const d of drafts) {
          const key = `${d.eventId}:${d.kind}`
          if (keys.has(key)) continue
          keys.add(key)
          maxEventId = Math.max(maxEventId, d.eventId)
          rows.push(Notification.make({ ...d, id: rows.length + 1, readAt: null }))
          written++
        }
        return written
      }),
    lastEventId: Effect.sync(() => maxEventId),
    list: (tenantId, options) =>
      Effect.sync(() => {
        const limit = pageOf(options)
        const matches = (n: Notification) =>
          n.tenantId === tenantId &&
          (options?.beforeId === undefined || n.id < options.beforeId) &&
          (options?.afterId === undefined || n.id > options.afterId) &&
          (options?.unreadOnly !== true || n.readAt === null)
        if (options?.afterId !== undefined) {
          // the oldest page after the cursor (rows are in id order)
          const out: Array<Notification> = []
          for (const n of rows) {
            if (out.length === limit) break
            if (matches(n)) out.push(n)
          }
          return out.reverse()
        }
        const out: Array<Notification> = []
        for (let i = rows.length - 1; i >= 0 && out.length < limit; i--) if (matches(rows[i]!)) out.push(rows[i]!)
        return out
      }),
    markRead: (tenantId, which, at) =>
      Effect.sync(() => {
        let changed = 0
        for (let i = 0; i < rows.length; i++) {
          const n = rows[i]!
          if (n.tenantId !== tenantId || n.readAt !== null || !marks(n, which)) continue
          rows[i] = Notification.make({ ...n, readAt: at })
          changed++
        }
        return changed
      }),
    unreadCount: (tenantId) => Effect.sync(() => rows.filter((n) => n.tenantId === tenantId && n.readAt === null).length)
  }
}

/** @since 0.2.0 @category layers */
export const layerMemory: Layer.Layer<NotificationStore> = Layer.sync(NotificationStore, makeMemory)

/**
 * What one projector run did.
 *
 * @since 0.2.0
 * @category models
 */
export interface Projected {
  /** Events read (of the types notifications come from). */
  readonly events: number
  /** Notifications written (new ones only). */
  readonly written: number
  /** The last event id read. */
  readonly lastEventId: number
}

/**
 * A projector: each run reads the events after the last one it saw (at most `batch` per read,
 * until caught up, of {@link sourceTypes} only) and writes their notifications. It starts from
 * the store's {@link NotificationStoreService.lastEventId}, so a projector in a process that takes
 * the job over resumes where the previous one wrote; events read twice are not written twice.
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeProjector = (
  options: { readonly batch?: number | undefined } = {}
): Effect.Effect<Effect.Effect<Projected, StoreError, EventLog | NotificationStore>> =>
  Effect.gen(function*() {
    const batch = options.batch ?? 1_000
    const cursor = yield* Ref.make<number | null>(null)
    const lock = yield* Effect.makeSemaphore(1)
    return lock.withPermits(1)(Effect.gen(function*() {
      const log = yield* EventLog
      const store = yield* NotificationStore
      let after = (yield* Ref.get(cursor)) ?? (yield* store.lastEventId)
      let events = 0
      let written = 0
      for (;;) {
        const page = yield* log.read({ tenantId: null, afterId: after, limit: batch, types: sourceTypes })
        if (page.length === 0) break
        events += page.length
        written += yield* store.insert(page.flatMap(fromEvent))
        after = page[page.length - 1]!.id
        yield* Ref.set(cursor, after)
        if (page.length < batch) break
      }
      return { events, written, lastEventId: after }
    }))
  })

/**
 * The projector as a singleton job (default every 2 seconds: a notification appears within that
 * of its event).
 *
 * @since 0.2.0
 * @category jobs
 */
export const job = (
  projector: Effect.Effect<Projected, StoreError, EventLog | NotificationStore>,
  every: Duration.DurationInput = Duration.seconds(2)
): JobSpec<EventLog | NotificationStore> => ({
  name: "notifications",
  every,
  run: Effect.map(projector, (p): Readonly<Record<string, unknown>> => ({ ...p }))
})
