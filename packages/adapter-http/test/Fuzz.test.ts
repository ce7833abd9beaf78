/**
 * Property-based HTTP fuzzing of every route family (agent v1, legacy v5, admin, dashboard/ops/
 * pricing, events) with malformed and hostile input: wrong types, huge strings, unicode, SQL and
 * JSON injection attempts, path traversal in ids, other tenants' ids, bad tokens. Properties:
 * never a 5xx, never a stack trace; a rejected request writes nothing (the event log does not
 * move); another tenant's ids always answer 4xx; the other tenant's agent and events are untouched.
 *
 * `FUZZ_RUNS` cases per family (default 300; `npm run fuzz` runs 10,000), in-memory store.
 */
import { assert, layer } from "@effect/vitest"
import { DecisionLog, EventLog, MemoryStore } from "@spotfleet/engine"
import { Effect, Layer, Runtime } from "effect"
import * as fc from "fast-check"
import { adminToken, call, createTenant, serverLayer, TestServer } from "./utils.js"

const runs = Number(process.env.FUZZ_RUNS ?? 300)
const seed = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED)
const pool = "t3.medium.us-east-1a"

interface World {
  readonly a: { token: string; agentId: string; agentToken: string; commandId: string; instanceId: string; cloudId: string }
  readonly b: { id: string; token: string; agentId: string; commandId: string; instanceId: string }
}

interface Req {
  readonly method: string
  readonly path: string
  readonly body?: string | undefined
  readonly headers: Record<string, string>
  /** The request's path names another tenant's resource: must be refused. */
  readonly foreign: boolean
}

const injections = [
  "' OR '1'='1",
  "\"; DROP TABLE agents; --",
  "1; SELECT SLEEP(5)",
  "../../../etc/passwd",
  "..%2F..%2Fadmin",
  "%00",
  "\u0000",
  "{\"$gt\":\"\"}",
  "__proto__",
  "constructor",
  "<script>alert(1)</script>",
  "${jndi:ldap://x}",
  "🚀💥",
  "\u202e\u0301",
  "NaN",
  "-1",
  "1e308",
  "",
  " "
]

const hostileString = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...injections) },
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 200, max: 5_000 }).map((n) => "x".repeat(n)) },
  { weight: 1, arbitrary: fc.constant("y".repeat(70_000)) }
)

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constant(-1), fc.constant(1e308)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 5 }) }
)

const fieldNames = [
  "logicalAgentId", "instanceId", "pool", "metadata", "config", "request_id", "success", "message", "data", "deadline",
  "terminationTime", "prices", "price", "observedAt", "fromInstanceId", "toInstanceId", "downtimeSeconds", "commandId",
  "name", "label", "autoSwitch", "manualReplica", "dryRun", "agent_id", "instance_id", "status", "__proto__", "constructor"
]

/** A body: an object of known fields with hostile values, arbitrary JSON, or not JSON at all. */
const bodyArb = (world: World): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.dictionary(fc.constantFrom(...fieldNames), fc.oneof(hostileValue, idArb(world)), { maxKeys: 6 }).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.record({ prices: fc.array(fc.record({ pool: fc.oneof(fc.constant(pool), hostileString), price: hostileValue }), { maxLength: 3 }) }).map((o) => JSON.stringify(o)) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.constantFrom("{", "[1,2", "{\"a\":}", "null", "\"str\"", "", "{\"__proto__\":{\"admin\":true}}") },
    { weight: 1, arbitrary: fc.constant(undefined) }
  )

/** Ids: own, another tenant's, hostile strings (URL-encoded or raw traversal). */
const idArb = (world: World): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(world.a.agentId, world.a.commandId, world.a.instanceId) },
    { weight: 2, arbitrary: fc.constantFrom(world.b.agentId, world.b.commandId, world.b.instanceId, world.b.id) },
    { weight: 3, arbitrary: hostileString.map((s) => encodeURIComponent(s.slice(0, 300))) },
    { weight: 1, arbitrary: fc.constantFrom("..", "../..", "..%2f..%2fadmin%2ftenants", "%2e%2e", "a/b", "%252e") }
  )

const tokenArb = (world: World): fc.Arbitrary<string | undefined> =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(world.a.token) },
    { weight: 2, arbitrary: fc.constant(world.a.agentToken) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: hostileString.map((s) => s.replace(/[^\x21-\x7e]/g, "").slice(0, 200)) }
  )

const queryArb = (world: World, keys: ReadonlyArray<string>): fc.Arbitrary<string> =>
  fc.dictionary(fc.constantFrom(...keys), fc.oneof(hostileString.map((s) => s.slice(0, 500)), idArb(world)), { maxKeys: 4 }).map((q) => {
    const s = Object.entries(q).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join("&")
    return s === "" ? "" : `?${s}`
  })

type Route = readonly [method: string, template: string]

