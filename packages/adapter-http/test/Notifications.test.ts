/**
 * The notification routes over a real server: listed newest first with the unread count, marked
 * read per tenant, streamed as SSE (resumable); agent tokens refused; 503 without a store.
 */
import { assert, layer } from "@effect/vitest"
import { Notification } from "@spotfleet/engine"
import { Effect, Layer } from "effect"
import { call, createTenant, memoryServer, readSse } from "./utils.js"

// The notification store is in the context the server is built in, so its routes find it.
const withNotifications = memoryServer.pipe(Layer.provideMerge(Notification.layerMemory))

/** Reads `count` SSE notifications (after `lastEventId` when given), then disconnects. */
const readNotifications = (token: string, lastEventId: number | undefined, count: number) =>
  Effect.map(readSse("/api/notifications/stream", token, lastEventId, (blocks) => blocks.length >= count), ({ blocks }) =>
    blocks.map((b) => {
      assert.strictEqual(b.event, "notification")
      const data = JSON.parse(b.data)
      assert.strictEqual(b.id, String(data.id))
      return { id: data.id as number, kind: data.kind as string }
    }))

const terminationNotice = (token: string, name: string) =>
  Effect.gen(function*() {
    const reg = yield* call("POST", "/api/agents/register", {
      token,
      body: { logicalAgentId: name, instanceId: `i-${name}`, pool: "t3.medium.us-east-1a" }
    })
    const agentId = reg.body.agentId as string
    const notice = yield* call("POST", `/api/agents/${agentId}/termination-notice`, { token, body: { instanceId: `i-${name}` } })
    assert.strictEqual(notice.status, 200, notice.text)
    return { agentId, agentToken: reg.body.agentToken as string | undefined }
  })

layer(withNotifications, { timeout: "30 seconds", excludeTestServices: true })("notifications", (it) => {
  it.effect("listed newest first with the unread count, marked read for the caller's tenant only, streamed and resumed", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`n-${crypto.randomUUID()}`)
      const other = yield* createTenant(`o-${crypto.randomUUID()}`)
      const projector = yield* Notification.makeProjector()
      const { agentToken } = yield* terminationNotice(tenant.token, "web-1")
      yield* terminationNotice(other.token, "web-x")
      yield* projector

      const listed = yield* call("GET", "/api/notifications", { token: tenant.token })
      assert.strictEqual(listed.status, 200, listed.text)
      assert.deepStrictEqual(listed.body.notifications.map((n: { kind: string }) => n.kind), ["pool-quarantined", "emergency-opened"])
      assert.strictEqual(listed.body.unread, 2)
      const [newest, oldest] = listed.body.notifications as Array<{ id: number; tenantId: string; severity: string }>
      assert.strictEqual(oldest!.severity, "critical")
      assert.strictEqual(oldest!.tenantId, tenant.id)

      // the stream from the start: both, in id order; resumed after the first: the second only
      const streamed = yield* readNotifications(tenant.token, 0, 2)
      assert.deepStrictEqual(streamed.map((n) => n.id), [oldest!.id, newest!.id])
      const resumed = yield* readNotifications(tenant.token, oldest!.id, 1)
      assert.deepStrictEqual(resumed.map((n) => n.id), [newest!.id])

      // another tenant's ids change nothing; its own mark works once
      const otherIds = (yield* call("GET", "/api/notifications", { token: other.token })).body.notifications.map((n: { id: number }) => n.id)
      assert.deepInclude((yield* call("POST", "/api/notifications/read", { token: tenant.token, body: { ids: otherIds } })).body, { marked: 0, unread: 2 })
      assert.deepInclude((yield* call("POST", "/api/notifications/read", { token: tenant.token, body: { ids: [oldest!.id] } })).body, { marked: 1, unread: 1 })
      const unread = yield* call("GET", "/api/notifications?unread=true", { token: tenant.token })
      assert.deepStrictEqual(unread.body.notifications.map((n: { id: number }) => n.id), [newest!.id])
      assert.deepInclude((yield* call("POST", "/api/notifications/read", { token: tenant.token, body: { upToId: newest!.id } })).body, { marked: 1, unread: 0 })
      assert.strictEqual((yield* call("GET", "/api/notifications", { token: other.token })).body.unread, 2)

      // paging and bad input
      const page = yield* call("GET", `/api/notifications?limit=1&beforeId=${newest!.id}`, { token: tenant.token })
      assert.deepStrictEqual(page.body.notifications.map((n: { id: number }) => n.id), [oldest!.id])
      const empty = yield* call("POST", "/api/notifications/read", { token: tenant.token, body: {} })
      assert.strictEqual(empty.status, 400)
      assert.include(empty.text, "ids")
      assert.strictEqual((yield* call("GET", "/api/notifications?limit=0", { token: tenant.token })).status, 400)
      assert.isString(agentToken, "agent tokens are issued on registration")
      assert.strictEqual((yield* call("GET", "/api/notifications", { token: agentToken! })).status, 403)
      assert.strictEqual((yield* call("GET", "/api/notifications")).status, 401)
    }))
})

layer(memoryServer, { timeout: "30 seconds", excludeTestServices: true })("notifications without a store", (it) => {
  it.effect("answer 503 NoNotificationStore", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`n-${crypto.randomUUID()}`)
      const res = yield* call("GET", "/api/notifications", { token: tenant.token })
      assert.strictEqual(res.status, 503)
      assert.strictEqual(res.body.error.code, "NoNotificationStore")
    }))
})
