// @spotfleet/adapter-http from its tarball: the web handler (fetch Request → Response) in memory,
// through the admin and agent APIs as a client calls them.
import { WebHandler } from "@spotfleet/adapter-http"
import { Redacted } from "effect"

const { handler, dispose } = WebHandler.makeMemory({ adminToken: Redacted.make("sfadmin_smoke") })
const call = async (method, path, token, body) => {
  const response = await handler(new Request(`http://smoke.local${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", "x-request-id": `smoke-${Math.random()}` },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }))
  const text = await response.text()
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`)
  return text === "" ? undefined : JSON.parse(text)
}
try {
  const tenant = await call("POST", "/api/admin/tenants", "sfadmin_smoke", { name: "smoke" })
  const registered = await call("POST", "/api/agents/register", tenant.token, { logicalAgentId: "edge-1", instanceId: "i-0smoke4", pool: "t3.small.us-east-1a" })
  await call("POST", `/api/agents/${registered.agentId}/heartbeat`, tenant.token, {})
  const { commands } = await call("GET", `/api/agents/${registered.agentId}/pending-commands`, tenant.token)
  const bad = await handler(new Request("http://smoke.local/api/agents/register", {
    method: "POST",
    headers: { authorization: `Bearer ${tenant.token}`, "content-type": "application/json" },
    body: JSON.stringify({ logicalAgentId: "edge-2", instanceId: "i-0smoke5", pool: "not a pool" })
  }))
  if (bad.status !== 400) throw new Error(`a bad pool answered ${bad.status}`)
  console.log(`adapter-http: tenant created, agent ${registered.agentId.slice(0, 14)}… registered, heartbeat 200, ${commands.length} commands, bad input 400`)
} finally {
  await dispose()
}
