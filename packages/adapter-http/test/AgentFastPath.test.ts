/**
 * The agent fast path answers exactly as the HttpApi routes do: every request below is sent once
 * through the fast path and once through HttpApi (the same server, the same store), and the two
 * answers are compared. The test also checks which way each request took, so a fast path that
 * silently passed everything on could not pass it.
 */
import { createServer, type IncomingMessage, request as httpRequest, type ServerResponse } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { FetchHttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Engine, MemoryStore } from "@spotfleet/engine"
import { Context, Effect, Layer, Redacted } from "effect"
import * as AgentFastPath from "../src/AgentFastPath.js"
import * as ApiLive from "../src/ApiLive.js"
import { LegacyCommand } from "../src/LegacyApi.js"
import type * as RateLimit from "../src/RateLimit.js"
import { registerBody } from "./legacy.js"
import { adminToken, call, createTenant, TestServer } from "./utils.js"

const pool = "t3.medium.us-east-1a"

/** Which way the requests went, and the switch between the two. */
class Lanes extends Context.Tag("test/Lanes")<Lanes, { fast: boolean; fastAnswered: number; passedOn: number }>() {}

/** How the engine was asked for heartbeats: one by one, or in batches (their sizes). */
class HeartbeatCalls extends Context.Tag("test/HeartbeatCalls")<HeartbeatCalls, { single: number; batches: Array<number>; storeMillis: number }>() {}

/** The engine, counting its heartbeat calls. */
const countingEngine = Layer.effect(
  Engine.Engine,
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const counts = yield* HeartbeatCalls
    return {
      ...engine,
      heartbeat: (tenantId, agentId) => Effect.suspend(() => (counts.single++, engine.heartbeat(tenantId, agentId))),
      // `storeMillis`: a store that takes its time to write a batch.
      heartbeats: (calls) =>
        Effect.suspend(() => (counts.batches.push(calls.length), engine.heartbeats(calls))).pipe(Effect.delay(counts.storeMillis))
    } satisfies Engine.EngineService
  })
).pipe(Layer.provide(Engine.layer()), Layer.provideMerge(Layer.sync(HeartbeatCalls, () => ({ single: 0, batches: [], storeMillis: 0 }))))

