/**
 * The `NotificationStore` port of `@spotfleet/engine` on MySQL 8 / MariaDB 10.6+, in the
 * `notifications` table (migration 2; migration 10 adds its read indexes). Writes are
 * `INSERT IGNORE` on the `(event_id, kind)` unique key, so a projector that reads an event twice
 * (after a restart, or a takeover by another process) writes its notification once.
 *
 * ```ts
 * import { MysqlNotificationStore } from "@spotfleet/adapter-mysql"
 * import { Jobs, Notification } from "@spotfleet/engine"
 *
 * const projector = yield* Notification.makeProjector()
 * Jobs.runForever(Notification.job(projector), holder).pipe(Effect.provide(MysqlNotificationStore.layer))
 * ```
 *
 * @since 0.2.0
 */
import type * as SqlClient from "@effect/sql/SqlClient"
import { Notification } from "@spotfleet/engine"
import { type Effect, Layer } from "effect"
import * as internal from "./internal/notificationStore.js"

/**
 * Builds the notification store on the `SqlClient` in context.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make: Effect.Effect<Notification.NotificationStoreService, never, SqlClient.SqlClient> = internal.make

/**
 * The notification store on the `SqlClient` in context.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer: Layer.Layer<Notification.NotificationStore, never, SqlClient.SqlClient> = Layer.effect(Notification.NotificationStore, internal.make)
