/**
 * A lean way in, straight on `node:http`, for the three calls every agent makes all the time:
 * `POST /api/agents/{id}/heartbeat`, `GET /api/agents/{id}/pending-commands` and
 * `POST /api/agents/{id}/pricing-report` (agent API v1), and the same calls of the legacy v5
 * dialect — its heartbeat and price report on the same paths (told apart by their bodies),
 * `GET /api/agents/{id}/commands/pending`, and its termination and rebalance notices
 * (internal/legacyFastPath.ts). Everything else — and every request of these that is out of the
 * ordinary: a query string, a body that is not JSON, a body over the limit announced in
 * `Content-Length`, a caller the token cache does not know yet — goes on to the HttpApi server
 * untouched (a body already read is replayed).
 *
 * Why: HttpApi's per-request machinery (routing, schema-driven request decoding and response
 * encoding, middleware fibers) is most of the CPU of a heartbeat. On the 2-core development
 * machine a trivial HttpApi endpoint costs about 560 µs of server CPU per request against about
 * 90 µs for a bare `node:http` handler, and one server process has to answer ≈ 3,300
 * heartbeats/s for 100,000 agents (docs/PERFORMANCE.md).
 *
 * Same contract as the HttpApi routes, by construction: the same schemas (`Api.ts`), the same
 * call implementation (shared with `ApiLive`), the same authentication (`TenantTokens`, the lookup
 * behind `TenantAuth`, with its token cache), the same rate limiter (one set of buckets per server) and body limit, the same
 * error bodies. `test/AgentFastPath.test.ts` sends the same requests both ways and compares the
 * answers.
 *
 * Hand it to `Serving.open` (examples/server does), or use it with {@link install} on the
 * `node:http` server that `NodeHttpServer.layer` serves; `ApiLive.serve` provides the service.
 *
 * @since 0.1.0
 */
import { IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Engine, type Ids } from "@spotfleet/engine"
import { Cause, Context, Effect, Either, Exit, FiberId, Layer, Redacted, Runtime, Schema } from "effect"
import { CommandList, HeartbeatRequest, PricingReportRequest, ReportAccepted } from "./Api.js"
import * as ApiError from "./ApiError.js"
import { HttpConfig } from "./HttpConfig.js"
import * as agentCalls from "./internal/agentCalls.js"
import * as errors from "./internal/errors.js"
import { type Answer, decoded, decodePath, encoded, failure, internalError, ok, safeDecodeURIComponent, write } from "./internal/fastPath.js"
import * as fastPath from "./internal/fastPath.js"
import * as inputLimits from "./internal/inputLimits.js"
import * as legacy from "./internal/legacy.js"
import * as legacyCalls from "./internal/legacyCalls.js"
import * as legacyFastPath from "./internal/legacyFastPath.js"
import * as nodeBody from "./internal/nodeBody.js"
import * as RateLimit from "./RateLimit.js"
import { TenantTokens } from "./Auth.js"
import type * as Security from "./Security.js"
import { IdempotencyHeaders } from "./Security.js"

/**
 * A request handler for `node:http` that answers the fast-path calls and hands every other
 * request to `next`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentFastPathService {
  readonly handle: (
    request: IncomingMessage,
    response: ServerResponse,
    next: (request: IncomingMessage, response: ServerResponse) => void
  ) => void
}

/**
 * The fast path of one server (provided by `ApiLive.serve`).
 *
 * @since 0.1.0
 * @category tags
 */
export class AgentFastPath extends Context.Tag("@spotfleet/adapter-http/AgentFastPath")<AgentFastPath, AgentFastPathService>() {}

type Call = "heartbeat" | "pending-commands" | "pricing-report"

