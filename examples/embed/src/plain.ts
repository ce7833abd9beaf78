/**
 * An existing-style Node service (plain `node:http`, no Effect in its own code) that embeds the
 * spotfleet engine through the Promise facade (`createEngine`).
 *
 * - Persistence is the host's choice: in-memory by default, MySQL when `MYSQL_URL` is set (the
 *   host migrates first with `MysqlMigrations.runFromUrl`, then passes
 *   `MysqlStore.layerFromUrl(url)` as the store).
 * - The host runs the background jobs it wants on its own timers (`engine.runJob`).
 * - Agents talk to the host's own JSON routes, in its own dialect and with its own auth (a shared
 *   agent key here); the host calls the engine and maps `SpotfleetError` codes to status codes.
 *
 * Run: `MYSQL_URL=mysql://root@127.0.0.1:3306/fleet PORT=3000 npm run start:plain -w @spotfleet/example-embed`
 * (the database must exist: `CREATE DATABASE fleet`; a failed start says why in one line).
 */
import { createHash, randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { createEngine, EngineClient, type Ids, Pool } from "@spotfleet/engine"
import * as StartupFailure from "./startupFailure.js"

/** Options of the plain host. */
export interface PlainHostOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** MySQL URL; absent = the in-memory store. */
  readonly mysqlUrl?: string | undefined
  /** The key agents send as `x-agent-key` (the host's own auth scheme). */
  readonly agentKey: string
  /** The tenant this service keeps its fleet under (created on first start). */
  readonly tenantName?: string | undefined
  /** How often the liveness and command-sweep jobs run (ms); 0 = never (tests drive them). */
  readonly livenessEveryMs?: number | undefined
  readonly sweepEveryMs?: number | undefined
  /** Seconds without a heartbeat before an agent goes offline (default 90). */
  readonly offlineAfterSeconds?: number | undefined
}

/** A running plain host. */
export interface PlainHost {
  readonly url: string
  readonly engine: EngineClient.EngineClient
  readonly tenantId: Ids.TenantId
  /** Stops the timers, closes the server (waiting for open requests) and disposes the engine. */
  readonly close: () => Promise<void>
}

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message)
  }
}

/** The host's mapping of engine error codes to status codes. */
const statusOf = (code: string): number => {
  switch (code) {
    case "AgentNotFound":
    case "TenantNotFound":
    case "InstanceNotFound":
    case "CommandNotFound":
      return 404
    case "InvalidInput":
    case "InvalidTransition":
      return 400
    case "FlowConflict":
    case "VersionConflict":
    case "DuplicateKey":
    case "IdempotencyKeyReused":
      return 409
    case "LimitExceeded":
      return 429
    default:
      return 500
  }
}

const readJson = async (req: IncomingMessage): Promise<Record<string, unknown>> => {
  let size = 0
  const chunks: Array<Buffer> = []
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > 64 * 1024) throw new HttpError(413, "TooLarge", "body over 64 KiB")
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString("utf8")
  if (text.trim() === "") return {}
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not an object")
    return value as Record<string, unknown>
  } catch {
    throw new HttpError(400, "MalformedJson", "the body is not a JSON object")
  }
}

const str = (body: Record<string, unknown>, field: string): string => {
  const v = body[field]
  if (typeof v !== "string" || v.length === 0) throw new HttpError(400, "InvalidInput", `${field} must be a non-empty string`)
  return v
}

/** Validates a pool id (`[ondemand:]<type>.<zone>[~<product>]`, e.g. `t3.medium.us-east-1a`) at the host's edge. */
const poolOf = (raw: string): Pool.PoolId => {
  const parts = Pool.parse(raw)
  if (parts._tag === "Left") throw new HttpError(400, "InvalidInput", `pool: ${parts.left}`)
  return raw as Pool.PoolId
}

const send = (res: ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  res.end(text)
}

