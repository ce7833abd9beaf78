/**
 * An agent through the spotfleet HTTP API v1 (as served by adapter-http, wherever it is
 * mounted): a tenant from the admin API, register → heartbeat → a ready replica → termination
 * notice → promotion.
 */
import { assert } from "@effect/vitest"
import { json } from "./http.js"

/** Runs the flow against an API base URL (e.g. `http://127.0.0.1:1234/fleet`); answers the tenant token. */
export const v1Flow = async (apiUrl: string, adminToken: string): Promise<{ readonly token: string; readonly agentId: string }> => {
  const created = await json(`${apiUrl}/api/admin/tenants`, "POST", {
    body: { name: `embed-${crypto.randomUUID().slice(0, 8)}` },
    headers: { authorization: `Bearer ${adminToken}` }
  })
  assert.strictEqual(created.status, 201, JSON.stringify(created.body))
  const token: string = created.body.token
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    json(`${apiUrl}/api${path}`, method, { body, headers: { authorization: `Bearer ${token}`, ...headers } })

  const registered = await call("POST", "/agents/register", { logicalAgentId: "web-1", instanceId: "i-1", pool: "t3.medium.us-east-1a" })
  assert.strictEqual(registered.status, 200, JSON.stringify(registered.body))
  assert.strictEqual(registered.body.instance.role, "PRIMARY")
  const agentId: string = registered.body.agentId
  const beat = await call("POST", `/agents/${agentId}/heartbeat`, {})
  assert.strictEqual(beat.body.liveness, "online")

  // a ready replica
  assert.strictEqual((await call("POST", `/agents/${agentId}/replicas`, {})).status, 200)
  const [launch] = (await call("GET", `/agents/${agentId}/pending-commands`)).body.commands
  assert.strictEqual(launch.type, "LAUNCH_INSTANCE")
  const launched = await call("POST", `/agents/${agentId}/instances/launched`, { instanceId: "i-2", commandId: launch.id })
  assert.isTrue(launched.body.instances.some((i: any) => i.cloudInstanceId === "i-2" && i.role === "REPLICA"))
  await call("POST", `/agents/${agentId}/commands/${launch.id}/executed`, { success: true, instanceId: "i-2" })

  // the termination notice and the emergency promotion
  const terminationTime = new Date(Date.now() + 120_000).toISOString()
  const noticed = await call("POST", `/agents/${agentId}/termination-notice`, { instanceId: "i-1", terminationTime }, { "x-request-id": "notice-1" })
  assert.strictEqual(noticed.status, 200, JSON.stringify(noticed.body))
  assert.strictEqual(noticed.body.agent.notice.kind, "termination")
  const [promote] = (await call("GET", `/agents/${agentId}/pending-commands`)).body.commands
  assert.strictEqual(promote.type, "PROMOTE_REPLICA_TO_PRIMARY")
  assert.strictEqual(promote.priority, 100)
  const done = await call("POST", `/agents/${agentId}/commands/${promote.id}/executed`, { success: true })
  assert.strictEqual(done.body.status, "succeeded")
  const view = await call("GET", `/agents/${agentId}`)
  const roles = Object.fromEntries(view.body.instances.filter((i: any) => i.cloudInstanceId !== null).map((i: any) => [i.cloudInstanceId, i.role]))
  assert.strictEqual(roles["i-2"], "PRIMARY")
  assert.notStrictEqual(roles["i-1"], "PRIMARY")
  assert.isNull(view.body.agent.notice)
  return { token, agentId }
}
