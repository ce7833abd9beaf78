/**
 * The web handler mounted under `/fleet` of a host node:http server: the host's own route and
 * the API side by side; an agent goes through a termination notice and a promotion under the
 * prefix; an open event stream does not keep the host from stopping.
 */
import { assert, describe, it } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import * as Mounted from "../src/mounted.js"
import { json, refused } from "./http.js"
import { v1Flow } from "./v1Flow.js"

const mysqlUp = await MysqlTestDatabase.reachable("the mounted host on MySQL")

const adminToken = "embed-admin-token-0123456789"

const run = async (host: Mounted.MountedHost) => {
  assert.deepStrictEqual((await json(`${host.url}/hello`, "GET")).body, { hello: "from the host" })
  assert.strictEqual((await json(`${host.url}/api/agents`, "GET")).status, 404) // the API lives under the prefix only
  assert.deepStrictEqual((await json(`${host.apiUrl}/health`, "GET")).body, { status: "ok" })
  // the API's own error bodies come through the mount
  const unauthorized = await json(`${host.apiUrl}/api/agents`, "GET")
  assert.strictEqual(unauthorized.status, 401)
  assert.strictEqual(unauthorized.body.error.code, "Unauthorized")

  const { agentId, token } = await v1Flow(host.apiUrl, adminToken)

  // SSE through the mount: the flow's events arrive, and an open stream ends when the host stops
  const stream = await fetch(`${host.apiUrl}/api/events/stream?after=0`, { headers: { authorization: `Bearer ${token}` } })
  assert.strictEqual(stream.status, 200)
  const reader = stream.body!.getReader()
  let text = ""
  while (!text.includes("EmergencyPromotion")) {
    const { done, value } = await reader.read()
    if (done) break
    text += new TextDecoder().decode(value)
  }
  assert.include(text, agentId)
  assert.include(text, "EmergencyPromotion")
  const ended = (async () => {
    for (;;) if ((await reader.read()).done) return "ended"
  })().catch(() => "ended")
  // (wrapped: an async function returning a bare promise would wait for it)
  return { ended }
}

describe("mounted host (WebHandler.mount under /fleet)", () => {
  it("in-memory: serves an agent through a termination notice and a promotion, then stops cleanly", async () => {
    const host = await Mounted.start({ adminToken })
    let ended: Promise<string>
    try {
      ;({ ended } = await run(host))
    } finally {
      await host.close()
    }
    assert.strictEqual(await ended, "ended")
    assert.isTrue(await refused(host.url))
  })

  it("MySQL: the same flow", async (ctx) => {
    if (!mysqlUp) return ctx.skip()
    const db = await MysqlTestDatabase.create({ prefix: "spotfleet_embed" })
    try {
      const host = await Mounted.start({ adminToken, mysqlUrl: db.url })
      let ended: Promise<string>
      try {
        ;({ ended } = await run(host))
      } finally {
        await host.close()
      }
      assert.strictEqual(await ended, "ended")
    } finally {
      await db.drop()
    }
  }, 60_000)
})
