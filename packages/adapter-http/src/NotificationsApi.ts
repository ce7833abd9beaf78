/**
 * Operator notifications of one tenant (tenant token): what the engine's notification rule picked
 * from the event log (emergencies opened and closed, pools quarantined, failed switches, degraded
 * or offline agents, leaked instances), kept across restarts. Listed newest first with paging,
 * marked read, and streamed as server-sent events (`event: notification`, `id:` the notification
 * id, resumable with `Last-Event-ID`).
 *
 * @since 0.2.0
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Notification } from "@spotfleet/engine"
import { Schema } from "effect"
import { TenantAuth } from "./Security.js"

const NotificationId = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())

/** @since 0.2.0 @category schemas */
export const NotificationQuery = Schema.Struct({
  /** The next page of a newest-first list: notifications with an id below this. */
  beforeId: Schema.optional(NotificationId),
  /** What is new: notifications with an id above this. */
  afterId: Schema.optional(NotificationId),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500))),
  /** `true`: unread ones only. */
  unread: Schema.optional(Schema.Literal("true", "false"))
})

/** @since 0.2.0 @category schemas */
export const NotificationList = Schema.Struct({
  notifications: Schema.Array(Notification.Notification),
  /** How many of the tenant's notifications are unread (all pages). */
  unread: Schema.Number
}).annotations({ identifier: "NotificationList" })

/** @since 0.2.0 @category schemas */
export const MarkReadRequest = Schema.Struct({
  ids: Schema.optional(Schema.Array(Schema.Number.pipe(Schema.int(), Schema.nonNegative())).pipe(Schema.maxItems(1000))),
  upToId: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.nonNegative()))
}).annotations({ identifier: "MarkReadRequest" })

/** @since 0.2.0 @category schemas */
export const MarkReadResponse = Schema.Struct({
  /** Notifications that were unread and are read now. */
  marked: Schema.Number,
  unread: Schema.Number
}).annotations({ identifier: "MarkReadResponse" })

/** @since 0.2.0 @category schemas */
export const NotificationStreamBody = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
).annotations({ description: "Server-sent events; each `notification` event's data is a JSON Notification" })

/**
 * The notifications group (tenant token; agent tokens are refused).
 *
 * @since 0.2.0
 * @category groups
 */
export class NotificationsApi extends HttpApiGroup.make("notifications")
  .add(
    HttpApiEndpoint.get("listNotifications", "/notifications")
      .setUrlParams(NotificationQuery)
      .addSuccess(NotificationList)
      .annotate(OpenApi.Summary, "The tenant's notifications, newest first, with the unread count")
  )
  .add(
    HttpApiEndpoint.post("markNotificationsRead", "/notifications/read")
      .setPayload(MarkReadRequest)
      .addSuccess(MarkReadResponse)
      .annotate(OpenApi.Summary, "Mark notifications read: by id, or every one up to an id")
  )
  .add(
    HttpApiEndpoint.get("notificationStream", "/notifications/stream")
      .setHeaders(Schema.Struct({ "last-event-id": Schema.optional(NotificationId) }))
      .setUrlParams(Schema.Struct({ after: Schema.optional(NotificationId) }))
      .addSuccess(NotificationStreamBody)
      .annotate(OpenApi.Summary, "Server-sent notifications as they are written")
  )
  .middleware(TenantAuth)
  .prefix("/api")
{}
