import { assert, layer } from "@effect/vitest"
import { Engine, MemoryStore, TenantStore } from "@spotfleet/engine"
import { Effect, Option } from "effect"
import { hashToken } from "../src/Auth.js"
import { adminToken, call, createTenant, memoryServer } from "./utils.js"

const setupAgent = (token: string, logical: string, cloud: string) =>
  Effect.gen(function*() {
    const reg = yield* call("POST", "/api/agents/register", {
      token,
      body: { logicalAgentId: logical, instanceId: cloud, pool: "t3.medium.us-east-1a" }
    })
    assert.strictEqual(reg.status, 200, reg.text)
    const agentId = reg.body.agentId as string
    const view = yield* call("POST", `/api/agents/${agentId}/replicas`, { token, body: {} })
    assert.strictEqual(view.status, 200, view.text)
    const instanceId = (view.body.instances as Array<{ id: string; role: string }>).find((i) => i.role === "LAUNCHING")!.id
    const commandId = (view.body.commands as Array<{ id: string }>)[0]!.id
    return { agentId, instanceId, commandId, agentToken: reg.body.agentToken as string }
  })

layer(memoryServer, { timeout: "30 seconds", excludeTestServices: true })("tenant isolation", (it) => {
    it.effect("every tenant-scoped route answers 404 for another tenant's ids and changes nothing", () =>
      Effect.gen(function*() {
        const a = yield* createTenant(`a-${crypto.randomUUID()}`)
        const b = yield* createTenant(`b-${crypto.randomUUID()}`)
        const theirs = yield* setupAgent(b.token, "b-web", `i-b-${crypto.randomUUID()}`)
        const mine = yield* setupAgent(a.token, "a-web", `i-a-${crypto.randomUUID()}`)
        const { agentId, commandId, instanceId } = theirs
        const before = yield* call("GET", `/api/agents/${agentId}`, { token: b.token })

        const routes: ReadonlyArray<readonly [string, string, unknown?]> = [
          ["POST", `/api/agents/${agentId}/heartbeat`, {}],
          ["GET", `/api/agents/${agentId}/pending-commands`],
          ["POST", `/api/agents/${agentId}/commands/${commandId}/executed`, { success: true }],
          ["POST", `/api/agents/${agentId}/rebalance-notice`, { instanceId: "i-x" }],
          ["POST", `/api/agents/${agentId}/termination-notice`, { instanceId: "i-x" }],
          ["POST", `/api/agents/${agentId}/pricing-report`, { prices: [{ pool: "t3.medium.us-east-1a", price: 0.01 }] }],
          ["POST", `/api/agents/${agentId}/switch-report`, { fromInstanceId: "i-1", toInstanceId: "i-2" }],
          ["POST", `/api/agents/${agentId}/instances/launched`, { instanceId: "i-new", commandId }],
          ["POST", `/api/agents/${agentId}/instances/terminated`, { instanceId: "i-x" }],
          ["GET", `/api/agents/${agentId}/config`],
          ["GET", `/api/agents/${agentId}`],
          ["PATCH", `/api/agents/${agentId}/config`, { autoTerminate: false }],
          ["GET", `/api/agents/${agentId}/instances`],
          ["GET", `/api/agents/${agentId}/commands`],
          ["POST", `/api/agents/${agentId}/replicas`, {}],
          ["DELETE", `/api/agents/${agentId}/replicas/${instanceId}`],
          ["POST", `/api/agents/${agentId}/instances/${instanceId}/promote`, {}],
          ["POST", `/api/agents/${agentId}/switch`, { pool: "t3.large.us-east-1b" }],
          ["GET", `/api/events?agentId=${agentId}`]
        ]
        for (const [method, path, body] of routes) {
          const res = yield* call(method, path, { token: a.token, ...(body === undefined ? {} : { body }) })
          assert.strictEqual(res.status, 404, `${method} ${path} → ${res.status} ${res.text}`)
          assert.strictEqual(res.body.error.details.field, "agentId", `${method} ${path}`)
          // A's agent token is refused for B's agent as well
          const viaAgentToken = yield* call(method, path, { token: mine.agentToken, ...(body === undefined ? {} : { body }) })
          assert.oneOf(viaAgentToken.status, [403, 404], `${method} ${path} with an agent token → ${viaAgentToken.status}`)
        }
        const after = yield* call("GET", `/api/agents/${agentId}`, { token: b.token })
        assert.deepStrictEqual(after.body, before.body)

        // lists only show one's own agents and events
        const list = yield* call("GET", "/api/agents", { token: a.token })
        assert.deepStrictEqual((list.body.agents as Array<{ id: string }>).map((x) => x.id), [mine.agentId])
        const events = yield* call("GET", "/api/events?limit=1000", { token: a.token })
        assert.isTrue((events.body.events as Array<{ tenantId: string }>).every((e) => e.tenantId === a.id))
        const me = yield* call("GET", "/api/tenant", { token: a.token })
        assert.strictEqual(me.body.id, a.id)

        // admin routes refuse tenant tokens; tenant routes refuse the admin token
        for (const [method, path, body] of [
          ["POST", "/api/admin/tenants", { name: "evil" }],
          ["GET", "/api/admin/tenants", undefined],
          ["POST", `/api/admin/tenants/${b.id}/tokens`, { label: "x" }]
        ] as const) {
          const res = yield* call(method, path, { token: a.token, ...(body === undefined ? {} : { body }) })
          assert.strictEqual(res.status, 401, `${method} ${path}`)
        }
        const adminOnTenantRoute = yield* call("GET", "/api/agents", { token: adminToken })
        assert.strictEqual(adminOnTenantRoute.status, 401)
        // an agent token cannot use the dashboard
        const agentOnDashboard = yield* call("GET", "/api/agents", { token: mine.agentToken })
        assert.strictEqual(agentOnDashboard.status, 403)
        // but it works for its own agent
        const own = yield* call("POST", `/api/agents/${mine.agentId}/heartbeat`, { token: mine.agentToken, body: {} })
        assert.strictEqual(own.status, 200)
        // a forged agent token is refused
        const forged = yield* call("POST", `/api/agents/${mine.agentId}/heartbeat`, { token: mine.agentToken.slice(0, -2) + "xx", body: {} })
        assert.strictEqual(forged.status, 401)
      }))

    it.effect("tokens are stored only as SHA-256 hashes", () =>
      Effect.gen(function*() {
        const t = yield* createTenant(`h-${crypto.randomUUID()}`)
        const extra = yield* call("POST", `/api/admin/tenants/${t.id}/tokens`, { token: adminToken, body: { label: "ci" } })
        assert.strictEqual(extra.status, 201)
        const tenants = yield* TenantStore.TenantStore
        for (const token of [t.token, extra.body.token as string]) {
          assert.isTrue(Option.isNone(yield* tenants.findByTokenHash(token)), "the plain token is no key of the store")
          const found = yield* tenants.findByTokenHash(hashToken(token))
          assert.strictEqual(Option.getOrThrow(found).id, t.id)
          const ok = yield* call("GET", "/api/tenant", { token })
          assert.strictEqual(ok.status, 200)
        }
        // nothing the engine can list carries the token
        const engine = yield* Engine.Engine
        const all = JSON.stringify(yield* engine.listTenants)
        assert.notInclude(all, t.token)
      }))
})

export type _Stores = MemoryStore.Stores