const route = /^\/api\/agents\/([^/?#]+)\/(heartbeat|pending-commands|pricing-report)$/
// Synchronous (Either) codecs: no fiber work per request for the decoding itself.
const decodeIdempotencyHeaders = Schema.decodeUnknownEither(IdempotencyHeaders)
const noRequestId = Either.right<typeof IdempotencyHeaders.Type>({})
/** The idempotency headers: only the one header is decoded, not the whole headers object. */
const decodeHeaders = (headers: IncomingMessage["headers"]) => {
  const requestId = headers["x-request-id"]
  return requestId === undefined ? noRequestId : decodeIdempotencyHeaders({ "x-request-id": requestId })
}
const decodeHeartbeat = Schema.decodeUnknownEither(HeartbeatRequest)
const decodePricingReport = Schema.decodeUnknownEither(PricingReportRequest)
const encodeHeartbeat = Schema.encodeEither(Engine.HeartbeatResult)
const encodeCommands = Schema.encodeEither(CommandList)
const encodeReport = Schema.encodeEither(ReportAccepted)

const tooLarge = (maxBytes: number) =>
  new ApiError.PayloadTooLarge({
    code: "PayloadTooLarge",
    message: `the request body is larger than ${maxBytes} bytes`,
    details: { field: "body", maxBytes }
  })

const unreadable = () => ApiError.badField("body", "the request body could not be read", "MalformedBody")

/** The same request with its (already read) body readable again, for the next handler. */
const replay = (request: IncomingMessage, body: Buffer): IncomingMessage => {
  const copy = new IncomingMessage(request.socket)
  copy.method = request.method!
  copy.url = request.url!
  copy.headers = request.headers
  copy.rawHeaders = request.rawHeaders
  copy.httpVersion = request.httpVersion
  copy.httpVersionMajor = request.httpVersionMajor
  copy.httpVersionMinor = request.httpVersionMinor
  copy.complete = true
  if (body.length > 0) copy.push(body)
  copy.push(null)
  return copy
}

/**
 * Builds the fast path over the agent calls, the tenant authentication and the rate limiter in
 * context.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: Effect.Effect<
  AgentFastPathService,
  never,
  | TenantTokens
  | RateLimit.RateLimiter
  | HttpConfig
  | Engine.Engine
  | import("@spotfleet/engine").IdempotencyStore.IdempotencyStore
  | import("@spotfleet/engine").AgentStore.AgentStore
  | import("@spotfleet/engine").EventLog.EventLog
  | import("@spotfleet/engine").PriceStore.PriceStore
> = Effect.gen(function*() {
  const calls = yield* agentCalls.make
  const tokens = yield* TenantTokens
  const limiter = yield* RateLimit.RateLimiter
  const config = yield* HttpConfig
  const runFork = Runtime.runFork(yield* Effect.runtime<never>())
  const clock = yield* Effect.clock

  /** The rate limiter's verdict for this request (`undefined`: go ahead). */
  const limited = (request: IncomingMessage, now: number): Answer | undefined => {
    const rejection = limiter.checkOnce(request, now)
    if (rejection === undefined) return undefined
    const e = RateLimit.rejectionError(rejection)
    return { ...failure(e), headers: { "retry-after": String(rejection.retryAfterSeconds) } }
  }

  /** Authentication, then the call: the answer, whatever happens. */
  const answer = (request: IncomingMessage, call: Call, rawAgentId: string, payload: unknown): Effect.Effect<Answer> =>
    Effect.gen(function*() {
      const principal = yield* tokens.authenticate(Redacted.make((request.headers["authorization"] ?? "").slice("Bearer ".length)))
      const { agentId } = yield* decoded(decodePath({ agentId: safeDecodeURIComponent(rawAgentId) }))
      switch (call) {
        case "heartbeat": {
          const beat = yield* decoded(decodeHeartbeat(payload))
          yield* decoded(decodeHeaders(request.headers))
          return ok(yield* encoded(encodeHeartbeat(yield* calls.heartbeat(principal, agentId, agentCalls.inventoryOf(beat.inventory)))))
        }
        case "pending-commands":
          return ok(yield* encoded(encodeCommands(yield* calls.pendingCommands(principal, agentId))))
        case "pricing-report": {
          const report = yield* decoded(decodePricingReport(payload))
          const headers = yield* decoded(decodeHeaders(request.headers))
          const accepted = yield* calls.pricingReport(principal, agentId, agentCalls.keyOf(headers, report), report)
          return ok(yield* encoded(encodeReport(accepted)))
        }
      }
    }).pipe(
      Effect.catchAllCause(errors.recover(failure))
    )

  /** An engine heartbeat's answer, as the fiber path renders it. */
  const heartbeatAnswer = (result: Either.Either<Engine.HeartbeatResult, Engine.EngineFailure>): Effect.Effect<Answer> => {
    if (Either.isRight(result)) {
      const body = encodeHeartbeat(result.right)
      if (Either.isRight(body)) return Effect.succeed(ok(body.right))
    }
    return Effect.catchAllCause(
      Either.isLeft(result) ? Effect.fail(errors.fromEngine(result.left)) : Effect.map(encoded(encodeHeartbeat(result.right)), ok),
      errors.recover(failure)
    )
  }

  const lanes = fastPath.makeLanes(config.batchWindowMillis, runFork)
  const { answerBatch, lane, sideBySide } = lanes
  const now = () => clock.unsafeCurrentTimeMillis()
  const v5 = legacyFastPath.make({ lanes, calls: yield* legacyCalls.make, tokens, now })

  /**
   * Heartbeats go to the engine in batches: one fiber and one `Engine.heartbeats` call (one
   * store write) per batch instead of a fiber per request.
   */
  const heartbeatLane = lane<{ readonly tenantId: Ids.TenantId; readonly agentId: Ids.AgentId; readonly response: ServerResponse }>(
    (batch) => answerBatch(batch, Effect.flatMap(calls.engine.heartbeats(batch), (results) => Effect.forEach(results, heartbeatAnswer)))
  )

  const knownCaller = (request: IncomingMessage, rawAgentId: string) => fastPath.knownCaller(tokens, now(), request, rawAgentId)

  /**
   * When the caller is known from the token cache and the path, body and headers decode, the
   * heartbeat joins the heartbeat lane's next batch (true). Anything else — a token to look
   * up, a bad request, another agent's token — takes the fiber path, which answers it exactly
   * as before (false).
   */
  const batchedHeartbeat = (request: IncomingMessage, response: ServerResponse, rawAgentId: string, payload: unknown): boolean => {
    const caller = knownCaller(request, rawAgentId)
    if (caller === undefined || Either.isLeft(decodeHeaders(request.headers))) return false
    const beat = decodeHeartbeat(payload)
    // A heartbeat with an inventory is reconciled on its own (it loads the aggregate).
    if (Either.isLeft(beat) || beat.right.inventory !== undefined) return false
    heartbeatLane({ tenantId: caller.principal.tenantId, agentId: caller.agentId, response })
    return true
  }

  /**
   * Price reports go in batches too: one fiber per batch, its reports run side by side, so
   * their reads and writes reach the store in the same turn and share statements there (the
   * MySQL store coalesces them). Each report is answered exactly as on its own.
   */
  const priceLane = lane<{
    readonly principal: Security.PrincipalService
    readonly agentId: Ids.AgentId
    readonly key: string | undefined
    readonly report: typeof PricingReportRequest.Type
    readonly response: ServerResponse
  }>(sideBySide(({ agentId, key, principal, report }) =>
    Effect.map(Effect.flatMap(calls.pricingReport(principal, agentId, key, report), (accepted) => encoded(encodeReport(accepted))), ok)
  ))

  /** Command polls in batches, as price reports: most find nothing, and their peeks share one read. */
  const pollLane = lane<{ readonly principal: Security.PrincipalService; readonly agentId: Ids.AgentId; readonly response: ServerResponse }>(
    sideBySide(({ agentId, principal }) =>
      Effect.map(Effect.flatMap(calls.pendingCommands(principal, agentId), (commands) => encoded(encodeCommands(commands))), ok)
    )
  )

  /** As {@link batchedHeartbeat}, for command polls. */
  const batchedPoll = (request: IncomingMessage, response: ServerResponse, rawAgentId: string): boolean => {
    const caller = knownCaller(request, rawAgentId)
    if (caller === undefined) return false
    pollLane({ ...caller, response })
    return true
  }

  /** As {@link batchedHeartbeat}, for price reports. */
  const batchedPriceReport = (request: IncomingMessage, response: ServerResponse, rawAgentId: string, payload: unknown): boolean => {
    const caller = knownCaller(request, rawAgentId)
    if (caller === undefined) return false
    const report = decodePricingReport(payload)
    const headers = decodeHeaders(request.headers)
    if (Either.isLeft(report) || Either.isLeft(headers)) return false
    priceLane({ ...caller, key: agentCalls.keyOf(headers.right, report.right), report: report.right, response })
    return true
  }

  const run = (request: IncomingMessage, response: ServerResponse, call: Call, rawAgentId: string, payload: unknown) => {
    if (call === "heartbeat" && batchedHeartbeat(request, response, rawAgentId, payload)) return
    if (call === "pricing-report" && batchedPriceReport(request, response, rawAgentId, payload)) return
    if (call === "pending-commands" && batchedPoll(request, response, rawAgentId)) return
    const fiber = runFork(answer(request, call, rawAgentId, payload))
    fiber.addObserver((exit) => {
      if (Exit.isSuccess(exit)) write(response, exit.value)
      else if (!Cause.isInterruptedOnly(exit.cause)) write(response, internalError())
    })
    response.on("close", () => {
      if (!response.writableEnded) fiber.unsafeInterruptAsFork(FiberId.none)
    })
  }

  /** A v5 call the v5 fast path takes (after the rate limiter's verdict), else HttpApi answers it. */
  const runV5 = (
    request: IncomingMessage,
    response: ServerResponse,
    next: () => void,
    call: legacyFastPath.LegacyCall,
    rawAgentId: string,
    payload: unknown
  ) => {
    const go = v5.accept(request, response, call, rawAgentId, payload)
    if (go === undefined) return next()
    const refused = limited(request, now())
    if (refused !== undefined) return write(response, refused)
    go()
  }

  const handle: AgentFastPathService["handle"] = (request, response, next) => {
    const url = request.url ?? ""
    const match = route.exec(url)
    const v5Match = match === null ? legacyFastPath.legacyRoute.exec(url) : null
    if (match === null && v5Match === null) return next(request, response)
    const rawAgentId = (match ?? v5Match)![1]!
    const call = match === null ? undefined : match[2] as Call
    const v5Call = v5Match === null ? undefined : legacyFastPath.callOf(v5Match[2]!)
    if (call === "pending-commands" || v5Call === "commands-pending") {
      if (request.method !== "GET" || inputLimits.carriesBody(request.method, request.headers)) return next(request, response)
      if (v5Call !== undefined) return runV5(request, response, () => next(request, response), v5Call, rawAgentId, undefined)
      // v1's path in the v5 dialect: its answer depends on the agent's dialect (HttpApi).
      if (legacy.isLegacyRequest("pending-commands", request.headers["content-type"], undefined)) return next(request, response)
      const refused = limited(request, now())
      if (refused !== undefined) return write(response, refused)
      return run(request, response, "pending-commands", rawAgentId, undefined)
    }
    if (request.method !== "POST") return next(request, response)
    const contentType = request.headers["content-type"]
    if (!inputLimits.isJsonContentType(contentType)) return next(request, response)
    const length = request.headers["content-length"]
    if (length !== undefined && Number(length) > config.maxBodyBytes) return next(request, response)
    nodeBody.readBody(request, config.maxBodyBytes, (body) => {
      // Parsed once: to tell the dialects apart, then for the call.
      let payload: unknown = undefined
      let malformed: ApiError.ApiError | undefined = undefined
      if (typeof body === "string") {
        malformed = body === "too-large" ? tooLarge(config.maxBodyBytes) : unreadable()
      } else {
        // Checked before it is parsed, exactly as the HttpApi guard does (internal/inputLimits).
        const parsed = inputLimits.parseBody(body, config.jsonLimits)
        if (parsed instanceof ApiError.BadRequest) malformed = parsed
        else payload = parsed.value
        if (malformed === undefined) {
          const dialectV5 = v5Call ?? (legacy.isLegacyRequest(call!, contentType, payload) ? call as "heartbeat" | "pricing-report" : undefined)
          if (dialectV5 !== undefined) {
            return runV5(request, response, () => next(replay(request, body), response), dialectV5, rawAgentId, payload)
          }
        }
      }
      const refused = limited(request, now())
      if (refused !== undefined) return write(response, refused)
      if (malformed !== undefined) return write(response, failure(malformed))
      run(request, response, call!, rawAgentId, payload)
    })
  }
  return { handle }
})

/**
 * The fast path as a layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<AgentFastPath, never, Effect.Effect.Context<typeof make>> = Layer.effect(AgentFastPath, make)

/**
 * Puts the fast path in front of the `request` listeners the server has so far (the HttpApi
 * handler `NodeHttpServer.layer` registered): fast-path calls are answered here, every other
 * request reaches those listeners as before. Listeners added later see every request.
 *
 * @since 0.1.0
 * @category combinators
 */
export const install = (server: Server, fastPath: AgentFastPathService): void => {
  const listeners = server.listeners("request") as Array<(request: IncomingMessage, response: ServerResponse) => void>
  server.removeAllListeners("request")
  const next = (request: IncomingMessage, response: ServerResponse) => {
    for (const listener of listeners) listener.call(server, request, response)
  }
  server.on("request", (request: IncomingMessage, response: ServerResponse) => fastPath.handle(request, response, next))
}
