/**
 * The conformance tests of the `NotificationStore` port: idempotent writes per `(eventId, kind)`
 * (also from concurrent writers), the projector's resume point, newest-first paging per tenant,
 * unread filtering and marking read. Every test uses a fresh tenant and fresh event ids, so the
 * store may be shared.
 *
 * @since 0.2.0
 */
import { assert } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { AgentId, TenantId } from "../Ids.js"
import { type NotificationDraft, NotificationStore } from "../Notification.js"
import { describeOn, type SuiteOptions, type Tests, unique } from "./fixtures.js"

/** Event ids far apart per test, so tests sharing one table never meet. */
const eventBase = () => 1_000_000 + Math.floor(Math.random() * 1_000_000_000) * 100

const drafts = (tenantId: TenantId, base: number, count: number, kind = "agent-offline"): Array<NotificationDraft> =>
  Array.from({ length: count }, (_, i) => ({
    tenantId,
    agentId: AgentId.make(`agent-${i}`),
    eventId: base + i,
    kind,
    severity: i % 3 === 0 ? "critical" : "warning",
    title: `title ${i}`,
    body: i % 2 === 0 ? null : `body ${i}`,
    createdAt: 1_700_000_000_000 + i
  }))

/**
 * Registers these tests with the `it` of a layer that provides `NotificationStore`.
 *
 * @since 0.2.0
 */
export const tests: Tests<NotificationStore> = (it) => {
  it.effect("writes each (event, kind) once, also when written again; the resume point is the highest event id", () =>
    Effect.gen(function*() {
      const store = yield* NotificationStore
      const tenant = TenantId.make(`tenant-${unique()}`)
      const base = eventBase()
      assert.strictEqual(yield* store.insert(drafts(tenant, base, 3)), 3)
      assert.strictEqual(yield* store.insert(drafts(tenant, base, 4)), 1, "the first three are there already")
      assert.strictEqual(yield* store.insert(drafts(tenant, base, 2, "pool-quarantined")), 2, "another kind from the same events")
      assert.isAtLeast(yield* store.lastEventId, base + 3)
      const listed = yield* store.list(tenant, { limit: 100 })
      assert.strictEqual(listed.length, 6)
      const first = listed.find((n) => n.eventId === base + 1 && n.kind === "agent-offline")!
      assert.deepInclude(first, { tenantId: tenant, agentId: AgentId.make("agent-1"), severity: "warning" as const, title: "title 1", body: "body 1", createdAt: 1_700_000_000_001, readAt: null })
      assert.isNull(listed.find((n) => n.eventId === base)!.body)
    }))

  it.effect("concurrent writers of the same drafts write each once", () =>
    Effect.gen(function*() {
      const store = yield* NotificationStore
      const tenant = TenantId.make(`tenant-${unique()}`)
      const batch = drafts(tenant, eventBase(), 20)
      const counts = yield* Effect.all(Array.from({ length: 6 }, () => store.insert(batch)), { concurrency: "unbounded" })
      assert.strictEqual(counts.reduce((a, b) => a + b, 0), 20)
      assert.strictEqual((yield* store.list(tenant, { limit: 100 })).length, 20)
    }))

  it.effect("lists one tenant's notifications newest first, in pages, and what is new after an id", () =>
    Effect.gen(function*() {
      const store = yield* NotificationStore
      const tenant = TenantId.make(`tenant-${unique()}`)
      const other = TenantId.make(`tenant-${unique()}`)
      yield* store.insert(drafts(tenant, eventBase(), 7))
      yield* store.insert(drafts(other, eventBase(), 3))
      const all = yield* store.list(tenant, { limit: 100 })
      assert.strictEqual(all.length, 7)
      assert.isTrue(all.every((n) => n.tenantId === tenant))
      const ids = all.map((n) => n.id)
      assert.deepStrictEqual(ids, [...ids].sort((a, b) => b - a), "newest first")
      const page1 = yield* store.list(tenant, { limit: 3 })
      const page2 = yield* store.list(tenant, { limit: 3, beforeId: page1[2]!.id })
      const page3 = yield* store.list(tenant, { limit: 3, beforeId: page2[2]!.id })
      assert.deepStrictEqual([...page1, ...page2, ...page3].map((n) => n.id), ids)
      assert.deepStrictEqual((yield* store.list(tenant, { afterId: ids[2]! })).map((n) => n.id), ids.slice(0, 2))
      // after a cursor, a short page holds the oldest ones after it: a tailing reader misses none
      assert.deepStrictEqual((yield* store.list(tenant, { afterId: ids[6]!, limit: 2 })).map((n) => n.id), [ids[4]!, ids[5]!])
      assert.strictEqual((yield* store.list(tenant)).length, 7, "default page of 50")
    }))

  it.effect("marks read by id or up to an id, for its tenant only; unread filter and count follow", () =>
    Effect.gen(function*() {
      const store = yield* NotificationStore
      const tenant = TenantId.make(`tenant-${unique()}`)
      const other = TenantId.make(`tenant-${unique()}`)
      yield* store.insert(drafts(tenant, eventBase(), 5))
      yield* store.insert(drafts(other, eventBase(), 2))
      const ids = (yield* store.list(tenant)).map((n) => n.id).reverse() // oldest first
      assert.strictEqual(yield* store.unreadCount(tenant), 5)
      const otherIds = (yield* store.list(other)).map((n) => n.id)
      assert.strictEqual(yield* store.markRead(tenant, { ids: otherIds }, 1), 0, "another tenant's ids change nothing")
      assert.strictEqual(yield* store.markRead(tenant, { ids: [ids[4]!] }, 1_000), 1)
      assert.strictEqual(yield* store.markRead(tenant, { upToId: ids[1]! }, 2_000), 2)
      assert.strictEqual(yield* store.markRead(tenant, { upToId: ids[1]! }, 3_000), 0, "already read")
      assert.strictEqual(yield* store.unreadCount(tenant), 2)
      assert.strictEqual(yield* store.unreadCount(other), 2)
      const unread = yield* store.list(tenant, { unreadOnly: true })
      assert.deepStrictEqual(unread.map((n) => n.id), [ids[3]!, ids[2]!])
      const byId = new Map((yield* store.list(tenant)).map((n) => [n.id, n.readAt]))
      assert.deepStrictEqual([byId.get(ids[0]!), byId.get(ids[1]!), byId.get(ids[4]!)], [2_000, 2_000, 1_000])
    }))
}

/**
 * Registers the notification store conformance tests on a layer.
 *
 * @since 0.2.0
 */
export const suite = <E>(name: string, storeLayer: Layer.Layer<NotificationStore, E>, options: SuiteOptions = {}): void =>
  describeOn(`notification store conformance: ${name}`, storeLayer, options, tests)
