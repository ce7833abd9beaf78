import { connect } from "node:net"
import { FetchHttpClient, type HttpClient, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { AgentFastPath, ApiLive, Client, type HttpConfig, RateLimit, Serving } from "@spotfleet/adapter-http"
import { Engine, MemoryStore } from "@spotfleet/engine"
import { Clock, Context, Effect, Layer, Redacted } from "effect"

export const adminToken = "test-admin-token-0123456789"

export class TestServer extends Context.Tag("test/TestServer")<TestServer, { readonly baseUrl: string }>() {}

/** How {@link serverLayer} serves: its gate, and which way fast-path calls take. */
export class TestServing extends Context.Tag("test/TestServing")<TestServing, {
  readonly serving: Serving.Serving
  /** Whether fast-path calls take the agent fast path (true) or HttpApi (false); switchable per request. */
  fastPath: boolean
}>() {}

/**
 * A real server on an ephemeral port over the given store ports, served as examples/server
 * serves (`Serving`: readiness gate, timeouts, rate limiter first), HttpApi only unless
 * `fastPath` (then switchable through `TestServer.fastPath`).
 */
export const serverLayer = <E>(
  stores: Layer.Layer<MemoryStore.Stores, E>,
  options: {
    readonly maxBodyBytes?: number
    readonly rateLimit?: RateLimit.RateLimitOptions
    readonly fastPath?: boolean
    readonly jsonLimits?: Partial<HttpConfig.JsonLimits>
    readonly serving?: Serving.ServingOptions
  } = {}
) =>
  Layer.unwrapEffect(Effect.map(Serving.make(options.serving), (serving) =>
    Layer.effect(
      TestServer,
      Effect.gen(function*() {
        const address = (yield* HttpServer.HttpServer).address as HttpServer.TcpAddress
        const fastPath = yield* AgentFastPath.AgentFastPath
        const state = yield* TestServing
        serving.open({
          limiter: yield* RateLimit.RateLimiter,
          fastPath: { handle: (request, response, next) => (state.fastPath ? fastPath.handle(request, response, next) : next(request, response)) }
        })
        return { baseUrl: `http://127.0.0.1:${address.port}` }
      })
    ).pipe(
      Layer.provideMerge(Layer.sync(TestServing, () => ({ serving, fastPath: options.fastPath === true }))),
      Layer.provideMerge(ApiLive.serve({
        adminToken: Redacted.make(adminToken),
        maxBodyBytes: options.maxBodyBytes ?? 64 * 1024,
        agentTokenSecret: Redacted.make("agent-secret-for-tests"),
        ssePollMillis: 50,
        sseKeepAliveMillis: 200,
        ...(options.rateLimit === undefined ? {} : { rateLimit: options.rateLimit }),
        ...(options.jsonLimits === undefined ? {} : { jsonLimits: options.jsonLimits })
      })),
      Layer.provideMerge(Engine.layer()),
      Layer.provideMerge(stores),
      Layer.provideMerge(NodeHttpServer.layer(() => serving.server, { port: 0, host: "127.0.0.1" })),
      Layer.provideMerge(FetchHttpClient.layer)
    )
  ))

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

/** An answer read off the wire. */
export interface Raw {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
  readonly millis: number
}

/** Writes raw bytes to a new connection (pieces separated by pauses) and reads one answer. */
export const raw = (baseUrl: string, pieces: ReadonlyArray<Buffer | string | number>, timeoutMs = 5_000) =>
  Effect.async<Raw | "no answer">((resume) => {
    const { port } = new URL(baseUrl)
    const started = performance.now()
    const socket = connect(Number(port), "127.0.0.1")
    let received = Buffer.alloc(0)
    let done = false
    const finish = (value: Raw | "no answer") => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resume(Effect.succeed(value))
    }
    const timer = setTimeout(() => finish("no answer"), timeoutMs)
    const tryParse = () => {
      const text = received.toString("latin1")
      const end = text.indexOf("\r\n\r\n")
      if (end < 0) return
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n")
      const headers: Record<string, string> = {}
      for (const line of lines) {
        const colon = line.indexOf(":")
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
      }
      const length = Number(headers["content-length"] ?? 0)
      if (received.length - end - 4 < length) return
      finish({
        status: Number(statusLine!.split(" ")[1]),
        headers,
        body: received.subarray(end + 4, end + 4 + length).toString("utf8"),
        millis: performance.now() - started
      })
    }
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk])
      tryParse()
    })
    socket.on("error", () => tryParse())
    socket.on("close", () => (received.length > 0 ? tryParse() : undefined))
    socket.on("connect", async () => {
      for (const piece of pieces) {
        if (done) return
        if (typeof piece === "number") await new Promise((r) => setTimeout(r, piece))
        else socket.write(piece)
      }
    })
  })

/** A request head (with `Content-Length` for the given body unless `chunked`). */
export const head = (method: string, path: string, headers: Record<string, string>, body?: Buffer) => {
  const lines = [`${method} ${path} HTTP/1.1`, "Host: 127.0.0.1", ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)]
  if (body !== undefined) lines.push(`Content-Length: ${body.length}`)
  return `${lines.join("\r\n")}\r\n\r\n`
}


/** One server-sent event block: its `id:`, `event:` and joined `data:` lines. */
export interface SseBlock {
  readonly id: string
  readonly event: string
  readonly data: string
}

/**
 * Opens an SSE route (resuming after `lastEventId` when given) and collects its blocks until
 * `until` holds (10 s at most), counting comment lines apart; then disconnects.
 */
export const readSse = (
  route: string,
  token: string,
  lastEventId: number | undefined,
  until: (blocks: ReadonlyArray<SseBlock>, comments: number) => boolean
) =>
  Effect.gen(function*() {
    const { baseUrl } = yield* TestServer
    return yield* Effect.promise(async () => {
      const controller = new AbortController()
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "text/event-stream" }
      if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId)
      const response = await fetch(`${baseUrl}${route}`, { headers, signal: controller.signal })
      if (response.status !== 200) throw new Error(`${route}: ${response.status}`)
      if (!(response.headers.get("content-type") ?? "").includes("text/event-stream")) throw new Error(`${route}: not an event stream`)
      const blocks: Array<SseBlock> = []
      let comments = 0
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
      let buffer = ""
      const deadline = Date.now() + 10_000
      while (!until(blocks, comments) && Date.now() < deadline) {
        const { done, value } = await reader.read()
        if (done) break
        buffer += value
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const lines = buffer.slice(0, end).split("\n")
          buffer = buffer.slice(end + 2)
          comments += lines.filter((l) => l.startsWith(":")).length
          const field = (name: string) => lines.filter((l) => l.startsWith(`${name}:`)).map((l) => l.slice(name.length + 1).trim())
          if (field("event").length === 0 && field("data").length === 0) continue
          blocks.push({ id: field("id")[0] ?? "", event: field("event")[0] ?? "", data: field("data").join("\n") })
        }
      }
      controller.abort()
      await reader.cancel().catch(() => undefined)
      return { blocks, comments }
    })
  })
