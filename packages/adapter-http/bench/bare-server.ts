/**
 * The baseline of `npm run bench:http`: a bare `node:http` + mysql2 heartbeat handler doing the
 * same work per request as the spotfleet server's heartbeat (token lookup by hash, the agent's
 * heartbeat write scoped to the tenant, a JSON answer), with nothing else.
 */
import { createHash } from "node:crypto"
import { createServer } from "node:http"
import * as mysql from "mysql2/promise"

const pool = mysql.createPool({ uri: process.env.MYSQL_URL!, connectionLimit: 10 })
const route = /^\/api\/agents\/([^/]+)\/heartbeat$/

const server = createServer((req, res) => {
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (c) => (body += c))
  req.on("end", async () => {
    try {
      const m = route.exec(req.url ?? "")
      if (req.method !== "POST" || m === null) return send(404, { error: { code: "RouteNotFound", message: "no such route" } })
      JSON.parse(body === "" ? "{}" : body)
      const token = (req.headers.authorization ?? "").replace(/^Bearer /, "")
      const hash = createHash("sha256").update(token).digest("hex")
      const [tenants] = await pool.execute(
        "SELECT t.id FROM tenant_tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.token_hash = ?",
        [hash]
      )
      const tenant = (tenants as Array<{ id: string }>)[0]
      if (tenant === undefined) return send(401, { error: { code: "Unauthorized", message: "invalid token" } })
      const now = Date.now()
      const [result] = await pool.execute(
        "UPDATE agents SET last_heartbeat_at = GREATEST(COALESCE(last_heartbeat_at, ?), ?) WHERE id = ? AND tenant_id = ?",
        [now, now, m[1], tenant.id]
      )
      if ((result as { affectedRows: number }).affectedRows === 0) return send(404, { error: { code: "AgentNotFound", message: "agent not found" } })
      send(200, { agentId: m[1], liveness: "online" })
    } catch {
      send(500, { error: { code: "InternalError", message: "internal error" } })
    }
  })
  const send = (status: number, json: unknown) => {
    const text = JSON.stringify(json)
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
    res.end(text)
  }
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`bare server listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))))
