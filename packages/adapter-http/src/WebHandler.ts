/**
 * The API as a Fetch-style handler (`(Request) => Promise<Response>`) for host frameworks (Hono,
 * Next.js route handlers, Bun, Deno, Node via an adapter).
 *
 * @since 0.1.0
 */
import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { type AgentStore, Engine, type EventLog, type IdempotencyStore, MemoryStore, type PriceStore } from "@spotfleet/engine"
import { Layer } from "effect"
import * as ApiLive from "./ApiLive.js"
import * as HttpConfig from "./HttpConfig.js"

/**
 * A web handler and its disposal.
 *
 * @since 0.1.0
 * @category models
 */
export interface WebHandler {
  readonly handler: (request: Request) => Promise<Response>
  /** Ends event streams and releases the layers. */
  readonly dispose: () => Promise<void>
}

/**
 * The API over a given engine and its store ports (e.g. `Engine.layer()` over
 * `MysqlStore.layerFromUrl(url)`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <E>(
  engine: Layer.Layer<Engine.Engine | EventLog.EventLog | IdempotencyStore.IdempotencyStore | AgentStore.AgentStore | PriceStore.PriceStore, E>,
  options?: HttpConfig.HttpOptions
): WebHandler => {
  const { dispose, handler } = HttpApiBuilder.toWebHandler(
    Layer.mergeAll(ApiLive.layer, HttpServer.layerContext).pipe(
      Layer.provide(HttpConfig.layer(options)),
      Layer.provide(engine)
    )
  )
  return { handler: (request) => handler(request), dispose }
}

/**
 * The API over a fresh in-memory engine (demos, tests).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (options?: HttpConfig.HttpOptions & { readonly engine?: Engine.EngineOptions | undefined }): WebHandler =>
  make(Engine.layer(options?.engine).pipe(Layer.provideMerge(MemoryStore.layer)), options)

/**
 * A web handler served under a path prefix of a host server.
 *
 * @since 0.1.0
 * @category models
 */
export interface MountedWebHandler extends WebHandler {
  /** The normalized prefix: a leading slash, no trailing slash (e.g. `/fleet`). */
  readonly prefix: string
  /** Whether a request path (`URL.pathname`) belongs under the prefix: route it to `handler` then. */
  readonly matches: (pathname: string) => boolean
}

/**
 * Mounts a web handler under a path prefix (e.g. `/fleet`) of a host server that has routes of
 * its own. The API's routes are absolute (`/api/...`, `/health`, `/metrics`): the prefix is
 * stripped before the request reaches the API, so `/fleet/api/agents/register` is served as
 * `/api/agents/register`. A request outside the prefix answers 404 with the API's error body;
 * hosts check `matches` first and route everything else themselves. Agents and typed clients
 * use `http://host/fleet` as their base URL.
 *
 * ```ts
 * const fleet = WebHandler.mount("/fleet", WebHandler.make(EngineLive, { adminToken }))
 * // in the host's router: if (fleet.matches(url.pathname)) return fleet.handler(request)
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const mount = (prefix: string, webHandler: WebHandler): MountedWebHandler => {
  const normalized = `/${prefix.split("/").filter((s) => s.length > 0).join("/")}`
  const root = normalized === "/" ? "" : normalized
  const matches = (pathname: string) => root === "" || pathname === root || pathname.startsWith(`${root}/`)
  const handler = (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (!matches(url.pathname)) {
      return Promise.resolve(Response.json(
        { error: { code: "NotFound", message: `no route outside ${normalized}`, details: { path: url.pathname } } },
        { status: 404 }
      ))
    }
    url.pathname = url.pathname.slice(root.length) || "/"
    const init: RequestInit & { duplex?: "half" } = {
      method: request.method,
      headers: request.headers,
      signal: request.signal,
      ...(request.body === null ? {} : { body: request.body, duplex: "half" })
    }
    return webHandler.handler(new Request(url, init))
  }
  return { prefix: normalized, matches, handler, dispose: webHandler.dispose }
}