const server = (rateLimit?: RateLimit.RateLimitOptions, batchWindowMillis?: number) => {
  const node = createServer()
  return Layer.effect(
    TestServer,
    Effect.gen(function*() {
      const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
      const fastPath = yield* AgentFastPath.AgentFastPath
      const lanes = yield* Lanes
      // The real fast path, behind a switch that sends everything to HttpApi when off.
      AgentFastPath.install(node, {
        handle: (req: IncomingMessage, res: ServerResponse, next) => {
          if (!lanes.fast) return next(req, res)
          let passed = false
          fastPath.handle(req, res, (r, s) => {
            passed = true
            lanes.passedOn++
            next(r, s)
          })
          if (!passed) res.once("finish", () => lanes.fastAnswered++)
        }
      })
      return { baseUrl: `http://127.0.0.1:${address.port}` }
    })
  ).pipe(
    Layer.provideMerge(Layer.sync(Lanes, () => ({ fast: true, fastAnswered: 0, passedOn: 0 }))),
    Layer.provideMerge(ApiLive.serve({
      adminToken: Redacted.make(adminToken),
      maxBodyBytes: 4 * 1024,
      agentTokenSecret: Redacted.make("agent-secret-for-tests"),
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(batchWindowMillis === undefined ? {} : { batchWindowMillis })
    })),
    Layer.provideMerge(countingEngine),
    Layer.provideMerge(MemoryStore.layer),
    Layer.provideMerge(NodeHttpServer.layer(() => node, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(FetchHttpClient.layer)
  )
}

/** A request with a body sent in chunks without `Content-Length` (so only reading it shows its size). */
const chunked = (baseUrl: string, path: string, token: string, body: string) =>
  Effect.async<{ status: number; body: unknown }>((resume) => {
    const req = httpRequest(`${baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "transfer-encoding": "chunked" }
    }, (res) => {
      let text = ""
      res.setEncoding("utf8")
      res.on("data", (c) => (text += c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body: JSON.parse(text) })))
    })
    for (let i = 0; i < body.length; i += 1000) req.write(body.slice(i, i + 1000))
    req.end()
  })

interface Case {
  readonly name: string
  readonly method: "GET" | "POST"
  readonly path: string
  readonly token?: string | undefined
  readonly body?: unknown
  readonly raw?: string
  readonly headers?: Record<string, string>
  /** The way the fast path is expected to take. */
  readonly lane: "fast" | "passed-on"
}

/** Fields that differ between two otherwise equal answers (ids of the events each call appended). */
const stable = (body: unknown): unknown => {
  if (typeof body !== "object" || body === null) return body
  const { eventIds: _eventIds, ...rest } = body as Record<string, unknown>
  return rest
}

describe("agent fast path", () => {
  it.effect("answers every agent call as HttpApi does, and passes on what it does not serve", () =>
    Effect.gen(function*() {
      const lanes = yield* Lanes
      const { baseUrl } = yield* TestServer
      const a = yield* createTenant("fast-a")
      const b = yield* createTenant("fast-b")
      const reg = yield* call("POST", "/api/agents/register", { token: a.token, body: { logicalAgentId: "fa", instanceId: "i-fa", pool } })
      assert.strictEqual(reg.status, 200)
      const agentId = reg.body.agentId as string
      const agentToken = reg.body.agentToken as string
      const other = yield* call("POST", "/api/agents/register", { token: a.token, body: { logicalAgentId: "fb", instanceId: "i-fb", pool } })
      const otherAgentToken = other.body.agentToken as string
      const foreign = yield* call("POST", "/api/agents/register", { token: b.token, body: { logicalAgentId: "fc", instanceId: "i-fc", pool } })
      const foreignId = foreign.body.agentId as string

      const hb = `/api/agents/${agentId}/heartbeat`
      const poll = `/api/agents/${agentId}/pending-commands`
      const prices = `/api/agents/${agentId}/pricing-report`
      const report = { instanceId: "i-fa", prices: [{ pool, price: 0.0123 }, { pool: "t3.large.us-east-1a", price: 0.02 }] }
      const cases: ReadonlyArray<Case> = [
        { name: "heartbeat", method: "POST", path: hb, token: a.token, body: {}, lane: "fast" },
        { name: "heartbeat with fields", method: "POST", path: hb, token: a.token, body: { instanceId: "i-fa", status: "ok", extra: 1 }, lane: "fast" },
        { name: "heartbeat, empty body", method: "POST", path: hb, token: a.token, raw: "", lane: "fast" },
        { name: "heartbeat, blank body", method: "POST", path: hb, token: a.token, raw: "   ", lane: "fast" },
        { name: "heartbeat, malformed JSON", method: "POST", path: hb, token: a.token, raw: "{\"instanceId\": ", lane: "fast" },
        { name: "heartbeat, JSON that is no object", method: "POST", path: hb, token: a.token, raw: "[1,2]", lane: "fast" },
        { name: "heartbeat, wrong type", method: "POST", path: hb, token: a.token, body: { instanceId: 5 }, lane: "fast" },
        { name: "heartbeat, request id too long", method: "POST", path: hb, token: a.token, body: {}, headers: { "x-request-id": "r".repeat(300) }, lane: "fast" },
        { name: "heartbeat, unknown agent", method: "POST", path: "/api/agents/no-such-agent/heartbeat", token: a.token, body: {}, lane: "fast" },
        { name: "heartbeat, percent-encoded id", method: "POST", path: "/api/agents/%E2%9C%93%20x/heartbeat", token: a.token, body: {}, lane: "fast" },
        { name: "heartbeat, another tenant's agent", method: "POST", path: `/api/agents/${foreignId}/heartbeat`, token: a.token, body: {}, lane: "fast" },
        { name: "heartbeat, no token", method: "POST", path: hb, body: {}, lane: "fast" },
        { name: "heartbeat, invalid token", method: "POST", path: hb, token: "sft_nope", body: {}, lane: "fast" },
        { name: "heartbeat, own agent token", method: "POST", path: hb, token: agentToken, body: {}, lane: "fast" },
        { name: "heartbeat, another agent's token", method: "POST", path: hb, token: otherAgentToken, body: {}, lane: "fast" },
        { name: "heartbeat, oversized body announced", method: "POST", path: hb, token: a.token, body: { status: "x".repeat(5000) }, lane: "passed-on" },
        { name: "heartbeat, form body", method: "POST", path: hb, token: a.token, raw: "a=1", headers: { "content-type": "application/x-www-form-urlencoded" }, lane: "passed-on" },
        { name: "heartbeat, query string", method: "POST", path: `${hb}?x=1`, token: a.token, body: {}, lane: "passed-on" },
        { name: "heartbeat, legacy v5 body", method: "POST", path: hb, token: a.token, body: { status: "active", inventory_snapshot: [], health_metrics: {} }, lane: "passed-on" },
        { name: "heartbeat, wrong method", method: "GET", path: hb, token: a.token, lane: "passed-on" },
        { name: "poll", method: "GET", path: poll, token: a.token, lane: "fast" },
        { name: "poll, unknown agent", method: "GET", path: "/api/agents/nobody/pending-commands", token: a.token, lane: "fast" },
        { name: "poll, another tenant's agent", method: "GET", path: `/api/agents/${foreignId}/pending-commands`, token: a.token, lane: "fast" },
        { name: "poll, no token", method: "GET", path: poll, lane: "fast" },
        { name: "poll, legacy v5 (JSON content type)", method: "GET", path: poll, token: a.token, headers: { "content-type": "application/json" }, lane: "passed-on" },
        { name: "prices", method: "POST", path: prices, token: a.token, body: report, lane: "fast" },
        { name: "prices, observedAt", method: "POST", path: prices, token: a.token, body: { prices: [{ pool, price: 0.01, observedAt: "2026-11-27T00:00:00Z" }] }, lane: "fast" },
        { name: "prices, negative price", method: "POST", path: prices, token: a.token, body: { prices: [{ pool, price: -1 }] }, lane: "fast" },
        { name: "prices, bad pool", method: "POST", path: prices, token: a.token, body: { prices: [{ pool: "nope", price: 1 }] }, lane: "fast" },
        { name: "prices, none", method: "POST", path: prices, token: a.token, body: { prices: [] }, lane: "fast" },
        { name: "prices, missing field", method: "POST", path: prices, token: a.token, body: { instanceId: "i-fa" }, lane: "fast" },
        { name: "prices, another tenant's agent", method: "POST", path: `/api/agents/${foreignId}/pricing-report`, token: a.token, body: report, lane: "fast" },
        // The v5 dialect's price report on the shared path: the v5 fast path (test below).
        { name: "prices, legacy v5 body", method: "POST", path: prices, token: a.token, body: { agent_id: agentId, pricing_data_array: [] }, lane: "fast" }
      ]
      for (const c of cases) {
        const send = (n: number) =>
          call(c.method, c.path, {
            ...(c.token === undefined ? {} : { token: c.token }),
            ...(c.raw !== undefined ? { raw: c.raw } : c.body !== undefined ? { body: c.body } : {}),
            headers: { ...c.headers, ...(c.path === prices && c.headers === undefined ? { "x-request-id": `${c.name}-${n}` } : {}) }
          })
        lanes.fast = true
        const before = { fast: lanes.fastAnswered, passed: lanes.passedOn }
        const viaFast = yield* send(1)
        const lane = lanes.passedOn > before.passed ? "passed-on" : lanes.fastAnswered > before.fast ? "fast" : "none"
        lanes.fast = false
        const viaApi = yield* send(2)
        assert.strictEqual(lane, c.lane, `${c.name}: went ${lane}`)
        assert.strictEqual(viaFast.status, viaApi.status, `${c.name}: status ${viaFast.status} (fast) vs ${viaApi.status} (HttpApi): ${viaFast.text} / ${viaApi.text}`)
        assert.deepStrictEqual(stable(viaFast.body), stable(viaApi.body), c.name)
        assert.strictEqual(viaFast.headers.get("content-type"), viaApi.headers.get("content-type"), `${c.name}: content type`)
      }
      lanes.fast = true

      // A body too large that announces no length is only found out while reading: 413 all the same.
      const before = lanes.fastAnswered
      const big = yield* chunked(baseUrl, hb, a.token, JSON.stringify({ status: "y".repeat(6000) }))
      assert.strictEqual(big.status, 413)
      assert.strictEqual((big.body as { error: { code: string } }).error.code, "PayloadTooLarge")
      assert.strictEqual(lanes.fastAnswered, before + 1)
    }).pipe(Effect.provide(server())))

  it.effect("delivers a queued command once and replays a repeated report by its key", () =>
    Effect.gen(function*() {
      const lanes = yield* Lanes
      const t = yield* createTenant("fast-cmd")
      const reg = yield* call("POST", "/api/agents/register", { token: t.token, body: { logicalAgentId: "fq", instanceId: "i-fq", pool } })
      const agentId = reg.body.agentId as string
      const replica = yield* call("POST", `/api/agents/${agentId}/replicas`, { token: t.token, body: { pool } })
      assert.strictEqual(replica.status, 200, replica.text)
      const first = yield* call("GET", `/api/agents/${agentId}/pending-commands`, { token: t.token })
      const second = yield* call("GET", `/api/agents/${agentId}/pending-commands`, { token: t.token })
      assert.strictEqual(first.status, 200)
      assert.strictEqual(first.body.commands.length, 1)
      assert.strictEqual(first.body.commands[0].status, "delivered")
      assert.deepStrictEqual(second.body, { commands: [] })

      const body = { prices: [{ pool, price: 0.5 }] }
      const once = yield* call("POST", `/api/agents/${agentId}/pricing-report`, { token: t.token, body, headers: { "x-request-id": "same-key" } })
      const again = yield* call("POST", `/api/agents/${agentId}/pricing-report`, { token: t.token, body, headers: { "x-request-id": "same-key" } })
      assert.strictEqual(once.status, 200)
      assert.deepStrictEqual(again.body, once.body)
      // The key belongs to a pricing report: a heartbeat ignores keys, a switch report may not reuse it.
      const reused = yield* call("POST", `/api/agents/${agentId}/switch-report`, {
        token: t.token,
        body: { downtimeSeconds: 1, fromInstanceId: "i-fq", toInstanceId: "i-x" },
        headers: { "x-request-id": "same-key" }
      })
      assert.strictEqual(reused.status, 409)
      // Passed on: creating the tenant, registering, the replica request and the switch report.
      assert.strictEqual(lanes.passedOn, 4)
    }).pipe(Effect.provide(server())))

  it.effect("heartbeats of known callers go to the engine in batches, answered as one by one", () =>
    Effect.gen(function*() {
      const lanes = yield* Lanes
      const counts = yield* HeartbeatCalls
      const t = yield* createTenant("fast-batch")
      const reg = yield* call("POST", "/api/agents/register", { token: t.token, body: { logicalAgentId: "fz", instanceId: "i-fz", pool } })
      const agentId = reg.body.agentId as string
      const agentToken = reg.body.agentToken as string
      const hb = `/api/agents/${agentId}/heartbeat`
      // Registering looked the tenant token up; an agent token's tenant is looked up on its first
      // call (one by one, through a fiber). From then on the cache knows both callers.
      assert.strictEqual((yield* call("POST", hb, { token: agentToken, body: {} })).status, 200)
      assert.strictEqual(counts.single, 1)
      counts.batches.length = 0
      const sent = [
        ...Array.from({ length: 12 }, () => ({ token: t.token, path: hb, status: 200 })),
        ...Array.from({ length: 4 }, () => ({ token: agentToken, path: hb, status: 200 })),
        { token: t.token, path: "/api/agents/no-such-agent/heartbeat", status: 404 }
      ]
      const answers = yield* Effect.forEach(sent, (r) => call("POST", r.path, { token: r.token, body: {} }), { concurrency: "unbounded" })
      assert.deepStrictEqual(answers.map((a) => a.status), sent.map((r) => r.status))
      assert.deepStrictEqual(answers[0]!.body, { agentId, liveness: "online", configVersion: 1 })
      assert.strictEqual(answers[16]!.body.error.code, "AgentNotFound")
      // All through the batch lane: no heartbeat one by one, every one counted in a batch.
      assert.strictEqual(counts.single, 1)
      assert.strictEqual(counts.batches.reduce((a, b) => a + b, 0), sent.length)
      assert.strictEqual(lanes.passedOn, 2) // creating the tenant, registering
      // What the lane does not know synchronously takes the fiber path: another agent's token.
      const other = yield* call("POST", "/api/agents/register", { token: t.token, body: { logicalAgentId: "fy", instanceId: "i-fy", pool } })
      const refused = yield* call("POST", `/api/agents/${other.body.agentId}/heartbeat`, { token: agentToken, body: {} })
      assert.strictEqual(refused.status, 403)
      assert.strictEqual(counts.batches.reduce((a, b) => a + b, 0), sent.length)
    }).pipe(Effect.provide(server())))

  it.live("group commit: no wait when idle, batches while one is answered, never past the window", () =>
    Effect.gen(function*() {
      const counts = yield* HeartbeatCalls
      const t = yield* createTenant("fast-group")
      const reg = yield* call("POST", "/api/agents/register", { token: t.token, body: { logicalAgentId: "fg", instanceId: "i-fg", pool } })
      const hb = `/api/agents/${reg.body.agentId}/heartbeat`
      // The window is 3 s here: an idle server must not wait for it.
      for (let i = 0; i < 5; i++) {
        const started = performance.now()
        assert.strictEqual((yield* call("POST", hb, { token: t.token, body: {} })).status, 200)
        assert.isBelow(performance.now() - started, 1_000, "a lone heartbeat goes at once")
      }
      // A store that takes 50 ms per batch: what arrives meanwhile waits for it, then goes together.
      counts.batches.length = 0
      counts.storeMillis = 50
      const started = performance.now()
      const answers = yield* Effect.forEach(Array.from({ length: 60 }), () => call("POST", hb, { token: t.token, body: {} }), { concurrency: "unbounded" })
      assert.isTrue(answers.every((a) => a.status === 200))
      assert.isBelow(performance.now() - started, 2_500, "never held for the whole window")
      assert.strictEqual(counts.batches.reduce((a, b) => a + b, 0), 60)
      assert.isBelow(counts.batches.length, 60, `grouped: ${JSON.stringify(counts.batches)}`)
    }).pipe(Effect.provide(server(undefined, 3_000))))

  it.effect("shares the rate limiter with HttpApi: one set of buckets per server", () =>
    Effect.gen(function*() {
      const lanes = yield* Lanes
      const t = yield* createTenant("fast-limit")
      const reg = yield* call("POST", "/api/agents/register", { token: t.token, body: { logicalAgentId: "fl", instanceId: "i-fl", pool } })
      const hb = `/api/agents/${reg.body.agentId}/heartbeat`
      // The agent's bucket holds 2: two heartbeats through the fast path take them.
      assert.strictEqual((yield* call("POST", hb, { token: t.token, body: {} })).status, 200)
      assert.strictEqual((yield* call("POST", hb, { token: t.token, body: {} })).status, 200)
      lanes.fast = false
      const refused = yield* call("POST", hb, { token: t.token, body: {} })
      assert.strictEqual(refused.status, 429)
      lanes.fast = true
      const refusedFast = yield* call("POST", hb, { token: t.token, body: {} })
      assert.strictEqual(refusedFast.status, 429)
      assert.deepStrictEqual(refusedFast.body.error.code, refused.body.error.code)
      assert.strictEqual(refusedFast.body.error.details.scope, "agent")
      assert.ok(Number(refusedFast.headers.get("retry-after")) >= 1)
    }).pipe(Effect.provide(server({ perAgent: { perSecond: 0.001, burst: 2 }, perTenant: false, perIp: false }))))
  it.effect("answers the v5 dialect's calls byte for byte as the HttpApi routes do", () =>
    Effect.gen(function*() {
      const lanes = yield* Lanes
      const counts = yield* HeartbeatCalls
      const a = yield* createTenant("fast-v5-a")
      const b = yield* createTenant("fast-v5-b")
      const json = { "content-type": "application/json" }
      const reg = yield* call("POST", "/api/agents/register", { token: a.token, body: registerBody("i-4ff0da58a55cfa7ce"), headers: json })
      assert.strictEqual(reg.status, 200, reg.text)
      const agentId = reg.body.agent_id as string
      const foreign = yield* call("POST", "/api/agents/register", { token: b.token, body: registerBody("i-0foreign00000001"), headers: json })
      const foreignId = foreign.body.agent_id as string
      const inventory = {
        instances: [
          { instance_id: "i-4ff0da58a55cfa7ce", state: "running", az: "us-east-1a", instance_type: "t3.medium", pool: "t3.medium.us-east-1a", tags: { Role: "primary", ManagedBy: "SpotOptimizer" }, launch_time: "2026-11-26T20:51:03+00:00", private_ip: "10.0.1.17", public_ip: "54.12.3.4" },
          { instance_id: "i-0a1b2c3d4e5f60718", state: "running", az: "us-east-1b", instance_type: "t3.medium", pool: null, tags: { Name: "unrelated-db" }, launch_time: "2026-10-01T08:00:00+00:00", private_ip: "10.0.2.9", public_ip: null }
        ],
        count: 2
      }
      const beat = { status: "online", inventory_snapshot: inventory, health_metrics: { uptime: 4134, cpu_percent: 0, memory_percent: 0 }, reconnect: false }
      const hb = `/api/agents/${agentId}/heartbeat`
      const pending = `/api/agents/${agentId}/commands/pending`
      const pricing = {
        agent_id: agentId,
        timestamp: "2026-11-26T20:57:41.779922",
        pricing_data_array: [
          { instance_type: "t3.medium", az: "us-east-1a", pool_id: "t3.medium.us-east-1a", spot_price: 0.0125, timestamp: "2026-11-26T20:57:40.101223" },
          { instance_type: "t3.medium", az: "us-east-1b", pool_id: "t3.medium.us-east-1b", spot_price: 0.0131, timestamp: "2026-11-26T20:57:40.402117" },
          { instance_type: "t3.medium", price_type: "ondemand", price: 0.0416, timestamp: "2026-11-26T20:57:41.512006" }
        ]
      }
      const cases: ReadonlyArray<Case> = [
        { name: "v5 heartbeat", method: "POST", path: hb, token: a.token, body: beat, lane: "fast" },
        { name: "v5 heartbeat, reconnect", method: "POST", path: hb, token: a.token, body: { ...beat, reconnect: true, inventory_snapshot: { instances: [], count: 0 } }, lane: "fast" },
        { name: "v5 heartbeat, cloud error", method: "POST", path: hb, token: a.token, body: { ...beat, inventory_snapshot: { instances: [], count: 0, error: "UnauthorizedOperation" } }, lane: "fast" },
        { name: "v5 heartbeat, unknown agent", method: "POST", path: "/api/agents/nobody/heartbeat", token: a.token, body: beat, lane: "fast" },
        { name: "v5 heartbeat, another tenant's agent", method: "POST", path: `/api/agents/${foreignId}/heartbeat`, token: a.token, body: beat, lane: "fast" },
        { name: "v5 heartbeat, no token", method: "POST", path: hb, body: beat, lane: "passed-on" },
        { name: "v5 heartbeat, inventory of the wrong shape", method: "POST", path: hb, token: a.token, body: { ...beat, inventory_snapshot: [] }, lane: "passed-on" },
        { name: "v5 poll", method: "GET", path: pending, token: a.token, lane: "fast" },
        { name: "v5 poll, unknown agent", method: "GET", path: "/api/agents/nobody/commands/pending", token: a.token, lane: "fast" },
        { name: "v5 poll, another tenant's agent", method: "GET", path: `/api/agents/${foreignId}/commands/pending`, token: a.token, lane: "fast" },
        { name: "v5 poll, no token", method: "GET", path: pending, lane: "passed-on" },
        { name: "v5 poll, query string", method: "GET", path: `${pending}?x=1`, token: a.token, lane: "passed-on" },
        { name: "v5 prices", method: "POST", path: `/api/agents/${agentId}/pricing-report`, token: a.token, body: pricing, lane: "fast" },
        { name: "v5 prices, unknown agent", method: "POST", path: "/api/agents/nobody/pricing-report", token: a.token, body: pricing, lane: "fast" },
        { name: "v5 prices, bad record", method: "POST", path: `/api/agents/${agentId}/pricing-report`, token: a.token, body: { pricing_data_array: [{ spot_price: "x" }] }, lane: "passed-on" },
        { name: "v5 termination notice, no instance", method: "POST", path: `/api/agents/${agentId}/termination-report`, token: a.token, body: { notice_type: "TERMINATION" }, lane: "fast" },
        { name: "v5 rebalance, unknown instance", method: "POST", path: `/api/agents/${agentId}/rebalance-recommendation`, token: a.token, body: { cloud_instance_id: "i-nope", notice_type: "REBALANCE" }, lane: "fast" },
        { name: "v5 termination notice", method: "POST", path: `/api/agents/${agentId}/termination-report`, token: a.token, body: { cloud_instance_id: "i-4ff0da58a55cfa7ce", notice_type: "TERMINATION", termination_time: "2026-11-26T21:10:00Z" }, lane: "fast" },
        // After the notice the agent has commands queued: the poll loads the agent and delivers one.
        { name: "v5 poll, a command queued", method: "GET", path: pending, token: a.token, lane: "fast" }
      ]
      const batchedBefore = counts.batches.reduce((n, x) => n + x, 0)
      for (const c of cases) {
        const send = () => call(c.method, c.path, { ...(c.token === undefined ? {} : { token: c.token }), ...(c.body === undefined ? {} : { body: c.body }), headers: json })
        lanes.fast = true
        const before = { fast: lanes.fastAnswered, passed: lanes.passedOn }
        const viaFast = yield* send()
        const lane = lanes.passedOn > before.passed ? "passed-on" : lanes.fastAnswered > before.fast ? "fast" : "none"
        lanes.fast = false
        const viaApi = yield* send()
        assert.strictEqual(lane, c.lane, `${c.name}: went ${lane}`)
        assert.strictEqual(viaFast.status, viaApi.status, `${c.name}: status ${viaFast.status} (fast) vs ${viaApi.status} (HttpApi): ${viaFast.text} / ${viaApi.text}`)
        if (c.name === "v5 poll, a command queued") {
          // A poll hands out the one command queued (in the v5 shape); the next finds none.
          assert.strictEqual(viaFast.body.commands.length, 1, viaFast.text)
          assert.deepStrictEqual(Object.keys(viaFast.body.commands[0]), Object.keys(LegacyCommand.fields), c.name)
          assert.strictEqual(viaApi.text, "{\"commands\":[]}")
        } else {
          assert.strictEqual(viaFast.text, viaApi.text, c.name)
        }
        assert.strictEqual(viaFast.headers.get("content-type"), viaApi.headers.get("content-type"), `${c.name}: content type`)
      }
      lanes.fast = true
      // The fast path's heartbeats went through the batch write (five of them).
      assert.strictEqual(counts.batches.reduce((n, x) => n + x, 0) - batchedBefore, 5)

      // The same inventory again (kept decoded, not reconciled again): the same answer.
      const once = yield* call("POST", hb, { token: a.token, body: beat, headers: json })
      const twice = yield* call("POST", hb, { token: a.token, body: beat, headers: json })
      assert.strictEqual(twice.text, once.text)
      // A changed inventory is read as sent: the PRIMARY no longer listed is gone in the engine.
      const before = lanes.fastAnswered
      const gone = yield* call("POST", hb, { token: a.token, body: { ...beat, inventory_snapshot: { instances: [inventory.instances[1]], count: 1 } }, headers: json })
      assert.strictEqual(gone.status, 200, gone.text)
      assert.strictEqual(gone.body.inventory_checked, 1)
      assert.strictEqual(lanes.fastAnswered, before + 1)
      const engine = yield* Engine.Engine
      const view = yield* Effect.orDie(engine.getAgent(a.id as never, agentId as never))
      assert.strictEqual(view.instances.find((i) => i.cloudInstanceId === "i-4ff0da58a55cfa7ce")?.role, "TERMINATED")
    }).pipe(Effect.provide(server())))
})
