/**
 * The plain host (node:http + the Promise facade): an agent goes through register → heartbeat →
 * replica → termination notice → promotion over the host's own routes; the host's liveness job
 * runs on its own timer; the host stops cleanly. Once on the in-memory store, once on MySQL.
 */
import { assert, describe, it } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import * as Plain from "../src/plain.js"
import { eventually, json, refused } from "./http.js"

const mysqlUp = await MysqlTestDatabase.reachable("the plain host on MySQL")

const agentKey = "test-agent-key"

const flow = async (host: Plain.PlainHost) => {
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    json(`${host.url}${path}`, method, { body, headers: { "x-agent-key": agentKey, ...headers } })

  // the host's own route lives next to the agent routes
  assert.deepStrictEqual((await json(`${host.url}/hello`, "GET")).body, { hello: "from the host" })
  // the host's auth guards the agent routes
  assert.strictEqual((await json(`${host.url}/agents/register`, "POST", { body: {} })).status, 401)
  // the host validates at its edge
  const bad = await call("POST", "/agents/register", { name: "web-1", instance: "i-1", pool: "not a pool" })
  assert.strictEqual(bad.status, 400)
  assert.strictEqual(bad.body.error, "InvalidInput")

  const registered = await call("POST", "/agents/register", { name: "web-1", instance: "i-1", pool: "t3.medium.us-east-1a" })
  assert.strictEqual(registered.status, 201, JSON.stringify(registered.body))
  assert.strictEqual(registered.body.role, "PRIMARY")
  const agent = `/agents/${registered.body.agentId}`

  const beat = await call("POST", `${agent}/heartbeat`)
  assert.strictEqual(beat.status, 200)
  assert.strictEqual(beat.body.liveness, "online")

  // a replica, made ready
  assert.strictEqual((await call("POST", `${agent}/replicas`)).status, 202)
  const [launch] = (await call("GET", `${agent}/commands`)).body.commands
  assert.strictEqual(launch.type, "LAUNCH_INSTANCE")
  const launched = await call("POST", `${agent}/launched`, { commandId: launch.id, instance: "i-2" })
  assert.deepStrictEqual(launched.body.roles, { "i-1": "PRIMARY", "i-2": "REPLICA" })
  const launchDone = await call("POST", `${agent}/commands/${launch.id}/result`, { success: true, instance: "i-2" })
  assert.strictEqual(launchDone.body.status, "succeeded")

  // the cloud's two-minute warning: the ready replica is promoted
  const terminationTime = new Date(Date.now() + 120_000).toISOString()
  const noticed = await call("POST", `${agent}/termination-notice`, { instance: "i-1", terminationTime }, { "x-request-id": "notice-1" })
  assert.strictEqual(noticed.body.notice, "termination")
  // the agent re-sends it: same answer, nothing new
  const again = await call("POST", `${agent}/termination-notice`, { instance: "i-1", terminationTime }, { "x-request-id": "notice-1" })
  assert.deepStrictEqual(again.body, noticed.body)
  const [promote] = (await call("GET", `${agent}/commands`)).body.commands
  assert.strictEqual(promote.type, "PROMOTE_REPLICA_TO_PRIMARY")
  assert.strictEqual(promote.params.replica_instance_id, "i-2")
  const promoted = await call("POST", `${agent}/commands/${promote.id}/result`, { success: true })
  assert.strictEqual(promoted.body.status, "succeeded")
  const view = await call("GET", agent)
  assert.strictEqual(view.body.roles["i-2"], "PRIMARY")
  assert.notStrictEqual(view.body.roles["i-1"], "PRIMARY")
  assert.isNull(view.body.notice)

  // the host's liveness timer: no heartbeat for a second → offline
  const offline = await eventually(async () => {
    const v = await call("GET", agent)
    return v.body.liveness === "offline" ? v.body : undefined
  })
  assert.strictEqual(offline.liveness, "offline")
  // engine errors go through the host's mapping: an unknown agent is its 404
  const unknown = await call("POST", "/agents/nope/heartbeat")
  assert.strictEqual(unknown.status, 404)
  assert.strictEqual(unknown.body.error, "AgentNotFound")
}

const options = { agentKey, livenessEveryMs: 100, sweepEveryMs: 100, offlineAfterSeconds: 1 }

describe("plain host (node:http + createEngine)", () => {
  it("in-memory: serves an agent through a termination notice and a promotion, then stops cleanly", async () => {
    const host = await Plain.start(options)
    try {
      await flow(host)
    } finally {
      await host.close()
    }
    assert.isTrue(await refused(`${host.url}/hello`))
  })

  it("MySQL (migrated by the host): the same flow", async (ctx) => {
    if (!mysqlUp) return ctx.skip()
    const db = await MysqlTestDatabase.create({ prefix: "spotfleet_embed" })
    try {
      const host = await Plain.start({ ...options, mysqlUrl: db.url })
      try {
        await flow(host)
      } finally {
        await host.close()
      }
      // a restart finds the host's tenant and the agent where they were
      const restarted = await Plain.start({ ...options, mysqlUrl: db.url })
      try {
        assert.strictEqual(restarted.tenantId, host.tenantId)
        const agents = await restarted.engine.listAgents(restarted.tenantId)
        assert.deepStrictEqual(agents.map((a) => a.logicalAgentId), ["web-1"])
      } finally {
        await restarted.close()
      }
    } finally {
      await db.drop()
    }
  }, 60_000)
})
