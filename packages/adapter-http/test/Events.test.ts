import { assert, layer } from "@effect/vitest"
import { DomainEvent, EventLog, Ids } from "@spotfleet/engine"
import { Effect, Schema } from "effect"
import { call, createTenant, memoryServer, TestServer } from "./utils.js"

interface Received {
  readonly ids: Array<number>
  readonly types: Array<string>
  comments: number
}

/** Opens the stream and collects events until `until` holds; then disconnects. */
const readStream = (token: string, lastEventId: number | undefined, until: (r: Received) => boolean) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    return yield* Effect.promise(async () => {
      const controller = new AbortController()
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "text/event-stream" }
      if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId)
      const response = await fetch(`${baseUrl}/api/events/stream`, { headers, signal: controller.signal })
      assert.strictEqual(response.status, 200)
      assert.include(response.headers.get("content-type") ?? "", "text/event-stream")
      const received: Received = { ids: [], types: [], comments: 0 }
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      const deadline = Date.now() + 10_000
      while (!until(received) && Date.now() < deadline) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += value
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const lines = block.split("\n")
          if (lines.every((l) => l.startsWith(":") || l.startsWith("retry:"))) {
            received.comments += lines.filter((l) => l.startsWith(":")).length
            continue
          }
          const id = lines.find((l) => l.startsWith("id:"))!.slice(3).trim()
          const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n")
          const event = Schema.decodeUnknownSync(DomainEvent.DomainEvent)(JSON.parse(data))
          assert.strictEqual(String(event.id), id)
          assert.strictEqual(lines.find((l) => l.startsWith("event:"))!.slice(6).trim(), event.type)
          received.ids.push(event.id)
          received.types.push(event.type)
        }
      }
      controller.abort()
      await reader.cancel().catch(() => undefined)
      return received
    })
  })

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
