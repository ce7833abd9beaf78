import { createServer } from "node:http"
import { FetchHttpClient, type HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ApiLive, Client, type RateLimit } from "@spotfleet/adapter-http"
import { Engine, MemoryStore } from "@spotfleet/engine"
import { Clock, Context, Effect, Layer, Redacted } from "effect"

export const adminToken = "test-admin-token-0123456789"

export class TestServer extends Context.Tag("test/TestServer")<TestServer, { readonly baseUrl: string }>() {}

/** A real server on an ephemeral port over the given store ports. */
export const serverLayer = <E>(stores: Layer.Layer<MemoryStore.Stores, E>, options: { readonly maxBodyBytes?: number; readonly rateLimit?: RateLimit.RateLimitOptions } = {}) =>
  Layer.effect(
    TestServer,
    Effect.map(HttpServer.HttpServer, (server) => {
      const address = server.address as HttpServer.TcpAddress
      return { baseUrl: `http://127.0.0.1:${address.port}` }
    })
  ).pipe(
    Layer.provideMerge(ApiLive.serve({
      adminToken: Redacted.make(adminToken),
      maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
      agentTokenSecret: Redacted.make("agent-secret-for-tests"),
      ssePollMillis: 50,
      sseKeepAliveMillis: 200,
      ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit })
    })),
    Layer.provideMerge(Engine.layer()),
    Layer.provideMerge(stores),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
    Layer.provideMerge(FetchHttpClient.layer)
  )

export const memoryServer = serverLayer(MemoryStore.layer)

/** A raw JSON request; answers status and parsed body. */
export const call = (
  method: string,
  path: string,
  options: { readonly token?: string; readonly body?: unknown; readonly raw?: string; readonly headers?: Record<string, string> } = {}
) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    const headers: Record<string, string> = { ...options.headers }
    if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`
    let body: string | undefined
    if (options.raw !== undefined) body = options.raw
    else if (options.body !== undefined) body = JSON.stringify(options.body)
    if (body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
    const response = yield* Effect.promise(() => fetch(`${baseUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }) }))
    const text = yield* Effect.promise(() => response.text())
    let json: any
    try {
      json = text === "" ? undefined : JSON.parse(text)
    } catch {
      json = text
    }
    return { status: response.status, body: json, text, headers: response.headers }
  })

export const client = (token?: string): Effect.Effect<Client.Client, never, TestServer | HttpClient.HttpClient> =>
  Effect.flatMap(TestServer, ({ baseUrl }) => Client.make({ baseUrl, token }))

export const createTenant = (name: string) =>
  Effect.gen(function*() {
    const res = yield* call("POST", "/api/admin/tenants", { token: adminToken, body: { name } })
    if (res.status !== 201) return yield* Effect.dieMessage(`tenant creation failed: ${res.status} ${res.text}`)
    return res.body as { id: string; name: string; token: string }
  })

/** A clock `shiftMillis` ahead of the real one (the jobs read time only through `Clock`). */
export const shiftedClock = (shiftMillis: number): Clock.Clock => {
  const base = Clock.make()
  return {
    [Clock.ClockTypeId]: Clock.ClockTypeId,
    unsafeCurrentTimeMillis: () => base.unsafeCurrentTimeMillis() + shiftMillis,
    currentTimeMillis: Effect.sync(() => base.unsafeCurrentTimeMillis() + shiftMillis),
    unsafeCurrentTimeNanos: () => base.unsafeCurrentTimeNanos() + BigInt(shiftMillis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => base.unsafeCurrentTimeNanos() + BigInt(shiftMillis) * 1_000_000n),
    sleep: (d) => base.sleep(d)
  }
}