/** Starts the host. */
export const start = async (options: PlainHostOptions): Promise<PlainHost> => {
  // 1. Persistence: migrate first, then hand the store layer to the facade.
  if (options.mysqlUrl !== undefined) await MysqlMigrations.runFromUrl(options.mysqlUrl)
  const engine = createEngine(options.mysqlUrl === undefined ? {} : { store: MysqlStore.layerFromUrl(options.mysqlUrl) })

  // 2. The host's tenant (idempotent across restarts). The engine wants a token hash; this host
  //    authenticates agents itself, so the hash is of a random secret nobody holds.
  const tenantName = options.tenantName ?? "embedded"
  const tenant = (await engine.listTenants()).find((t) => t.name === tenantName) ??
    (await engine.createTenant({ name: tenantName, tokenHash: createHash("sha256").update(randomUUID()).digest("hex") }))

  // 3. The routes: the host's dialect over the facade.
  const agentId = (raw: string) => raw as Ids.AgentId
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://host")
    const parts = url.pathname.split("/").filter((p) => p.length > 0)
    if (req.method === "GET" && url.pathname === "/hello") return send(res, 200, { hello: "from the host" })
    if (parts[0] !== "agents") throw new HttpError(404, "NotFound", `no route ${req.method} ${url.pathname}`)
    if (req.headers["x-agent-key"] !== options.agentKey) throw new HttpError(401, "Unauthorized", "bad x-agent-key")
    const requestId = typeof req.headers["x-request-id"] === "string" ? req.headers["x-request-id"] : undefined
    const call = requestId === undefined ? {} : { idempotencyKey: requestId }
    const t = tenant.id
    const key = `${req.method} ${parts.slice(2).join("/")}`

    if (req.method === "POST" && parts.length === 2 && parts[1] === "register") {
      const body = await readJson(req)
      const r = await engine.register(t, {
        logicalAgentId: str(body, "name"),
        cloudInstanceId: str(body, "instance"),
        pool: poolOf(str(body, "pool"))
      }, call)
      return send(res, r.created ? 201 : 200, { agentId: r.agent.id, created: r.created, role: r.instance.role })
    }
    const id = agentId(parts[1] ?? "")
    switch (key) {
      case "POST heartbeat": {
        const beat = await engine.heartbeat(t, id)
        return send(res, 200, { liveness: beat.liveness, configVersion: beat.configVersion })
      }
      case "GET commands": {
        const commands = await engine.pollCommands(t, id)
        return send(res, 200, {
          commands: commands.map((c) => ({ id: c.id, requestId: c.requestId, type: c.type, params: c.params }))
        })
      }
      case "POST launched": {
        const body = await readJson(req)
        const view = await engine.confirmLaunch(t, id, { commandId: str(body, "commandId") as Ids.CommandId, cloudInstanceId: str(body, "instance") }, call)
        return send(res, 200, { roles: roles(view) })
      }
      case "POST termination-notice": {
        const body = await readJson(req)
        const at = body["terminationTime"]
        const deadline = typeof at === "string" ? Date.parse(at) : undefined
        const view = await engine.notice(t, id, {
          kind: "termination",
          cloudInstanceId: str(body, "instance"),
          ...(deadline === undefined || Number.isNaN(deadline) ? {} : { deadline })
        }, call)
        return send(res, 200, { notice: view.agent.notice?.kind ?? null, roles: roles(view) })
      }
      case "POST replicas": {
        // The host's operator route: keep a warm replica for this agent.
        const view = await engine.requestReplica(t, id, {}, call)
        return send(res, 202, { roles: roles(view) })
      }
      case "GET ": {
        const view = await engine.getAgent(t, id)
        return send(res, 200, { liveness: view.agent.liveness, notice: view.agent.notice?.kind ?? null, roles: roles(view) })
      }
    }
    if (req.method === "POST" && parts.length === 5 && parts[2] === "commands" && parts[4] === "result") {
      const body = await readJson(req)
      const instance = body["instance"]
      const message = body["message"]
      const command = await engine.reportResult(t, id, {
        commandId: parts[3] as Ids.CommandId,
        result: {
          success: body["success"] === true,
          message: typeof message === "string" ? message : null,
          cloudInstanceId: typeof instance === "string" ? instance : null,
          data: {}
        }
      }, call)
      return send(res, 200, { status: command.status })
    }
    throw new HttpError(404, "NotFound", `no route ${req.method} ${url.pathname}`)
  }

  const server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) return send(res, e.status, { error: e.code, message: e.message })
      if (e instanceof EngineClient.SpotfleetError) return send(res, statusOf(e.code), { error: e.code, message: e.message, details: e.details })
      console.error("unexpected", e)
      send(res, 500, { error: "Internal", message: "unexpected failure" })
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve())
  })

  // 4. Background jobs on the host's own timers, never two runs of one job at once.
  const timers: Array<NodeJS.Timeout> = []
  const every = (ms: number | undefined, job: () => Promise<unknown>) => {
    if (ms === undefined || ms <= 0) return
    let running = false
    timers.push(setInterval(() => {
      if (running) return
      running = true
      job().catch((e: unknown) => console.error("job failed", e)).finally(() => (running = false))
    }, ms))
  }
  every(options.livenessEveryMs ?? 15_000, () => engine.runJob("liveness", { offlineAfterSeconds: options.offlineAfterSeconds }))
  every(options.sweepEveryMs ?? 10_000, () => engine.runJob("command-sweep"))

  const address = server.address() as AddressInfo
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${address.port}`,
    engine,
    tenantId: tenant.id,
    close: async () => {
      for (const t of timers) clearInterval(t)
      const closed = new Promise<void>((resolve, reject) => server.close((e) => (e === undefined ? resolve() : reject(e))))
      server.closeIdleConnections() // keep-alive sockets would hold close() open until they time out
      await closed
      await engine.dispose()
    }
  }
}

const roles = (view: { readonly instances: ReadonlyArray<{ readonly cloudInstanceId: string | null; readonly role: string }> }) =>
  Object.fromEntries(view.instances.filter((i) => i.cloudInstanceId !== null).map((i) => [i.cloudInstanceId, i.role]))

// `tsx src/plain.ts`: run as a service.
if (import.meta.url === `file://${process.argv[1]}`) {
  const port = Number(process.env.PORT ?? 3000)
  const mysqlUrl = process.env.MYSQL_URL || undefined
  const host = await start({
    port,
    host: process.env.HOST ?? "0.0.0.0",
    mysqlUrl,
    agentKey: process.env.AGENT_KEY ?? "dev-agent-key"
  }).catch((e: unknown) => StartupFailure.exitWith("plain host", e, { mysqlUrl, port }))
  console.log(`plain host on ${host.url} (${process.env.MYSQL_URL ? "MySQL" : "in-memory"} store)`)
  const stop = () => void host.close().then(() => process.exit(0))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
}
