import { NodeHttpServer } from "@effect/platform-node"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { assert, layer } from "@effect/vitest"
import { ConsolidationJob, Engine, InterruptionData, MemoryStore, Pool, Pricing, PriceStore } from "@spotfleet/engine"
import { Effect, Either, Layer, Redacted } from "effect"
import { createServer } from "node:http"
import * as ApiLive from "../src/ApiLive.js"
import { adminToken, call, createTenant, TestServer } from "./utils.js"

/** A server with the default SSE settings (poll every 250 ms), so the latency below is what deployments get. */
const defaultServer = Layer.effect(
  TestServer,
  Effect.map(HttpServer.HttpServer, (server) => ({ baseUrl: `http://127.0.0.1:${(server.address as HttpServer.TcpAddress).port}` }))
).pipe(
  Layer.provideMerge(ApiLive.serve({ adminToken: Redacted.make(adminToken), agentTokenSecret: Redacted.make("agent-secret-for-tests") })),
  Layer.provideMerge(Engine.layer()),
  Layer.provideMerge(MemoryStore.layer),
  // The Spot Advisor format: zz1.large in us-east-1 (Linux) is in band 4 (">20%").
  Layer.provideMerge(InterruptionData.layer(Either.getOrThrow(InterruptionData.decode({
    spot_advisor: { "us-east-1": { Linux: { "zz1.large": { r: 4, s: 61 } } } }
  })))),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
  Layer.provideMerge(FetchHttpClient.layer)
)

const SLOT = Pricing.SLOT_MILLIS
const DAY = 86_400_000

/** Waits on the tenant's SSE stream for the first event of `type` after `after`; answers it and when it arrived. */
const firstEvent = (baseUrl: string, token: string, after: number, type: string) =>
  Effect.promise(async () => {
    const controller = new AbortController()
    const response = await fetch(`${baseUrl}/api/events/stream`, {
      headers: { authorization: `Bearer ${token}`, accept: "text/event-stream", "last-event-id": String(after) },
      signal: controller.signal
    })
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ""
    const deadline = Date.now() + 15_000
    try {
      while (Date.now() < deadline) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += value
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end).split("\n")
          buffer = buffer.slice(end + 2)
          if (block.find((l) => l.startsWith("event:"))?.slice(6).trim() !== type) continue
          const data = JSON.parse(block.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n"))
          return { event: data as { id: number; data: Record<string, any> }, at: Date.now() }
        }
      }
      return null
    } finally {
      controller.abort()
      await reader.cancel().catch(() => undefined)
    }
  })

