/**
 * A host `node:http` server with routes of its own (`/hello`) that mounts the whole spotfleet
 * HTTP API (agent API v1, admin and dashboard API, SSE, metrics) under `/fleet` through the
 * adapter-http web handler. Agents and typed clients use `http://host/fleet` as their base URL.
 *
 * The host writes no route of the agent protocol: it gets the full API, its auth (tenant and
 * admin tokens), idempotency and error bodies as they are. The engine runs inside the handler's
 * own runtime.
 *
 * Run: `SPOTFLEET_ADMIN_TOKEN=... PORT=3000 npm run start:mounted -w @spotfleet/example-embed`
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { WebHandler } from "@spotfleet/adapter-http"
import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { Engine } from "@spotfleet/engine"
import { Layer, Redacted } from "effect"
import { toRequest, writeResponse } from "./nodeFetch.js"
import * as StartupFailure from "./startupFailure.js"

/** Options of the mounted host. */
export interface MountedHostOptions {
  readonly port?: number | undefined
  readonly host?: string | undefined
  /** Where the API lives on the host (default `/fleet`). */
  readonly prefix?: string | undefined
  /** The operator token for `<prefix>/api/admin/*`. */
  readonly adminToken: string
  /** MySQL URL (migrated on start); absent = the in-memory store. */
  readonly mysqlUrl?: string | undefined
}

/** A running mounted host. */
export interface MountedHost {
  readonly url: string
  /** The base URL of the API: `url` + prefix. */
  readonly apiUrl: string
  /** Closes the server (ending event streams first) and releases the engine. */
  readonly close: () => Promise<void>
}

/** Starts the host. */
export const start = async (options: MountedHostOptions): Promise<MountedHost> => {
  if (options.mysqlUrl !== undefined) await MysqlMigrations.runFromUrl(options.mysqlUrl)
  const http = { adminToken: Redacted.make(options.adminToken) }
  const api = options.mysqlUrl === undefined
    ? WebHandler.makeMemory(http)
    : WebHandler.make(Engine.layer().pipe(Layer.provideMerge(MysqlStore.layerFromUrl(options.mysqlUrl))), http)
  const fleet = WebHandler.mount(options.prefix ?? "/fleet", api)

  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://host").pathname
    if (fleet.matches(pathname)) {
      fleet.handler(toRequest(req, res)).then((response) => writeResponse(response, res)).catch((e: unknown) => {
        console.error("fleet handler failed", e)
        if (!res.headersSent) res.writeHead(500)
        res.end()
      })
      return
    }
    if (req.method === "GET" && pathname === "/hello") {
      res.writeHead(200, { "content-type": "application/json" })
      return void res.end(JSON.stringify({ hello: "from the host" }))
    }
    res.writeHead(404, { "content-type": "application/json" })
    res.end(JSON.stringify({ error: "not a host route" }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve())
  })
  const address = server.address() as AddressInfo
  const url = `http://${options.host ?? "127.0.0.1"}:${address.port}`
  return {
    url,
    apiUrl: `${url}${fleet.prefix}`,
    close: async () => {
      const closed = new Promise<void>((resolve, reject) => server.close((e) => (e === undefined ? resolve() : reject(e))))
      // Disposing the handler ends open SSE streams, so their connections can finish.
      await fleet.dispose()
      server.closeIdleConnections()
      await closed
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const adminToken = process.env.SPOTFLEET_ADMIN_TOKEN
  if (adminToken === undefined || adminToken === "") {
    console.error("mounted host: SPOTFLEET_ADMIN_TOKEN is not set — set it to the operator token of the mounted API")
    process.exit(1)
  }
  const port = Number(process.env.PORT ?? 3000)
  const mysqlUrl = process.env.MYSQL_URL || undefined
  const host = await start({
    port,
    host: process.env.HOST ?? "0.0.0.0",
    adminToken,
    mysqlUrl
  }).catch((e: unknown) => StartupFailure.exitWith("mounted host", e, { mysqlUrl, port }))
  console.log(`mounted host on ${host.url}; spotfleet API under ${host.apiUrl}`)
  const stop = () => void host.close().then(() => process.exit(0))
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
}
