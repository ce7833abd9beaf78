import { assert, layer } from "@effect/vitest"
import { DomainEvent, EventLog, Ids } from "@spotfleet/engine"
import { Effect, Schema } from "effect"
import { call, createTenant, memoryServer, readSse, type SseBlock } from "./utils.js"

interface Received {
  readonly ids: Array<number>
  readonly types: Array<string>
  readonly comments: number
}

/** Opens the event stream and collects events until `until` holds; each block's id and type are the event's. */
const readStream = (token: string, lastEventId: number | undefined, until: (r: Received) => boolean) => {
  const received = (blocks: ReadonlyArray<SseBlock>, comments: number): Received => {
    const events = blocks.map((b) => {
      const event = Schema.decodeUnknownSync(DomainEvent.DomainEvent)(JSON.parse(b.data))
      assert.strictEqual(String(event.id), b.id)
      assert.strictEqual(b.event, event.type)
      return event
    })
    return { ids: events.map((e) => e.id), types: events.map((e) => e.type), comments }
  }
  return Effect.map(readSse("/api/events/stream", token, lastEventId, (blocks, comments) => until(received(blocks, comments))), (r) => received(r.blocks, r.comments))
}

layer(memoryServer, { timeout: "30 seconds", excludeTestServices: true })("SSE /api/events/stream", (it) => {
  it.effect("a reconnect with Last-Event-ID receives exactly the missed events, in order, once", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`s-${crypto.randomUUID()}`)
      const other = yield* createTenant(`o-${crypto.randomUUID()}`)
      const start = (yield* call("GET", "/api/events?limit=1000", { token: tenant.token })).body.lastId as number
      const reg = yield* call("POST", "/api/agents/register", {
        token: tenant.token,
        body: { logicalAgentId: "sse-1", instanceId: "i-sse-1", pool: "t3.medium.us-east-1a" }
      })
      const agentId = reg.body.agentId as string
      // another tenant's events never show up
      yield* call("POST", "/api/agents/register", {
        token: other.token,
        body: { logicalAgentId: "sse-x", instanceId: "i-sse-x", pool: "t3.medium.us-east-1a" }
      })
      const firstPage = (yield* call("GET", `/api/events?after=${start}`, { token: tenant.token })).body.events as Array<{ id: number }>
      assert.isAbove(firstPage.length, 0)

      // first connection: everything after `start`, then it disconnects
      const first = yield* readStream(tenant.token, start, (r) => r.ids.length >= firstPage.length && r.comments >= 2)
      assert.deepStrictEqual(first.ids, firstPage.map((e) => e.id))
      assert.isAtLeast(first.comments, 2, "keep-alive comments")
      const lastSeen = first.ids[first.ids.length - 1]!

      // while disconnected: API changes, and an event written straight into the log as another
      // server process sharing the store would
      yield* call("POST", `/api/agents/${agentId}/pricing-report`, {
        token: tenant.token,
        body: { prices: [{ pool: "t3.medium.us-east-1a", price: 0.0123 }, { pool: "t3.large.us-east-1a", price: 0.05 }] }
      })
      yield* call("PATCH", `/api/agents/${agentId}/config`, { token: tenant.token, body: { autoTerminate: false } })
      const log = yield* EventLog.EventLog
      yield* log.append([
        DomainEvent.EventDraft.make({
          tenantId: Ids.TenantId.make(tenant.id),
          agentId: Ids.AgentId.make(agentId),
          type: "PriceReported",
          at: Date.now(),
          actor: DomainEvent.system,
          data: { pool: "t3.small.us-east-1a", price: 0.004, source: "another-process" }
        })
      ])
      const missed = (yield* call("GET", `/api/events?after=${lastSeen}`, { token: tenant.token })).body.events as Array<{ id: number; type: string }>
      assert.isAtLeast(missed.length, 4)

      // reconnect: exactly the missed ones, then live ones too
      // (a price report: one event; a switch-report needs a switch to report on)
      const live = call("POST", `/api/agents/${agentId}/pricing-report`, {
        token: tenant.token,
        body: { prices: [{ pool: "t3.medium.us-east-1a", price: 0.0123 }] }
      }).pipe(Effect.delay("500 millis"))
      const [second] = yield* Effect.all([
        readStream(tenant.token, lastSeen, (r) => r.ids.length >= missed.length + 1),
        live
      ], { concurrency: 2 })
      assert.strictEqual(second.types[missed.length], "PriceReported", "a live event after the missed ones")
      assert.deepStrictEqual(second.ids.slice(0, missed.length), missed.map((e) => e.id))
      assert.strictEqual(new Set(second.ids).size, second.ids.length, "no duplicates")
      assert.isTrue(second.ids.every((id) => id > lastSeen))
      assert.isTrue(second.ids.every((id, i) => i === 0 || id > second.ids[i - 1]!), "in order")
    }))
})
