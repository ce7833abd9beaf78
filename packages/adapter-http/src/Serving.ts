/**
 * Restart-safe serving on `node:http`: the server the API is served on (`NodeHttpServer.layer(() =>
 * serving.server, …)`), with
 *
 * - **a readiness gate**: the server listens as soon as its layer is built, before the API's
 *   handler is attached (and before the host's own start-up work, such as a bootstrap tenant);
 *   until {@link Serving.open} every request is answered at once with `503` `NotReady` and
 *   `Retry-After: 1` — never left unanswered;
 * - **one way in**: after `open`, each request is checked once against the rate limiter, then
 *   goes to the agent fast path (when given), then to the API's handler;
 * - **timeouts**: request headers must arrive within `headersTimeoutMillis` (default 10 s) and
 *   the whole request, body included, within `requestTimeoutMillis` (default 30 s), looked at
 *   every second; a slow request is answered `408` (JSON) and its connection closed. A malformed
 *   request line or headers are answered `400`, headers over Node's size limit `431`;
 * - **a bounded drain**: {@link Serving.drain} stops accepting connections, answers what is in
 *   flight (with `Connection: close`, so clients move on), waits for it up to a bound, then closes
 *   every connection.
 *
 * examples/server uses it; hosts that serve the API on their own `node:http` server can too.
 *
 * @since 0.1.0
 */
import { type IncomingMessage, Server, type ServerResponse } from "node:http"
import type { Socket } from "node:net"
import { Config, Duration, Effect } from "effect"
import type { AgentFastPathService } from "./AgentFastPath.js"
import * as ApiError from "./ApiError.js"
import * as RateLimit from "./RateLimit.js"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServingOptions {
  /** Request headers must arrive within this (default 10,000 ms); else `408`. */
  readonly headersTimeoutMillis?: number | undefined
  /** The whole request, body included, must arrive within this (default 30,000 ms); else `408`. */
  readonly requestTimeoutMillis?: number | undefined
  /** How often Node looks for requests past these timeouts (default 1,000 ms; Node's own default is 30 s). */
  readonly timeoutCheckMillis?: number | undefined
}

/**
 * What comes after the gate once the server is open.
 *
 * @since 0.1.0
 * @category models
 */
export interface Ways {
  /** The agent fast path (`ApiLive.serve` provides it); without one every request goes to the API. */
  readonly fastPath?: AgentFastPathService | undefined
  /** The API's rate limiter (`ApiLive.serve` provides it): checked before anything else runs. */
  readonly limiter?: RateLimit.Limiter | undefined
}

/**
 * A gated `node:http` server.
 *
 * @since 0.1.0
 * @category models
 */
export interface Serving {
  /** The server to hand `NodeHttpServer.layer`. */
  readonly server: Server
  /** Starts answering: requests from now on reach the rate limiter, the fast path and the API. */
  readonly open: (ways?: Ways) => void
  /** Whether the server answers requests (opened, not draining). */
  readonly isReady: () => boolean
  /** Requests being answered right now. */
  readonly inFlight: () => number
  /**
   * Stops accepting connections, lets in-flight requests finish (their responses close their
   * connections) for at most `timeout`, then closes every connection; the number of requests
   * cut off.
   */
  readonly drain: (timeout: Duration.DurationInput) => Effect.Effect<number>
}

/**
 * The options from configuration: `SPOTFLEET_HEADERS_TIMEOUT_SECONDS` (default 10) and
 * `SPOTFLEET_REQUEST_TIMEOUT_SECONDS` (default 30).
 *
 * @since 0.1.0
 * @category config
 */
export const options: Config.Config<ServingOptions> = Config.all({
  headers: Config.number("SPOTFLEET_HEADERS_TIMEOUT_SECONDS").pipe(Config.withDefault(10)),
  request: Config.number("SPOTFLEET_REQUEST_TIMEOUT_SECONDS").pipe(Config.withDefault(30))
}).pipe(Config.map(({ headers, request }) => ({ headersTimeoutMillis: headers * 1000, requestTimeoutMillis: request * 1000 })))

const json = (status: number, error: ApiError.ApiError, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(ApiError.bodyOf(error))
  return { status, text, headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers } }
}

const notReady = json(
  503,
  new ApiError.ServiceUnavailable({ code: "NotReady", message: "the server is starting; retry after 1 s", details: { retryAfterSeconds: 1 } }),
  { "retry-after": "1" }
)

