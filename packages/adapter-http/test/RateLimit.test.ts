import { assert, describe, it, layer } from "@effect/vitest"
import { RateLimit } from "@spotfleet/adapter-http"
import { EventLog, MemoryStore } from "@spotfleet/engine"
import { Effect } from "effect"
import { adminToken, call, createTenant, serverLayer } from "./utils.js"

describe("token buckets", () => {
  it("allows the burst, then refills at the rate", () => {
    const buckets = RateLimit.makeBuckets({ perSecond: 2, burst: 3 }, 10)
    assert.deepStrictEqual([0, 1, 2].map(() => buckets.take("a", 1_000)), [0, 0, 0])
    assert.strictEqual(buckets.take("a", 1_000), 1, "empty: wait one second")
    assert.strictEqual(buckets.take("b", 1_000), 0, "another key has its own bucket")
    assert.strictEqual(buckets.take("a", 1_499), 1, "0.998 tokens after 499 ms: still refused")
    assert.strictEqual(buckets.take("a", 1_500), 0, "one token after 500 ms at 2/s")
    assert.strictEqual(buckets.take("a", 1_500), 1)
    assert.deepStrictEqual([0, 1, 2].map(() => buckets.take("a", 60_000)), [0, 0, 0], "refills up to the burst only")
    assert.strictEqual(buckets.take("a", 60_000), 1)
  })

  it("Retry-After covers the wait at slow rates", () => {
    const buckets = RateLimit.makeBuckets({ perSecond: 0.1, burst: 1 }, 10)
    assert.strictEqual(buckets.take("a", 0), 0)
    assert.strictEqual(buckets.take("a", 0), 10)
    assert.strictEqual(buckets.take("a", 5_000), 5)
    assert.strictEqual(buckets.take("a", 10_000), 0)
  })

  it("stays within maxKeys: refilled buckets first, then the least recently used", () => {
    const buckets = RateLimit.makeBuckets({ perSecond: 1, burst: 2 }, 3)
    for (const key of ["a", "b", "c"]) buckets.take(key, 0)
    buckets.take("a", 0)
    buckets.take("a", 0) // a is empty and the most recently used
    assert.strictEqual(buckets.take("d", 0), 0)
    assert.strictEqual(buckets.size(), 3)
    assert.strictEqual(buckets.take("a", 0), 1, "the drained bucket was kept (b, the least recently used, went)")
    for (let i = 0; i < 1_000; i++) buckets.take(`k${i}`, i)
    assert.strictEqual(buckets.size(), 3)
    // at t=10 s every bucket has refilled: a new key drops them all instead of only one
    buckets.take("x", 10_000)
    assert.strictEqual(buckets.size(), 1)
  })

  it("resolve: defaults, off switches, validation", () => {
    const defaults = RateLimit.resolve()
    assert.deepStrictEqual(defaults.perAgent, RateLimit.defaultPerAgent)
    assert.deepStrictEqual(defaults.perTenant, RateLimit.defaultPerTenant)
    assert.deepStrictEqual(defaults.perIp, RateLimit.defaultPerIp)
    const off = RateLimit.resolve({ enabled: false, perTenant: { perSecond: 1, burst: 1 } })
    assert.isNull(off.perAgent)
    assert.isNull(off.perTenant)
    assert.isNull(off.perIp)
    assert.isNull(RateLimit.resolve({ perIp: false }).perIp)
    assert.throws(() => RateLimit.resolve({ perTenant: { perSecond: 0, burst: 1 } }))
  })

  it("the defaults never meet a well-behaved agent or tenant", () => {
    // v5: a heartbeat every 30 s, a poll every 5 s, prices every 300 s; a restart adds a register.
    const perAgent = 1 / 30 + 1 / 5 + 1 / 300
    assert.isAbove(RateLimit.defaultPerAgent.perSecond, 20 * perAgent)
    // a tenant at its default agent limit (10,000), all v5
    assert.isAbove(RateLimit.defaultPerTenant.perSecond, 2 * 10_000 * perAgent)
    // a whole fleet of 10,000 agents restarting at once (register + heartbeat each) fits the burst
    assert.isAtLeast(RateLimit.defaultPerTenant.burst, 10_000)
  })

  it("keys: the agent in the path, the tenant of a known token, else the token", () => {
    const limiter = RateLimit.makeLimiter(
      RateLimit.resolve({ perAgent: { perSecond: 1, burst: 2 }, perTenant: { perSecond: 1, burst: 5 }, perIp: false }),
      (bearer) => (bearer.startsWith("known-") ? "tenant-1" : undefined)
    )
    const req = (path: string, token: string) => ({ path, authorization: `Bearer ${token}`, forwardedFor: undefined, remoteAddress: "10.0.0.1" })
    assert.isUndefined(limiter.check(req("/api/agents/a1/heartbeat", "known-1"), 0))
    assert.isUndefined(limiter.check(req("/api/v5/agents/a1/heartbeat", "known-2"), 0), "another token of the same tenant: the same agent bucket")
    assert.deepStrictEqual(limiter.check(req("/api/agents/a1/commands/pending", "known-1"), 0), { scope: "agent", retryAfterSeconds: 1 })
    assert.isUndefined(limiter.check(req("/api/agents/a2/heartbeat", "known-1"), 0), "another agent has its own bucket")
    assert.isUndefined(limiter.check(req("/api/agents/a1/heartbeat", "unknown"), 0), "an unknown token is its own tenant")
    // the tenant's bucket: 5, of which the refused request took nothing (3 taken so far)
    assert.isUndefined(limiter.check(req("/api/agents", "known-1"), 0))
    assert.isUndefined(limiter.check(req("/api/agents/register", "known-2"), 0))
    assert.deepStrictEqual(limiter.check(req("/api/agents", "known-1"), 0), { scope: "tenant", retryAfterSeconds: 1 })
    assert.isUndefined(limiter.check(req("/health", "known-1"), 0), "probes are never limited")
    assert.strictEqual(RateLimit.agentOfPath("/api/agents/register"), undefined)
    assert.strictEqual(RateLimit.agentOfPath("/api/agents/agent-1"), "agent-1")
  })
})

