/**
 * The baseline of `npm run bench:http`: a bare `node:http` + mysql2 server that answers the three
 * agent calls of the fast path with the same SQL the spotfleet server runs for them on MariaDB
 * (adapter-mysql's statements, copied), and nothing else — no schemas, no fibers, no batching:
 *
 * - heartbeat: the one-statement heartbeat UPDATE (`heartbeatBatch.singleSql`; the agent's
 *   liveness and config version come back as its insert id);
 * - command poll: the "anything to deliver?" peek (`peekPoll`), `{commands: []}` when there is not;
 * - price report (with `X-Request-ID`): the idempotency lookup, the agent's live instances, the
 *   snapshot INSERT, the `PriceReported` event appended in one round trip (sequence row, event
 *   INSERT), the idempotency record.
 *
 * Tenant tokens are looked up by hash and kept for 5 s, as the spotfleet server's token cache does.
 */
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import * as mysql from "mysql2/promise"

const pool = mysql.createPool({ uri: process.env.MYSQL_URL!, connectionLimit: 10, multipleStatements: true })
const route = /^\/api\/agents\/([^/?]+)\/(heartbeat|pending-commands|pricing-report)$/

const heartbeatSql = "UPDATE agents SET last_heartbeat_at = " +
  "IF(LAST_INSERT_ID(config_version * 2 + (liveness = 'online') + 1) > 0, " +
  "GREATEST(COALESCE(last_heartbeat_at, ?), ?), last_heartbeat_at) " +
  "WHERE id = ? AND tenant_id = ?"
const busySql = "SELECT (a.notice IS NOT NULL OR a.flow IS NOT NULL OR a.degraded OR EXISTS (SELECT 1 FROM commands c " +
  "WHERE c.agent_id = a.id AND c.status IN ('pending', 'delivered'))) AS busy FROM agents a WHERE a.id = ? AND a.tenant_id = ?"
const idempotencySql = "SELECT tenant_id, idem_key, operation, CAST(response AS CHAR) AS response, created_at FROM idempotency " +
  "WHERE tenant_id = ? AND idem_key = ?"
const liveSql = "SELECT i.role, i.cloud_instance_id, i.pool FROM agents a LEFT JOIN instances i ON i.agent_id = a.id " +
  "AND i.role IN ('PRIMARY', 'REPLICA') WHERE a.id = ? AND a.tenant_id = ?"
const snapshotColumns = "tenant_id, pool, price, observed_at, reporter_agent_id, reporter_role, source, received_at"
const eventColumns = "tenant_id, agent_id, type, at, actor_kind, actor_id, data"

const tokens = new Map<string, { readonly tenantId: string; readonly until: number }>()
const tenantOf = async (authorization: string | undefined): Promise<string | undefined> => {
  const hash = createHash("sha256").update((authorization ?? "").replace(/^Bearer /, "")).digest("hex")
  const cached = tokens.get(hash)
  if (cached !== undefined && cached.until > Date.now()) return cached.tenantId
  const [rows] = await pool.execute("SELECT t.id FROM tenant_tokens k JOIN tenants t ON t.id = k.tenant_id WHERE k.token_hash = ?", [hash])
  const tenantId = (rows as Array<{ id: string }>)[0]?.id
  if (tenantId !== undefined) tokens.set(hash, { tenantId, until: Date.now() + 5_000 })
  return tenantId
}

