/**
 * The API as a Fetch-style handler (`(Request) => Promise<Response>`) for host frameworks (Hono,
 * Next.js route handlers, Bun, Deno, Node via an adapter).
 *
 * @since 0.1.0
 */
import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { Engine, EventLog, IdempotencyStore, MemoryStore } from "@spotfleet/engine"
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
  engine: Layer.Layer<Engine.Engine | EventLog.EventLog | IdempotencyStore.IdempotencyStore, E>,
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
