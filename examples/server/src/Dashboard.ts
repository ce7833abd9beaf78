/**
 * Serves the built dashboard (examples/dashboard/dist) at `/` beside the API: hashed assets under
 * `/assets/` are cached for a year (`immutable`), `index.html` is revalidated on every load
 * (`no-cache`, with an ETag), and any other GET path without a file extension falls back to
 * `index.html` so the dashboard's client routes (`/agents/…`) survive a reload. `/api/*`,
 * `/metrics`, `/health` and `/ready` are never touched: they go on to the API (and its 404).
 *
 * An API-level middleware, so it composes with `ApiLive.serve` as one more layer.
 */
import { createHash } from "node:crypto"
import { existsSync } from "node:fs"
import { readFile, stat } from "node:fs/promises"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { HttpApiBuilder, type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, type Layer } from "effect"

/** examples/dashboard/dist, next to this example. */
export const defaultDir = fileURLToPath(new URL("../../dashboard/dist", import.meta.url))

/** Whether a path belongs to the API (never answered with a dashboard file). */
export const isApiPath = (pathname: string): boolean =>
  pathname === "/api" || pathname.startsWith("/api/") || pathname === "/metrics" || pathname === "/health" || pathname === "/ready"

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".map": "application/json"
}

export const IMMUTABLE = "public, max-age=31536000, immutable"

/** Whether the dashboard has been built into `dir`. */
export const isBuilt = (dir: string = defaultDir): boolean => existsSync(path.join(dir, "index.html"))

const notBuilt = (dir: string) =>
  HttpServerResponse.html(
    `<!doctype html><meta charset="utf-8"><title>spotfleet</title><h1>The dashboard is not built</h1>` +
      `<p>Build it with <code>npm run build -w examples/dashboard</code> (or <code>npm run build</code>); it is served from <code>${dir}</code>.</p>` +
      `<p>The API is up: <a href="/health">/health</a>, <a href="/metrics">/metrics</a>.</p>`
  ).pipe(HttpServerResponse.setStatus(503), HttpServerResponse.setHeader("cache-control", "no-store"))

/** Reads a file under `dir` (null when absent, outside `dir` or not a file). */
const readUnder = async (dir: string, pathname: string): Promise<{ body: Uint8Array; file: string; mtime: number } | null> => {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return null
  }
  if (decoded.includes("\u0000")) return null
  const file = path.resolve(dir, `.${path.posix.normalize(`/${decoded}`)}`)
  if (file !== dir && !file.startsWith(`${dir}${path.sep}`)) return null
  try {
    const info = await stat(file)
    if (!info.isFile()) return null
    return { body: await readFile(file), file, mtime: info.mtimeMs }
  } catch {
    return null
  }
}

/** The static handler: the response for a dashboard path, or null to hand the request to the API. */
export const respond = (dir: string, method: string, url: string, ifNoneMatch: string | undefined) =>
  Effect.promise(async (): Promise<HttpServerResponse.HttpServerResponse | null> => {
    if (method !== "GET" && method !== "HEAD") return null
    const pathname = new URL(url, "http://localhost").pathname
    if (isApiPath(pathname)) return null
    if (!isBuilt(dir)) return notBuilt(dir)
    // Browsers ask for /favicon.ico on their own; the dashboard's icon is an SVG.
    const direct = pathname === "/" ? null : (await readUnder(dir, pathname)) ?? (pathname === "/favicon.ico" ? await readUnder(dir, "/favicon.svg") : null)
    const hashed = direct !== null && pathname.startsWith("/assets/")
    // A missing file with an extension is a 404, not the app (a stale asset URL must not get HTML).
    if (direct === null && pathname !== "/" && /\.[a-z0-9]+$/i.test(pathname)) {
      return HttpServerResponse.text("not found", { status: 404, headers: { "cache-control": "no-store" } })
    }
    const found = direct ?? (await readUnder(dir, "/index.html"))
    if (found === null) return notBuilt(dir)
    const contentType = types[path.extname(found.file).toLowerCase()] ?? "application/octet-stream"
    if (hashed) {
      return HttpServerResponse.uint8Array(found.body, { contentType, headers: { "cache-control": IMMUTABLE } })
    }
    const etag = `W/"${createHash("sha1").update(found.body).digest("base64url").slice(0, 20)}"`
    const headers = { "cache-control": "no-cache", etag, "x-content-type-options": "nosniff" }
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((t) => t.trim() === etag)) {
      return HttpServerResponse.empty({ status: 304, headers })
    }
    return HttpServerResponse.uint8Array(found.body, { contentType, headers })
  })

/** The dashboard as middleware: dashboard paths are answered here, everything else goes to `app`. */
export const middleware = (dir: string = defaultDir) => (app: HttpApp.Default): HttpApp.Default =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const response = yield* respond(dir, request.method, request.url, request.headers["if-none-match"])
    return response ?? (yield* app)
  })

/**
 * Serves the dashboard from `dir` beside the API: provide it to `ApiLive.serve(…)`.
 */
export const layer = (dir: string = defaultDir): Layer.Layer<never> => HttpApiBuilder.middleware(middleware(dir))