const send = (res: ServerResponse, status: number, json: unknown) => {
  const text = JSON.stringify(json)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

const notFound = (res: ServerResponse) => send(res, 404, { error: { code: "AgentNotFound", message: "agent not found" } })

const heartbeat = async (res: ServerResponse, tenantId: string, agentId: string) => {
  const now = Date.now()
  const [result] = await pool.execute(heartbeatSql, [now, now, agentId, tenantId])
  const packed = (result as { insertId: number; affectedRows: number }).insertId
  if (packed === 0) return notFound(res)
  send(res, 200, { agentId, liveness: (packed - 1) % 2 === 1 ? "online" : "offline", configVersion: Math.floor((packed - 1) / 2) })
}

const poll = async (res: ServerResponse, tenantId: string, agentId: string) => {
  const [rows] = await pool.execute(busySql, [agentId, tenantId])
  const row = (rows as Array<{ busy: number }>)[0]
  if (row === undefined) return notFound(res)
  // A busy agent would load its aggregate here; the bench's agents have nothing queued.
  send(res, 200, { commands: [] })
}

const pricingReport = async (req: IncomingMessage, res: ServerResponse, tenantId: string, agentId: string, body: string) => {
  const key = req.headers["x-request-id"] as string | undefined
  const report = JSON.parse(body) as { prices: Array<{ pool: string; price: number }> }
  if (key !== undefined) {
    const [found] = await pool.execute(idempotencySql, [tenantId, key])
    const record = (found as Array<{ response: string }>)[0]
    if (record !== undefined) return send(res, 200, JSON.parse(record.response))
  }
  const [live] = await pool.execute(liveSql, [agentId, tenantId])
  const instances = live as Array<{ role: string | null; pool: string | null }>
  if (instances.length === 0) return notFound(res)
  const now = Date.now()
  const roleOf = (p: string) => {
    const inPool = instances.filter((i) => i.pool === p)
    return inPool.length === 1 ? inPool[0]!.role : null
  }
  const values = report.prices.flatMap((p) => [tenantId, p.pool, p.price, now, agentId, roleOf(p.pool), "agent", now])
  await pool.query(`INSERT INTO price_snapshots (${snapshotColumns}) VALUES ${report.prices.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(", ")}`, values)
  const data = JSON.stringify({ count: report.prices.length, onDemand: 0, cloudInstanceId: null, role: roleOf(report.prices[0]!.pool), prices: report.prices })
  const [script] = await pool.query(
    "START TRANSACTION; UPDATE event_sequence SET last_id = LAST_INSERT_ID(last_id + 1) WHERE name = 'events'; " +
      "SET @bare_last_event = LAST_INSERT_ID(); " +
      `INSERT INTO events (id, ${eventColumns}) VALUES (@bare_last_event, ?, ?, ?, ?, ?, ?, ?); COMMIT`,
    [tenantId, agentId, "PriceReported", now, "agent", agentId, data]
  )
  const eventId = (script as Array<{ insertId: number }>)[1]!.insertId
  const answer = { accepted: report.prices.length, eventIds: [eventId] }
  if (key !== undefined) {
    await pool.execute(
      "INSERT IGNORE INTO idempotency (tenant_id, idem_key, operation, response, created_at) VALUES (?, ?, ?, ?, ?)",
      [tenantId, key, "pricing-report", JSON.stringify(answer), now]
    )
  }
  send(res, 200, answer)
}

const server = createServer((req, res) => {
  let body = ""
  req.setEncoding("utf8")
  req.on("data", (c) => (body += c))
  req.on("end", async () => {
    try {
      const m = route.exec(req.url ?? "")
      if (m === null) return send(res, 404, { error: { code: "RouteNotFound", message: "no such route" } })
      const tenantId = await tenantOf(req.headers.authorization)
      if (tenantId === undefined) return send(res, 401, { error: { code: "Unauthorized", message: "invalid token" } })
      const agentId = decodeURIComponent(m[1]!)
      if (m[2] === "heartbeat" && req.method === "POST") {
        JSON.parse(body === "" ? "{}" : body)
        return await heartbeat(res, tenantId, agentId)
      }
      if (m[2] === "pending-commands" && req.method === "GET") return await poll(res, tenantId, agentId)
      if (m[2] === "pricing-report" && req.method === "POST") return await pricingReport(req, res, tenantId, agentId, body)
      send(res, 404, { error: { code: "RouteNotFound", message: "no such route" } })
    } catch {
      send(res, 500, { error: { code: "InternalError", message: "internal error" } })
    }
  })
})

server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number }
  console.log(`bare server listening on http://127.0.0.1:${address.port}`)
})
process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))))