const routeReq = (world: World, routes: ReadonlyArray<Route>, options: { tokens?: fc.Arbitrary<string | undefined>; queryKeys?: ReadonlyArray<string> } = {}) =>
  fc.record({
    route: fc.constantFrom(...routes),
    ids: fc.array(idArb(world), { minLength: 3, maxLength: 3 }),
    body: bodyArb(world),
    token: options.tokens ?? tokenArb(world),
    requestId: fc.option(hostileString.map((s) => s.replace(/[^\x20-\x7e]/g, "").slice(0, 400)), { nil: undefined }),
    query: queryArb(world, options.queryKeys ?? ["limit", "after", "agentId", "from", "to", "pool", "groupBy", "instanceType", "region", "hours", "type"])
  }).map(({ body, ids, query, requestId, route, token }): Req => {
    let n = 0
    const path = route[1].replace(/:[a-zA-Z]+/g, () => ids[n++]!) + query
    const headers: Record<string, string> = {}
    if (token !== undefined) headers["authorization"] = `Bearer ${token}`
    if (body !== undefined) headers["content-type"] = "application/json"
    const route_ = path.split("?")[0]!
    // (the operator's admin token may act on any tenant)
    const foreign = token !== adminToken && [world.b.agentId, world.b.commandId, world.b.instanceId, world.b.id].some((id) => route_.includes(id))
    // A repeated X-Request-ID replays the tenant's first answer for that key (whatever the path):
    // requests naming another tenant's ids go without one, so a replay is not mistaken for access.
    if (requestId !== undefined && !foreign) headers["x-request-id"] = requestId
    return { method: route[0], path, body: route[0] === "GET" ? undefined : body, headers, foreign }
  })

const families: Record<string, ReadonlyArray<Route>> = {
  "agent v1": [
    ["POST", "/api/agents/register"],
    ["POST", "/api/agents/:agentId/heartbeat"],
    ["GET", "/api/agents/:agentId/pending-commands"],
    ["POST", "/api/agents/:agentId/commands/:commandId/executed"],
    ["POST", "/api/agents/:agentId/rebalance-notice"],
    ["POST", "/api/agents/:agentId/termination-notice"],
    ["POST", "/api/agents/:agentId/pricing-report"],
    ["POST", "/api/agents/:agentId/switch-report"],
    ["POST", "/api/agents/:agentId/instances/launched"],
    ["POST", "/api/agents/:agentId/instances/terminated"],
    ["GET", "/api/agents/:agentId/config"]
  ],
  "legacy v5": [
    ["POST", "/api/v5/agents/register"],
    ["POST", "/api/v5/agents/:agentId/heartbeat"],
    ["GET", "/api/v5/agents/:agentId/pending-commands"],
    ["POST", "/api/v5/agents/:agentId/pricing-report"],
    ["GET", "/api/agents/:agentId/commands/pending"],
    ["POST", "/api/agents/:agentId/action-result"],
    ["POST", "/api/agents/:agentId/instance-launched"],
    ["POST", "/api/agents/:agentId/instance-terminated"],
    ["POST", "/api/agents/:agentId/termination-report"],
    ["POST", "/api/agents/:agentId/rebalance-recommendation"],
    ["POST", "/api/agents/:agentId/shutdown"]
  ],
  admin: [
    ["POST", "/api/admin/tenants"],
    ["GET", "/api/admin/tenants"],
    ["POST", "/api/admin/tenants/:tenantId/tokens"],
    ["GET", "/api/admin/pool-ledger"],
    ["GET", "/api/admin/emergency-events"],
    ["GET", "/api/admin/metrics/summary"]
  ],
  "dashboard/ops/pricing": [
    ["GET", "/api/tenant"],
    ["GET", "/api/agents"],
    ["GET", "/api/agents/:agentId"],
    ["PATCH", "/api/agents/:agentId/config"],
    ["GET", "/api/agents/:agentId/instances"],
    ["GET", "/api/agents/:agentId/commands"],
    ["POST", "/api/agents/:agentId/replicas"],
    ["DELETE", "/api/agents/:agentId/replicas/:instanceId"],
    ["POST", "/api/agents/:agentId/instances/:instanceId/promote"],
    ["POST", "/api/agents/:agentId/switch"],
    ["DELETE", "/api/agents/:agentId/switch"],
    ["POST", "/api/agents/:agentId/switch/simulate"],
    ["GET", "/api/switches"],
    ["GET", "/api/switches.csv"],
    ["GET", "/api/analytics/downtime"],
    ["GET", "/api/savings"],
    ["GET", "/api/savings.csv"],
    ["GET", "/api/decisions"],
    ["PUT", "/api/tenant/dry-run"],
    ["GET", "/api/emergency-events"],
    ["GET", "/api/prices/history"],
    ["GET", "/api/prices/options"],
    ["GET", "/api/prices/consolidation-runs"],
    ["GET", "/api/prices/on-demand"]
  ],
  events: [
    ["GET", "/api/events"],
    ["GET", "/api/events/stream"]
  ]
}

