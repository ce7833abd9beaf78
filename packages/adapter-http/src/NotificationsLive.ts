/**
 * The handlers of {@link NotificationsApi.NotificationsApi}. They use the engine's
 * `NotificationStore` when the context has one (every store of examples/server provides it);
 * without it the routes answer 503 `NoNotificationStore`.
 *
 * @since 0.2.0
 */
import * as Sse from "@effect/experimental/Sse"
import { HttpApiBuilder } from "@effect/platform"
import { EngineError, Notification } from "@spotfleet/engine"
import { Clock, Effect, Layer, Option, Schema, Stream } from "effect"
import { Api } from "./Api.js"
import * as ApiError from "./ApiError.js"
import * as Events from "./Events.js"
import { HttpConfig } from "./HttpConfig.js"
import * as errors from "./internal/errors.js"
import { Principal } from "./Security.js"

const storeCall = <A>(effect: Effect.Effect<A, EngineError.StoreError>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

const encode = Schema.encodeSync(Notification.Notification)

/**
 * Renders one notification as an SSE block.
 *
 * @since 0.2.0
 * @category encoding
 */
export const renderNotification = (n: Notification.Notification): string =>
  Sse.encoder.write({ _tag: "Event", event: "notification", id: String(n.id), data: JSON.stringify(encode(n)) })

/**
 * The group's handlers.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "notifications">,
  never,
  HttpConfig | Events.SseShutdown | import("./Security.js").TenantAuth
> = HttpApiBuilder.group(Api, "notifications", (handlers) =>
  Effect.gen(function*() {
    const port = yield* Effect.serviceOption(Notification.NotificationStore)
    const context = yield* Effect.context<HttpConfig | Events.SseShutdown>()
    const store = Option.match(port, {
      onNone: () => Effect.fail(new ApiError.ServiceUnavailable({ code: "NoNotificationStore", message: "this server keeps no notifications" })),
      onSome: Effect.succeed
    })
    const tenant = Effect.flatMap(Principal, (p) =>
      p.agentId === null ? Effect.succeed(p.tenantId) : Effect.fail(new ApiError.Forbidden({ code: "Forbidden", message: "an agent token cannot call this route" })))

    return handlers
      .handle("listNotifications", ({ urlParams }) =>
        Effect.gen(function*() {
          const tenantId = yield* tenant
          const s = yield* store
          const notifications = yield* storeCall(s.list(tenantId, {
            beforeId: urlParams.beforeId,
            afterId: urlParams.afterId,
            limit: urlParams.limit,
            unreadOnly: urlParams.unread === "true"
          }))
          return { notifications, unread: yield* storeCall(s.unreadCount(tenantId)) }
        }))
      .handle("markNotificationsRead", ({ payload }) =>
        Effect.gen(function*() {
          const tenantId = yield* tenant
          if (payload.ids === undefined && payload.upToId === undefined) return yield* Effect.fail(ApiError.badField("ids", "give ids or upToId"))
          const s = yield* store
          const marked = yield* storeCall(s.markRead(tenantId, { ids: payload.ids, upToId: payload.upToId }, yield* Clock.currentTimeMillis))
          return { marked, unread: yield* storeCall(s.unreadCount(tenantId)) }
        }))
      .handle("notificationStream", ({ headers, urlParams }) =>
        Effect.gen(function*() {
          const tenantId = yield* tenant
          const s = yield* store
          // From now on unless told where to resume: the newest notification's id.
          const start = headers["last-event-id"] ?? urlParams.after ??
            (yield* Effect.orElseSucceed(Effect.map(s.list(tenantId, { limit: 1 }), (ns) => ns[0]?.id ?? 0), () => 0))
          const blocks = Events.polled(
            start,
            // a page after the cursor is its oldest notifications, listed newest first: put back in id order
            (after) => Effect.map(s.list(tenantId, { afterId: after, limit: 100 }), (ns) => [...ns].reverse()),
            (n) => n.id
          ).pipe(Stream.map(renderNotification))
          return yield* Effect.provide(Events.sseResponse(`connected, notifications after id ${start}`, blocks), context)
        }))
  }))
