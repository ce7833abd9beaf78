import { assert, layer } from "@effect/vitest"
import { Engine, EventLog } from "@spotfleet/engine"
import { Effect } from "effect"
import { call, createTenant, memoryServer } from "./utils.js"

interface Case {
  readonly name: string
  readonly method: string
  readonly path: (ids: { agentId: string; commandId: string }) => string
  readonly body?: unknown
  readonly raw?: string
  readonly headers?: Record<string, string>
  readonly status: number
  readonly field: string
}

const pool = "t3.medium.us-east-1a"

const cases: ReadonlyArray<Case> = [
  { name: "missing field", method: "POST", path: () => "/api/agents/register", body: { logicalAgentId: "x", pool }, status: 400, field: "instanceId" },
  { name: "wrong type", method: "POST", path: () => "/api/agents/register", body: { logicalAgentId: 5, instanceId: "i-9", pool }, status: 400, field: "logicalAgentId" },
  { name: "bad pool id", method: "POST", path: () => "/api/agents/register", body: { logicalAgentId: "x", instanceId: "i-9", pool: "nope" }, status: 400, field: "pool" },
  { name: "bad nested config", method: "POST", path: () => "/api/agents/register", body: { logicalAgentId: "x", instanceId: "i-9", pool, config: { riskThreshold: 7 } }, status: 400, field: "config.riskThreshold" },
  { name: "malformed JSON", method: "POST", path: () => "/api/agents/register", raw: "{\"logicalAgentId\": ", status: 400, field: "body" },
  { name: "JSON that is no object", method: "POST", path: () => "/api/agents/register", raw: "[1,2]", status: 400, field: "body" },
  { name: "empty body", method: "POST", path: () => "/api/agents/register", raw: "", status: 400, field: "body" },
  { name: "oversized body", method: "POST", path: () => "/api/agents/register", body: { logicalAgentId: "x".repeat(70_000), instanceId: "i-9", pool }, status: 413, field: "body" },
  { name: "request id too long", method: "POST", path: () => "/api/agents/register", body: { logicalAgentId: "x", instanceId: "i-9", pool }, headers: { "x-request-id": "r".repeat(300) }, status: 400, field: "x-request-id" },
  { name: "unknown agent (heartbeat)", method: "POST", path: () => "/api/agents/agent-unknown/heartbeat", body: {}, status: 404, field: "agentId" },
  { name: "unknown agent (poll)", method: "GET", path: () => "/api/agents/agent-unknown/pending-commands", status: 404, field: "agentId" },
  { name: "unknown command", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/commands/cmd-unknown/executed`, body: { success: true }, status: 404, field: "commandId" },
  { name: "result of wrong type", method: "POST", path: ({ agentId, commandId }) => `/api/agents/${agentId}/commands/${commandId}/executed`, body: { success: "yes" }, status: 400, field: "success" },
  { name: "empty price list", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/pricing-report`, body: { prices: [] }, status: 400, field: "prices" },
  { name: "negative price", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/pricing-report`, body: { prices: [{ pool, price: -1 }] }, status: 400, field: "prices.0.price" },
  { name: "bad timestamp", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/termination-notice`, body: { instanceId: "i-1", terminationTime: "soon" }, status: 400, field: "terminationTime" },
  { name: "notice for an unknown instance", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/termination-notice`, body: { instanceId: "i-nobody" }, status: 404, field: "instanceId" },
  { name: "autoSwitch and manualReplica together", method: "PATCH", path: ({ agentId }) => `/api/agents/${agentId}/config`, body: { autoSwitch: true, manualReplica: true }, status: 400, field: "autoSwitch" },
  { name: "query of wrong type", method: "GET", path: () => "/api/events?limit=abc", status: 400, field: "limit" },
  { name: "unknown instance", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/instances/inst-unknown/promote`, body: {}, status: 404, field: "instanceId" },
  { name: "unknown field type in switch", method: "POST", path: ({ agentId }) => `/api/agents/${agentId}/switch`, body: { pool: 42 }, status: 400, field: "pool" }
]

layer(memoryServer, { timeout: "30 seconds", excludeTestServices: true })("malformed input", (it) => {
  it.effect("4xx naming the field, never 5xx, nothing written", () =>
    Effect.gen(function*() {
      const tenant = yield* createTenant(`m-${crypto.randomUUID()}`)
      const reg = yield* call("POST", "/api/agents/register", { token: tenant.token, body: { logicalAgentId: "ok", instanceId: "i-1", pool } })
      const agentId = reg.body.agentId as string
      const replica = yield* call("POST", `/api/agents/${agentId}/replicas`, { token: tenant.token, body: {} })
      const commandId = replica.body.commands[0].id as string
      const log = yield* EventLog.EventLog
      const engine = yield* Engine.Engine
      for (const c of cases) {
        const eventsBefore = yield* log.latestId
        const agentBefore = yield* engine.getAgent(tenant.id as never, agentId as never)
        const res = yield* call(c.method, c.path({ agentId, commandId }), {
          token: tenant.token,
          ...(c.body === undefined ? {} : { body: c.body }),
          ...(c.raw === undefined ? {} : { raw: c.raw }),
          ...(c.headers === undefined ? {} : { headers: c.headers })
        })
        assert.strictEqual(res.status, c.status, `${c.name}: ${res.status} ${res.text.slice(0, 300)}`)
        assert.strictEqual(res.body.error.details.field, c.field, `${c.name}: ${res.text.slice(0, 300)}`)
        assert.isString(res.body.error.code)
        if (c.status === 400) assert.include(res.body.error.message, c.field.split(".")[0]!, c.name)
        assert.notInclude(res.text, "    at ", `${c.name}: no stack trace`)
        assert.strictEqual(yield* log.latestId, eventsBefore, `${c.name}: no event written`)
        const agentAfter = yield* engine.getAgent(tenant.id as never, agentId as never)
        assert.deepStrictEqual(agentAfter, agentBefore, `${c.name}: agent unchanged`)
      }
      const agents = yield* engine.listAgents(tenant.id as never)
      assert.strictEqual(agents.length, 1, "no agent registered by a rejected request")
    }))
})
