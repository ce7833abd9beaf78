import * as SqlClient from "@effect/sql/SqlClient"
import { type Ids, Notification } from "@spotfleet/engine"
import { Effect } from "effect"
import * as SqlRun from "./sqlRun.js"

const columns = "id, tenant_id, agent_id, event_id, kind, severity, title, body, created_at, read_at"

const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

const toNotification = (r: Record<string, unknown>): Notification.Notification =>
  Notification.Notification.make({
    id: num(r["id"]),
    tenantId: String(r["tenant_id"]) as Ids.TenantId,
    agentId: r["agent_id"] === null ? null : (String(r["agent_id"]) as Ids.AgentId),
    eventId: num(r["event_id"]),
    kind: String(r["kind"]),
    severity: String(r["severity"]) as Notification.Severity,
    title: String(r["title"]),
    body: r["body"] === null ? null : String(r["body"]),
    createdAt: num(r["created_at"]),
    readAt: numOrNull(r["read_at"])
  })

/** Rows written per INSERT statement. */
const CHUNK = 500

export const make: Effect.Effect<Notification.NotificationStoreService, never, SqlClient.SqlClient> = Effect.gen(function*() {
  const { exec, query, run } = SqlRun.helpers(yield* SqlClient.SqlClient)

  const insert: Notification.NotificationStoreService["insert"] = (drafts) =>
    run(
      "insertNotifications",
      Effect.gen(function*() {
        let written = 0
        for (let i = 0; i < drafts.length; i += CHUNK) {
          const chunk = drafts.slice(i, i + CHUNK)
          // INSERT IGNORE on the (event_id, kind) unique key: a notification written by an
          // earlier run (or a concurrent projector) is skipped, and affectedRows counts new ones.
          written += yield* exec(
            `INSERT IGNORE INTO notifications (tenant_id, agent_id, event_id, kind, severity, title, body, created_at) VALUES ${
              chunk.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")
            }`,
            chunk.flatMap((d) => [d.tenantId, d.agentId, d.eventId, d.kind, d.severity, d.title, d.body, d.createdAt])
          )
        }
        return written
      })
    )

  const lastEventId: Notification.NotificationStoreService["lastEventId"] = run(
    "lastNotificationEvent",
    Effect.map(query("SELECT COALESCE(MAX(event_id), 0) AS last FROM notifications"), (rows) => num(rows[0]?.["last"] ?? 0))
  )

  const list: Notification.NotificationStoreService["list"] = (tenantId, options = {}) => {
    const where = ["tenant_id = ?"]
    const params: Array<unknown> = [tenantId]
    if (options.beforeId !== undefined) {
      where.push("id < ?")
      params.push(options.beforeId)
    }
    if (options.afterId !== undefined) {
      where.push("id > ?")
      params.push(options.afterId)
    }
    if (options.unreadOnly === true) where.push("read_at IS NULL")
    const limit = Math.max(1, Math.min(500, Math.floor(options.limit ?? 50)))
    return run(
      "listNotifications",
      Effect.map(
        query(
          options.afterId === undefined
            ? `SELECT ${columns} FROM notifications WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ${limit}`
            // after a cursor: the oldest page after it, listed newest first like every page
            : `SELECT * FROM (SELECT ${columns} FROM notifications WHERE ${where.join(" AND ")} ORDER BY id ASC LIMIT ${limit}) page ORDER BY id DESC`,
          params
        ),
        (rows) => rows.map(toNotification)
      )
    )
  }

  const markRead: Notification.NotificationStoreService["markRead"] = (tenantId, which, at) => {
    const ids = which.ids ?? []
    const matches = [
      ...(ids.length > 0 ? [`id IN (${SqlRun.placeholders(ids.length)})`] : []),
      ...(which.upToId !== undefined ? ["id <= ?"] : [])
    ]
    if (matches.length === 0) return Effect.succeed(0)
    return run(
      "markNotificationsRead",
      exec(
        `UPDATE notifications SET read_at = ? WHERE tenant_id = ? AND read_at IS NULL AND (${matches.join(" OR ")})`,
        [at, tenantId, ...ids, ...(which.upToId !== undefined ? [which.upToId] : [])]
      )
    )
  }

  const unreadCount: Notification.NotificationStoreService["unreadCount"] = (tenantId) =>
    run(
      "countUnreadNotifications",
      Effect.map(query("SELECT COUNT(*) AS n FROM notifications WHERE tenant_id = ? AND read_at IS NULL", [tenantId]), (rows) => num(rows[0]?.["n"] ?? 0))
    )

  return { insert, lastEventId, list, markRead, unreadCount } satisfies Notification.NotificationStoreService
})