const rawAnswer = (status: number, reason: string, error: ApiError.ApiError): string => {
  const text = JSON.stringify(ApiError.bodyOf(error))
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`
}

const timedOut = rawAnswer(
  408,
  "Request Timeout",
  new ApiError.RequestTimeout({ code: "RequestTimeout", message: "the request did not arrive in time (headers or body too slow)" })
)
const headersTooLarge = rawAnswer(
  431,
  "Request Header Fields Too Large",
  ApiError.badField("headers", "the request headers are too large", "HeadersTooLarge")
)
const badRequest = rawAnswer(400, "Bad Request", ApiError.badField("request", "not a well-formed HTTP request", "MalformedRequest"))

/**
 * A gated server (not listening yet: `NodeHttpServer.layer` makes it listen).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: ServingOptions = {}): Effect.Effect<Serving> =>
  Effect.map(Effect.clock, (clock) => {
    const requestTimeout = Math.max(1, options.requestTimeoutMillis ?? 30_000)
    const server = new Server({
      headersTimeout: Math.min(Math.max(1, options.headersTimeoutMillis ?? 10_000), requestTimeout),
      requestTimeout,
      // Node looks for timed-out requests only this often (its default: every 30 s).
      connectionsCheckingInterval: Math.max(10, options.timeoutCheckMillis ?? 1_000)
    })
    let state: "starting" | "open" | "draining" = "starting"
    let ways: Ways = {}
    const inFlight = new Set<ServerResponse>()
    // A flood is answered from a handful of prepared 429s (no error object, no JSON per request).
    const limitedAnswers = new Map<string, ReturnType<typeof json>>()
    const limitedAnswer = (rejection: RateLimit.Rejection) => {
      const key = `${rejection.scope}/${rejection.retryAfterSeconds}`
      let answer = limitedAnswers.get(key)
      if (answer === undefined) {
        const error = RateLimit.rejectionError(rejection)
        answer = json(ApiError.statusOf(error), error, { "retry-after": String(rejection.retryAfterSeconds) })
        if (limitedAnswers.size < 1_000) limitedAnswers.set(key, answer)
      }
      return answer
    }
    const emit = server.emit.bind(server) as (event: string | symbol, ...args: Array<unknown>) => boolean

    const toApi = (request: IncomingMessage, response: ServerResponse) => {
      emit("request", request, response)
    }

    const onRequest = (request: IncomingMessage, response: ServerResponse) => {
      inFlight.add(response)
      response.once("close", () => inFlight.delete(response))
      if (state === "starting") {
        response.writeHead(notReady.status, notReady.headers)
        response.end(notReady.text)
        return
      }
      // Clients move to another process while this one stops.
      if (state === "draining") response.setHeader("connection", "close")
      const rejection = ways.limiter?.checkOnce(request, clock.unsafeCurrentTimeMillis())
      if (rejection !== undefined) {
        const answer = limitedAnswer(rejection)
        response.writeHead(answer.status, answer.headers)
        response.end(answer.text)
        return
      }
      if (ways.fastPath !== undefined) ways.fastPath.handle(request, response, toApi)
      else toApi(request, response)
    }

    // Every `request` event goes through the gate first: the API's listener (attached later by
    // the platform) only ever sees requests the gate lets through.
    ;(server as { emit: (event: string | symbol, ...args: Array<unknown>) => boolean }).emit = (event, ...args) => {
      if (event !== "request") return emit(event, ...args)
      onRequest(args[0] as IncomingMessage, args[1] as ServerResponse)
      return true
    }

    server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
      if (socket.writable && socket.bytesWritten === 0) {
        socket.end(
          error.code === "ERR_HTTP_REQUEST_TIMEOUT"
            ? timedOut
            : error.code === "HPE_HEADER_OVERFLOW"
            ? headersTooLarge
            : badRequest
        )
      }
      socket.destroySoon()
    })

    return {
      server,
      open: (given = {}) => {
        ways = given
        if (state === "starting") state = "open"
      },
      isReady: () => state === "open",
      inFlight: () => inFlight.size,
      drain: (timeout) =>
        Effect.gen(function*() {
          state = "draining"
          // Stops listening (and closes the connections idle right now). A keep-alive connection
          // that sends a request while the drain lasts is still answered, with `Connection:
          // close`: closing idle connections again meanwhile would reset the ones whose next
          // request is already on its way.
          server.close()
          for (const response of inFlight) if (!response.headersSent) response.setHeader("connection", "close")
          const deadline = clock.unsafeCurrentTimeMillis() + Duration.toMillis(Duration.decode(timeout))
          while (inFlight.size > 0 && clock.unsafeCurrentTimeMillis() < deadline) yield* Effect.sleep("20 millis")
          const cutOff = inFlight.size
          server.closeAllConnections()
          return cutOff
        })
    }
  })