const pool = "t3.medium.us-east-1a"

layer(serverLayer(MemoryStore.layer, { rateLimit: { perTenant: { perSecond: 0.5, burst: 3 }, perAgent: false, perIp: false } }), {
  timeout: "30 seconds",
  excludeTestServices: true
})("per-tenant limit over HTTP", (it) => {
  it.effect("the burst passes, then 429 RateLimited with Retry-After; other tokens and probes are unaffected; nothing written", () =>
    Effect.gen(function*() {
      const a = yield* createTenant(`rl-a-${crypto.randomUUID()}`)
      const b = yield* createTenant(`rl-b-${crypto.randomUUID()}`)
      const reg = yield* call("POST", "/api/agents/register", { token: a.token, body: { logicalAgentId: "x", instanceId: "i-rl-1", pool } })
      assert.strictEqual(reg.status, 200)
      const agentId = reg.body.agentId as string
      for (let i = 0; i < 3; i++) {
        assert.strictEqual((yield* call("POST", `/api/agents/${agentId}/heartbeat`, { token: a.token, body: {} })).status, 200)
      }
      const before = yield* call("GET", `/api/agents/${agentId}/instances`, { token: b.token })
      assert.strictEqual(before.status, 404, "b's token works (b may not see a's agent)")

      const log = yield* EventLog.EventLog
      const eventsBefore = yield* log.latestId
      const limited = yield* call("POST", `/api/agents/${agentId}/pricing-report`, {
        token: a.token,
        body: { prices: [{ pool, price: 0.01 }] }
      })
      assert.strictEqual(limited.status, 429, limited.text)
      assert.strictEqual(limited.body.error.code, "RateLimited")
      assert.strictEqual(limited.body.error.details.scope, "tenant")
      assert.strictEqual(limited.headers.get("retry-after"), "2", "one token at 0.5/s takes 2 s")
      assert.strictEqual(limited.body.error.details.retryAfterSeconds, 2)

      assert.strictEqual(yield* log.latestId, eventsBefore, "the refused report wrote nothing")
      assert.strictEqual((yield* call("GET", "/health")).status, 200)
      assert.strictEqual((yield* call("GET", "/metrics")).status, 200)
      assert.strictEqual((yield* call("GET", "/api/admin/tenants", { token: adminToken })).status, 200, "the admin token has its own bucket")

      const events = yield* call("GET", "/api/events?limit=100", { token: b.token })
      assert.strictEqual(events.status, 200)
      assert.strictEqual((yield* call("GET", `/api/events?limit=100`, { token: a.token })).status, 429)
    }))
})

layer(serverLayer(MemoryStore.layer, { rateLimit: { perIp: { perSecond: 0.2, burst: 3 }, perTenant: false, perAgent: false } }), {
  timeout: "30 seconds",
  excludeTestServices: true
})("per-IP limit over HTTP", (it) => {
  it.effect("counts every request from the address, whatever the token (also unknown ones)", () =>
    Effect.gen(function*() {
      const statuses: Array<number> = []
      for (let i = 0; i < 3; i++) statuses.push((yield* call("GET", "/api/agents", { token: `guess-${i}` })).status)
      assert.deepStrictEqual(statuses, [401, 401, 401])
      const limited = yield* call("GET", "/api/agents", { token: "guess-4" })
      assert.strictEqual(limited.status, 429)
      assert.strictEqual(limited.body.error.details.scope, "ip")
      assert.strictEqual(limited.headers.get("retry-after"), "5")
      assert.strictEqual((yield* call("GET", "/ready")).status, 200)
    }))
})

layer(serverLayer(MemoryStore.layer, { rateLimit: { enabled: false, perTenant: { perSecond: 0.1, burst: 1 } } }), {
  timeout: "30 seconds",
  excludeTestServices: true
})("rate limiting turned off", (it) => {
  it.effect("no 429 however tight the configured limit", () =>
    Effect.gen(function*() {
      const a = yield* createTenant(`rl-off-${crypto.randomUUID()}`)
      for (let i = 0; i < 20; i++) assert.strictEqual((yield* call("GET", "/api/agents", { token: a.token })).status, 200)
    }))
})
