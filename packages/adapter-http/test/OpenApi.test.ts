import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"
import { validate } from "@readme/openapi-parser"
import { OpenApiSpec } from "@spotfleet/adapter-http"
import { Effect } from "effect"
import * as YAML from "yaml"
import { render, specPath } from "../scripts/gen-openapi.js"

describe("OpenAPI document", () => {
  it("docs/api-spec.yaml is in sync with the contract (run npm run gen:openapi)", () => {
    assert.strictEqual(readFileSync(specPath, "utf8"), render())
  })

  it.effect("docs/api-spec.yaml is a valid OpenAPI 3 document", () =>
    Effect.gen(function*() {
      const document = YAML.parse(readFileSync(specPath, "utf8"))
      assert.match(document.openapi, /^3\./)
      const result = yield* Effect.promise(() => validate(document))
      assert.isTrue(result.valid, JSON.stringify(result, null, 2).slice(0, 2000))
    }))

  it("documents every v1 agent route, the admin routes, SSE and the system routes", () => {
    const paths = Object.keys(OpenApiSpec.spec().paths)
    for (
      const p of [
        "/api/agents/register",
        "/api/agents/{agentId}/heartbeat",
        "/api/agents/{agentId}/pending-commands",
        "/api/agents/{agentId}/commands/{commandId}/executed",
        "/api/agents/{agentId}/rebalance-notice",
        "/api/agents/{agentId}/termination-notice",
        "/api/agents/{agentId}/pricing-report",
        "/api/agents/{agentId}/switch-report",
        "/api/agents/{agentId}/instances/launched",
        "/api/agents/{agentId}/instances/terminated",
        "/api/agents/{agentId}/config",
        "/api/admin/tenants",
        "/api/events/stream",
        "/metrics",
        "/health",
        "/ready"
      ]
    ) assert.include(paths, p)
    assert.notInclude(JSON.stringify(OpenApiSpec.spec()), "HttpApiDecodeError")
  })
})
