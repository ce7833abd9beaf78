import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { agentLifecycle } from "./flows.js"
import { call, createTenant, memoryServer } from "./utils.js"

layer(memoryServer, { timeout: "30 seconds", excludeTestServices: true })("agent API v1 over HTTP (in-memory store)", (it) => {
    it.effect("register → heartbeat → poll → report result with the typed client", () => agentLifecycle)

    it.effect("errors are {error:{code,message,details}} with real status codes", () =>
      Effect.gen(function*() {
        const noAuth = yield* call("GET", "/api/agents")
        assert.strictEqual(noAuth.status, 401)
        assert.strictEqual(noAuth.body.error.code, "Unauthorized")
        const tenant = yield* createTenant(`t-${crypto.randomUUID()}`)
        const missing = yield* call("POST", "/api/agents/agent-nope/heartbeat", { token: tenant.token, body: {} })
        assert.strictEqual(missing.status, 404)
        assert.deepStrictEqual(missing.body.error.details.field, "agentId")
        const route = yield* call("GET", "/api/nothing-here", { token: tenant.token })
        assert.strictEqual(route.status, 404)
        const health = yield* call("GET", "/health")
        assert.deepStrictEqual(health.body, { status: "ok" })
        const ready = yield* call("GET", "/ready")
        assert.deepStrictEqual(ready.body, { status: "ready" })
      }))
})