layer(defaultServer, { timeout: "60 seconds", excludeTestServices: true })("pricing over HTTP", (it) => {
  const setup = (az = "us-east-1a") =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`p-${crypto.randomUUID()}`)
      const type = `c${Math.floor(Math.random() * 1e6)}.large`
      const pool = `${type}.${az}`
      const reg = yield* call("POST", "/api/agents/register", {
        token: tenant.token,
        body: { logicalAgentId: `pr-${crypto.randomUUID()}`, instanceId: `i-${crypto.randomUUID().slice(0, 8)}`, pool }
      })
      assert.strictEqual(reg.status, 200, reg.text)
      return { tenant, type, pool, agentId: reg.body.agentId as string, instanceId: reg.body.instanceId as string }
    })

  it.effect("a v1 pricing report lands in the snapshot tier with the reporter's role and reaches SSE subscribers in under 5 s", () =>
    Effect.gen(function*() {
      const { baseUrl } = yield* TestServer
      const { agentId, pool, tenant } = yield* setup()
      const lastId = (yield* call("GET", "/api/events?limit=1000", { token: tenant.token })).body.lastId as number
      const waiting = yield* Effect.fork(firstEvent(baseUrl, tenant.token, lastId, "PriceReported"))
      yield* Effect.sleep("300 millis") // the subscriber is connected and idle
      const sent = Date.now()
      const res = yield* call("POST", `/api/agents/${agentId}/pricing-report`, {
        token: tenant.token,
        headers: { "x-request-id": `req-${crypto.randomUUID()}` },
        body: { prices: [{ pool, price: 0.0312 }, { pool, price: 0.0315 }] }
      })
      assert.strictEqual(res.status, 200, res.text)
      assert.strictEqual(res.body.accepted, 2)
      assert.strictEqual(res.body.eventIds.length, 1)
      const got = yield* waiting.await.pipe(Effect.flatten)
      assert.isNotNull(got, "no PriceReported event on the stream")
      const latency = got!.at - sent
      console.log(`pricing-report → SSE PriceReported: ${latency} ms`)
      assert.isBelow(latency, 5_000)
      assert.strictEqual(got!.event.id, res.body.eventIds[0])
      assert.strictEqual(got!.event.data.count, 2)
      assert.strictEqual(got!.event.data.role, "PRIMARY")
      const store = yield* PriceStore.PriceStore
      const stored = (yield* store.snapshots({ pools: [pool as never], from: 0, to: Date.now() + 1 }))
      assert.deepStrictEqual(stored.map((s) => [s.price, s.reporterRole, String(s.reporterAgentId), s.source]), [
        [0.0312, "PRIMARY", agentId, "agent"],
        [0.0315, "PRIMARY", agentId, "agent"]
      ])
    }))

  it.effect("history: consolidated points with their source up to the last run, raw reports after it; the run ledger", () =>
    Effect.gen(function*() {
      const { agentId, pool, tenant } = yield* setup()
      const t0 = Math.floor((Date.now() - 6 * 3600_000) / SLOT) * SLOT
      const report = (slot: number, price: number) =>
        call("POST", `/api/agents/${agentId}/pricing-report`, {
          token: tenant.token,
          body: { prices: [{ pool, price, observedAt: new Date(t0 + slot * SLOT + 1000).toISOString() }] }
        })
      for (const [slot, price] of [[0, 0.1], [3, 0.12], [5, 0.13]] as const) assert.strictEqual((yield* report(slot, price)).status, 200)
      const before = (yield* call("GET", `/api/prices/history?pool=${pool}&from=${t0}`, { token: tenant.token })).body
      assert.deepStrictEqual(before.points.map((p: any) => [p.source, p.price]), [["raw", 0.1], ["raw", 0.12], ["raw", 0.13]])

      const job = yield* ConsolidationJob.make({ fillPolicy: "step" })
      const run = yield* job.run({ from: t0, to: t0 + 4 * SLOT })
      assert.strictEqual(run.status, "succeeded")
      assert.strictEqual((yield* report(6, 0.14)).status, 200)

      const after = (yield* call("GET", `/api/prices/history?pool=${pool}&from=${t0}`, { token: tenant.token })).body
      assert.strictEqual(after.rawSince, t0 + 4 * SLOT)
      assert.deepStrictEqual(after.points.map((p: any) => [p.at, p.source, p.price, p.confidence]), [
        [t0, "agent", 0.1, 1],
        [t0 + SLOT, "interpolated", 0.1, 0.8],
        [t0 + 2 * SLOT, "interpolated", 0.1, 0.8],
        [t0 + 3 * SLOT, "agent", 0.12, 1],
        [t0 + 5 * SLOT + 1000, "raw", 0.13, null],
        [t0 + 6 * SLOT + 1000, "raw", 0.14, null]
      ])
      assert.strictEqual(after.points[0].runId, run.id)

      const runs = (yield* call("GET", "/api/prices/consolidation-runs?limit=5", { token: tenant.token })).body.runs
      assert.strictEqual(runs[0].id, run.id)
      assert.strictEqual(runs[0].filled, 2)
      assert.strictEqual((yield* call("GET", "/api/prices/consolidation-runs", {})).status, 401)
      const metrics = (yield* call("GET", "/metrics")).text
      assert.match(metrics, /spotfleet_consolidation_last_success_timestamp_seconds \d/)
      assert.match(metrics, /spotfleet_consolidation_points_total\{kind="filled"\} [1-9]/)
    }))

  it.effect("pool options list pools with prices in any tier and of any age, with product and interruption band", () =>
    Effect.gen(function*() {
      const { tenant } = yield* setup()
      const store = yield* PriceStore.PriceStore
      // An export of 2023, backfilled: consolidated, canonical and backfill-snapshot points only.
      const t = Date.UTC(2023, 10, 11, 18, 15)
      const [a, b, c] = ["us-east-1a", "us-east-1b", "us-east-1c"].map((az) => Pool.make("zz1.large", az))
      yield* store.upsertConsolidated([
        Pricing.ConsolidatedPrice.make({ pool: a!, slotStart: t, price: 0.07, source: "backfilled", confidence: 0.9, runId: "bf-1", snapshotsMerged: 0 })
      ])
      yield* store.upsertCanonical([
        Pricing.CanonicalPrice.make({
          pool: b!, slotStart: t + SLOT, price: 0.05, source: "backfilled", confidence: 0.9, runId: "bf-1",
          features: Pricing.PriceFeatures.make({ rollingMean: 0.05, volatility: 0, spreadToOnDemand: null, notices: 0, interruptions: 0 })
        })
      ])
      yield* store.appendSnapshots([
        Pricing.SnapshotDraft.make({
          tenantId: null, pool: c!, price: 0.06, observedAt: t + 2 * SLOT, reporterAgentId: null, reporterRole: null, source: "backfill", receivedAt: t
        })
      ])
      const options = (query: string) => call("GET", `/api/prices/options?instanceType=zz1.large&region=us-east-1${query}`, { token: tenant.token })
      // The default window is the last 24 hours: a 2023 export is not in it.
      assert.deepStrictEqual((yield* options("")).body.options, [])
      const all = yield* options("&from=0")
      assert.strictEqual(all.status, 200, all.text)
      assert.deepStrictEqual(all.body.options.map((o: any) => [o.availabilityZone, o.price, o.at, o.source, o.product, o.interruptionBand, o.interruptionLabel]), [
        ["us-east-1b", 0.05, t + SLOT, "backfilled", "linux", 4, ">20%"],
        ["us-east-1c", 0.06, t + 2 * SLOT, "raw", "linux", 4, ">20%"],
        ["us-east-1a", 0.07, t, "backfilled", "linux", 4, ">20%"]
      ])
      // A window of any length (no 90-day cap), and a window that ends before it starts is refused.
      const long = yield* options(`&to=${t + DAY}&hours=${24 * 365 * 3}`)
      assert.strictEqual(long.body.options.length, 3)
      const inverted = yield* options(`&from=${t}&to=${t}`)
      assert.strictEqual(inverted.status, 400)
      assert.strictEqual(inverted.body.error.details.field, "from")
      // A pool the interruption data does not know has no band.
      yield* store.upsertConsolidated([
        Pricing.ConsolidatedPrice.make({ pool: Pool.make("zz1.large", "eu-west-1a"), slotStart: t, price: 0.08, source: "backfilled", confidence: 0.9, runId: "bf-1", snapshotsMerged: 0 })
      ])
      const unknown = (yield* call("GET", `/api/prices/options?instanceType=zz1.large&region=eu-west-1&from=0`, { token: tenant.token })).body
      assert.deepStrictEqual(unknown.options.map((o: any) => [o.availabilityZone, o.interruptionBand, o.interruptionLabel]), [["eu-west-1a", null, null]])
    }))

  it.effect("pool options of an instance type: latest price per AZ, cheapest first, savings % against on-demand", () =>
    Effect.gen(function*() {
      const { agentId, tenant, type } = yield* setup()
      const store = yield* PriceStore.PriceStore
      yield* store.putOnDemandPrices([Pricing.OnDemandPrice.make({ instanceType: type, region: "us-east-1", price: 0.4, observedAt: 1 })])
      const res = yield* call("POST", `/api/agents/${agentId}/pricing-report`, {
        token: tenant.token,
        body: {
          prices: [
            { pool: `${type}.us-east-1a`, price: 0.2 },
            { pool: `${type}.us-east-1b`, price: 0.1 },
            { pool: `${type}.us-east-1a`, price: 0.3 },
            { pool: `${type}.eu-west-1a`, price: 0.01 }
          ]
        }
      })
      assert.strictEqual(res.status, 200, res.text)
      const options = (yield* call("GET", `/api/prices/options?instanceType=${type}&region=us-east-1`, { token: tenant.token })).body
      assert.strictEqual(options.onDemandPrice, 0.4)
      assert.deepStrictEqual(options.options.map((o: any) => [o.availabilityZone, o.price, o.savingsPercent, o.source]), [
        ["us-east-1b", 0.1, 75, "raw"],
        ["us-east-1a", 0.3, 25, "raw"]
      ])
      const onDemand = (yield* call("GET", "/api/prices/on-demand", { token: tenant.token })).body.prices
      assert.deepInclude(onDemand, { instanceType: type, region: "us-east-1", price: 0.4, observedAt: 1 })
    }))

  it.effect("products and AZ IDs: pool ids with ~<product> and AZ IDs go in and come back; options name the product and price it against its own on-demand", () =>
    Effect.gen(function*() {
      const { agentId, tenant, type } = yield* setup()
      const store = yield* PriceStore.PriceStore
      yield* store.putOnDemandPrices([Pricing.OnDemandPrice.make({ instanceType: type, region: "us-east-1", price: 0.4, observedAt: 1 })])
      const report = (prices: ReadonlyArray<{ pool: string; price: number }>) =>
        call("POST", `/api/agents/${agentId}/pricing-report`, { token: tenant.token, body: { prices } })
      assert.strictEqual((yield* report([
        { pool: `${type}.us-east-1a`, price: 0.2 },
        { pool: `${type}.us-east-1a~suse`, price: 0.3 },
        { pool: `${type}.use1-az2~windows`, price: 0.5 }
      ])).status, 200)
      const bad = yield* report([{ pool: `${type}.us-east-1a~beos`, price: 0.3 }])
      assert.strictEqual(bad.status, 400)
      assert.include(bad.text, "[~<product>]")

      const history = (yield* call("GET", `/api/prices/history?pool=${type}.us-east-1a~suse&from=0`, { token: tenant.token })).body
      assert.strictEqual(history.pool, `${type}.us-east-1a~suse`)
      assert.deepStrictEqual(history.points.map((p: any) => p.price), [0.3])
      const linux = (yield* call("GET", `/api/prices/history?pool=${type}.us-east-1a&from=0`, { token: tenant.token })).body
      assert.deepStrictEqual(linux.points.map((p: any) => p.price), [0.2])

      const options = () => Effect.map(call("GET", `/api/prices/options?instanceType=${type}&region=us-east-1`, { token: tenant.token }), (r) => r.body)
      const before = yield* options()
      assert.strictEqual(before.onDemandPrice, 0.4)
      // the stored on-demand price is Linux/UNIX's: SUSE and Windows have no baseline yet
      assert.deepStrictEqual(before.options.map((o: any) => [o.pool, o.availabilityZone, o.product, o.savingsPercent]), [
        [`${type}.us-east-1a`, "us-east-1a", "linux", 50],
        [`${type}.us-east-1a~suse`, "us-east-1a", "suse", null],
        [`${type}.use1-az2~windows`, "use1-az2", "windows", null]
      ])
      assert.strictEqual((yield* report([{ pool: `ondemand:${type}.us-east-1a~suse`, price: 0.6 }])).status, 200)
      const after = yield* options()
      assert.deepStrictEqual(after.options.map((o: any) => [o.product, o.savingsPercent]), [["linux", 50], ["suse", 50], ["windows", null]])
    }))
})