const setup = Effect.gen(function*() {
  const make = (name: string) =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`${name}-${crypto.randomUUID()}`)
      const cloudId = `i-${name}-${crypto.randomUUID().slice(0, 8)}`
      const reg = yield* call("POST", "/api/agents/register", { token: tenant.token, body: { logicalAgentId: `${name}-1`, instanceId: cloudId, pool } })
      assert.strictEqual(reg.status, 200, reg.text)
      const agentId = reg.body.agentId as string
      const replica = yield* call("POST", `/api/agents/${agentId}/replicas`, { token: tenant.token, body: {} })
      assert.strictEqual(replica.status, 200, replica.text)
      return { tenant, agentId, agentToken: reg.body.agentToken as string, commandId: replica.body.commands[0].id as string, instanceId: reg.body.instance.id as string, cloudId }
    })
  const a = yield* make("fa")
  const b = yield* make("fb")
  const world: World = {
    a: { token: a.tenant.token, agentId: a.agentId, agentToken: a.agentToken, commandId: a.commandId, instanceId: a.instanceId, cloudId: a.cloudId },
    b: { id: b.tenant.id, token: b.tenant.token, agentId: b.agentId, commandId: b.commandId, instanceId: b.instanceId }
  }
  return world
})

/** B's footprint: its agent (with instances and commands) and its event list. */
const footprint = (world: World) =>
  Effect.gen(function*() {
    const agent = yield* call("GET", `/api/agents/${world.b.agentId}`, { token: world.b.token })
    const events = yield* call("GET", "/api/events?limit=1000", { token: world.b.token })
    return { agent: agent.body, events: events.body }
  })

// With a decision log, as the example server has (without one /api/decisions answers 503 by design).
const server = serverLayer(Layer.merge(MemoryStore.layer, DecisionLog.layerMemory))

layer(server, { timeout: "3600 seconds", excludeTestServices: true })(`HTTP fuzzing (${runs} cases per route family)`, (it) => {
  for (const [family, routes] of Object.entries(families)) {
    it.effect(`${family}: only 4xx for hostile input, nothing written by a refusal, no cross-tenant effect`, () =>
      Effect.gen(function*() {
        const world = yield* setup
        const { baseUrl } = yield* TestServer
        const log = yield* EventLog.EventLog
        const runtime = yield* Effect.runtime<never>()
        const latest = () => Runtime.runPromise(runtime)(log.latestId)
        const before = yield* footprint(world)
        const tokens = family === "admin"
          ? fc.oneof(fc.constant(adminToken), tokenArb(world))
          : tokenArb(world)
        const statuses = new Map<number, number>()
        yield* Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(routeReq(world, routes, { tokens }), async (req) => {
              const eventsBefore = await latest()
              const abort = new AbortController()
              const timer = setTimeout(() => abort.abort(), 5_000)
              let status: number
              let text = ""
              try {
                const response = await fetch(`${baseUrl}${req.path}`, {
                  method: req.method,
                  headers: req.headers,
                  signal: abort.signal,
                  ...(req.body === undefined ? {} : { body: req.body })
                })
                status = response.status
                if ((response.headers.get("content-type") ?? "").includes("text/event-stream")) abort.abort()
                else text = await response.text()
              } finally {
                clearTimeout(timer)
              }
              statuses.set(status, (statuses.get(status) ?? 0) + 1)
              const what = `${req.method} ${req.path.slice(0, 200)} ${(req.body ?? "").slice(0, 200)} → ${status} ${text.slice(0, 300)}`
              assert.isBelow(status, 500, what)
              assert.notInclude(text, "    at ", `no stack trace: ${what}`)
              // (the legacy dialect answers some unknown agents 200 with `"status":"ignored"`, and a
              // heartbeat of an unknown agent 200 with `"status":"unknown"`, as v5 agents need)
              if (req.foreign && req.method !== "GET" && !text.includes("\"ignored\"") && !text.includes("\"status\":\"unknown\"")) {
                assert.isAtLeast(status, 400, `another tenant's resource: ${what}`)
              }
              if (req.foreign && status < 300 && req.method === "GET") {
                // a GET with another tenant's id in a filter may answer an empty list, never B's data
                assert.notInclude(text, `"agentId":"${world.b.agentId}"`, what)
              }
              if (status >= 400) {
                assert.strictEqual(await latest(), eventsBefore, `a refused request wrote nothing: ${what}`)
                if (text !== "" && status !== 404) {
                  const body = JSON.parse(text)
                  assert.isString(body.error.code, what)
                }
              }
            }),
            { numRuns: runs, ...(seed === undefined ? {} : { seed }), endOnFailure: true }
          )
        )
        const after = yield* footprint(world)
        assert.deepStrictEqual(after, before, "the other tenant is untouched")
        console.log(`fuzz ${family}: ${runs} cases, statuses ${JSON.stringify(Object.fromEntries([...statuses.entries()].sort()))}`)
      }), Math.max(60_000, runs * 30))
  }
})
