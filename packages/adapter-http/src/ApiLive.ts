/**
 * The server side of {@link Api.Api}: handlers over the `Engine`, authentication, the request
 * guard (body size limit → 413, malformed JSON → 400 naming `body`, every failure rendered as
 * `{error:{code,message,details}}` without stack traces), SSE and metrics.
 *
 * @since 0.1.0
 */
import { IncomingMessage } from "node:http"
import { HttpApiBuilder, type HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Command, Engine, EventLog, IdempotencyStore } from "@spotfleet/engine"
import { Effect, Layer, Option } from "effect"
import { Api, Principal, type PrincipalService } from "./Api.js"
import * as ApiError from "./ApiError.js"
import * as Auth from "./Auth.js"
import * as Events from "./Events.js"
import * as HttpConfigModule from "./HttpConfig.js"
import { HttpConfig } from "./HttpConfig.js"
import * as AgentFastPath from "./AgentFastPath.js"
import * as agentCalls from "./internal/agentCalls.js"
import * as errors from "./internal/errors.js"
import * as inputLimits from "./internal/inputLimits.js"
import * as nodeBody from "./internal/nodeBody.js"
import * as Metrics from "./Metrics.js"
import * as LegacyLive from "./LegacyLive.js"
import * as MetricsSummaryLive from "./MetricsSummaryLive.js"
import * as ModelsLive from "./ModelsLive.js"
import * as NotificationsLive from "./NotificationsLive.js"
import * as OpsLive from "./OpsLive.js"
import * as PricingLive from "./PricingLive.js"
import * as RateLimit from "./RateLimit.js"

const { engineCall, forAgent, forbidden, keyOf, millis } = agentCalls

/** Dashboard and registration routes need the tenant's own token. */
const tenantOnly = (principal: PrincipalService): Effect.Effect<void, ApiError.ApiError> =>
  principal.agentId === null ? Effect.void : Effect.fail(forbidden("an agent token cannot call this route"))

const AgentsLive = HttpApiBuilder.group(Api, "agents", (handlers) =>
  Effect.gen(function*() {
    const calls = yield* agentCalls.make
    const { engine } = calls
    const config = yield* HttpConfig

    return handlers
      .handle("register", ({ headers, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* tenantOnly(principal)
          const result = yield* engineCall(engine.register(principal.tenantId, {
            logicalAgentId: payload.logicalAgentId,
            cloudInstanceId: payload.instanceId,
            pool: payload.pool,
            metadata: payload.metadata,
            config: payload.config
          }, { idempotencyKey: keyOf(headers, payload) }))
          const base = { agentId: result.agent.id, created: result.created, agent: result.agent, instance: result.instance }
          return Option.match(config.agentTokenSecret, {
            onNone: () => base,
            onSome: (secret) => ({ ...base, agentToken: Auth.agentToken(secret, principal.tenantId, result.agent.id) })
          })
        }))
      .handle("heartbeat", ({ path, payload }) =>
        Effect.flatMap(Principal, (principal) => calls.heartbeat(principal, path.agentId, agentCalls.inventoryOf(payload.inventory))))
      .handle("pendingCommands", ({ path }) => Effect.flatMap(Principal, (principal) => calls.pendingCommands(principal, path.agentId)))
      .handle("commandExecuted", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          return yield* engineCall(engine.reportResult(principal.tenantId, path.agentId, {
            commandId: path.commandId,
            result: Command.CommandResult.make({
              success: payload.success,
              message: payload.message ?? null,
              cloudInstanceId: payload.instanceId ?? null,
              data: payload.data ?? {}
            })
          }, { idempotencyKey: keyOf(headers, payload) }))
        }))
      .handle("rebalanceNotice", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          return yield* engineCall(engine.notice(principal.tenantId, path.agentId, {
            kind: "rebalance",
            cloudInstanceId: payload.instanceId,
            deadline: millis(payload.deadline)
          }, { idempotencyKey: keyOf(headers, payload) }))
        }))
      .handle("terminationNotice", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          return yield* engineCall(engine.notice(principal.tenantId, path.agentId, {
            kind: "termination",
            cloudInstanceId: payload.instanceId,
            deadline: millis(payload.terminationTime)
          }, { idempotencyKey: keyOf(headers, payload) }))
        }))
      .handle("pricingReport", ({ headers, path, payload }) =>
        Effect.flatMap(Principal, (principal) => calls.pricingReport(principal, path.agentId, keyOf(headers, payload), payload)))
      .handle("switchReport", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          // `request_id` names the PROMOTE command of the switch (engine.reportSwitch).
          const result = yield* engineCall(engine.reportSwitch(principal.tenantId, path.agentId, {
            requestId: payload.request_id,
            downtimeSeconds: payload.downtimeSeconds,
            startedAt: millis(payload.startedAt),
            completedAt: millis(payload.completedAt),
            details: {
              fromInstanceId: payload.fromInstanceId,
              toInstanceId: payload.toInstanceId,
              fromPool: payload.fromPool ?? null,
              toPool: payload.toPool ?? null
            }
          }, { idempotencyKey: keyOf(headers, payload) }))
          return agentCalls.accepted(1, result.eventId)
        }))
      .handle("instanceLaunched", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          return yield* engineCall(engine.confirmLaunch(principal.tenantId, path.agentId, {
            cloudInstanceId: payload.instanceId,
            commandId: payload.commandId,
            requestId: payload.commandRequestId,
            tempInstanceId: payload.tempInstanceId
          }, { idempotencyKey: keyOf(headers, payload) }))
        }))
      .handle("instanceTerminated", ({ headers, path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          return yield* engineCall(engine.confirmTerminated(principal.tenantId, path.agentId, {
            cloudInstanceId: payload.instanceId
          }, { idempotencyKey: keyOf(headers, payload) }))
        }))
      .handle("getConfig", ({ path }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          yield* forAgent(principal, path.agentId)
          const view = yield* engineCall(engine.getAgent(principal.tenantId, path.agentId))
          return { agentId: view.agent.id, config: view.agent.config, configVersion: view.agent.configVersion }
        }))
  }))

const AdminLive = HttpApiBuilder.group(Api, "admin", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    return handlers
      .handle("createTenant", ({ payload }) =>
        Effect.gen(function*() {
          const token = Auth.generateToken()
          const tenant = yield* engineCall(engine.createTenant({ name: payload.name, tokenHash: Auth.hashToken(token) }))
          return { id: tenant.id, name: tenant.name, token }
        }))
      .handle("listTenants", () => Effect.map(engineCall(engine.listTenants), (tenants) => ({ tenants })))
      .handle("createToken", ({ path, payload }) =>
        Effect.gen(function*() {
          const token = Auth.generateToken()
          yield* engineCall(engine.addTenantToken(path.tenantId, Auth.hashToken(token), payload.label))
          return { tenantId: path.tenantId, label: payload.label, token }
        }))
  }))

const DashboardLive = HttpApiBuilder.group(Api, "dashboard", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const tenant = Effect.tap(Principal, tenantOnly)
    return handlers
      .handle("currentTenant", () => Effect.flatMap(tenant, (p) => engineCall(engine.getTenant(p.tenantId))))
      .handle("listAgents", () =>
        Effect.flatMap(tenant, (p) => Effect.map(engineCall(engine.listAgents(p.tenantId)), (agents) => ({ agents }))))
      .handle("getAgent", ({ path }) => Effect.flatMap(tenant, (p) => engineCall(engine.getAgent(p.tenantId, path.agentId))))
      .handle("updateConfig", ({ headers, path, payload }) =>
        Effect.flatMap(tenant, (p) => {
          const { request_id, ...patch } = payload
          return engineCall(engine.updateConfig(p.tenantId, path.agentId, patch, { idempotencyKey: headers["x-request-id"] ?? request_id }))
        }))
      .handle("listInstances", ({ path }) =>
        Effect.flatMap(tenant, (p) =>
          Effect.map(engineCall(engine.getAgent(p.tenantId, path.agentId)), (view) => ({ instances: view.instances }))))
      .handle("listCommands", ({ path }) =>
        Effect.flatMap(tenant, (p) =>
          Effect.map(engineCall(engine.getAgent(p.tenantId, path.agentId)), (view) => ({ commands: view.commands }))))
      .handle("requestReplica", ({ headers, path, payload }) =>
        Effect.flatMap(tenant, (p) =>
          engineCall(engine.requestReplica(p.tenantId, path.agentId, { pool: payload.pool }, { idempotencyKey: keyOf(headers, payload) }))))
      .handle("removeReplica", ({ headers, path }) =>
        Effect.flatMap(tenant, (p) =>
          engineCall(engine.removeReplica(p.tenantId, path.agentId, path.instanceId, { idempotencyKey: keyOf(headers) }))))
      .handle("promote", ({ headers, path, payload }) =>
        Effect.flatMap(tenant, (p) =>
          engineCall(engine.promote(p.tenantId, path.agentId, path.instanceId, { idempotencyKey: keyOf(headers, payload) }))))
      .handle("switchPool", ({ headers, path, payload }) =>
        Effect.flatMap(tenant, (p) =>
          engineCall(engine.switchPool(p.tenantId, path.agentId, { pool: payload.pool, trigger: "manual" }, {
            idempotencyKey: keyOf(headers, payload)
          }))))
      .handle("listEvents", ({ urlParams }) =>
        Effect.gen(function*() {
          const p = yield* tenant
          if (urlParams.agentId !== undefined) yield* engineCall(engine.getAgent(p.tenantId, urlParams.agentId))
          const after = urlParams.after ?? 0
          const events = yield* engineCall(engine.events(p.tenantId, { afterId: after, limit: urlParams.limit ?? 100, agentId: urlParams.agentId }))
          return { events, lastId: events.length === 0 ? after : events[events.length - 1]!.id }
        }))
  }))

const EventsLive = HttpApiBuilder.group(Api, "events", (handlers) =>
  Effect.gen(function*() {
    const context = yield* Effect.context<EventLog.EventLog | HttpConfig | Events.SseShutdown>()
    return handlers.handle("stream", ({ headers, urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* Principal
        const after = headers["last-event-id"] ?? urlParams.after
        return yield* Effect.provide(
          Events.response(principal.tenantId, after, { agentId: principal.agentId ?? undefined }),
          context
        )
      }))
  }))

const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function*() {
    const log = yield* EventLog.EventLog
    const metrics = yield* Metrics.Metrics
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        log.latestId.pipe(
          Effect.timeout("2 seconds"),
          Effect.as({ status: "ready" as const }),
          Effect.mapError(() => new ApiError.ServiceUnavailable({ code: "NotReady", message: "the store does not answer" }))
        ))
      .handle("metrics", () => metrics.render)
  }))

const errorResponse = (e: ApiError.ApiError) =>
  HttpServerResponse.unsafeJson(ApiError.bodyOf(e), { status: ApiError.statusOf(e) })

/** The body's bytes: from the `node:http` request itself (see `readBody`), else through the platform. */
const readBytes = (request: HttpServerRequest.HttpServerRequest, maxBytes: number): Effect.Effect<Uint8Array | "too-large" | "unreadable"> => {
  const source = request.source
  if (source instanceof IncomingMessage) {
    return Effect.async((resume) => nodeBody.readBody(source, maxBytes, (body) => resume(Effect.succeed(body))))
  }
  return HttpServerRequest.withMaxBodySize(request.arrayBuffer, Option.some(maxBytes)).pipe(
    Effect.map((buffer): Uint8Array | "too-large" => buffer.byteLength > maxBytes ? "too-large" : new Uint8Array(buffer)),
    Effect.orElseSucceed(() => "unreadable" as const)
  )
}

/** The same request with its body already read: `text`, `json` and `arrayBuffer` answer from it. */
const withBody = (
  request: HttpServerRequest.HttpServerRequest,
  bytes: Uint8Array,
  parsed: { readonly text: string; readonly value: unknown }
): HttpServerRequest.HttpServerRequest => {
  const text = Effect.succeed(parsed.text)
  const json = Effect.succeed(parsed.value)
  const arrayBuffer = Effect.sync(() => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
  return new Proxy(request, {
    get: (target, key) => {
      if (key === "text") return text
      if (key === "json") return json
      if (key === "arrayBuffer") return arrayBuffer
      const value = Reflect.get(target, key, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
}

/**
 * Wraps the API: checks every request body before any handler runs, and renders every failure
 * as `{error:{code,message,details}}`. A body that is not JSON is a 415 at once (an absent
 * content type counts as JSON); one over the size limit a 413, also when it comes in chunks
 * (the rest is read and dropped, so the client sees the answer); bytes that are not
 * well-formed UTF-8, a lone UTF-16 surrogate, nesting, containers or strings beyond
 * {@link HttpConfigModule.HttpSettings.jsonLimits}, or malformed JSON a 400 naming `body`. The
 * handlers read the body already read.
 *
 * @since 0.1.0
 * @category middleware
 */
export const guard = (settings: { readonly maxBodyBytes: number; readonly jsonLimits: HttpConfigModule.JsonLimits }) =>
<E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<never, R> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    if (!inputLimits.carriesBody(request.method, request.headers)) return yield* app
    const maxBodyBytes = settings.maxBodyBytes
    // Built only when needed: an error captures a stack trace, too costly for every request.
    const tooLarge = () =>
      new ApiError.PayloadTooLarge({
        code: "PayloadTooLarge",
        message: `the request body is larger than ${maxBodyBytes} bytes`,
        details: { field: "body", maxBytes: maxBodyBytes }
      })
    const contentType = request.headers["content-type"]
    if (!inputLimits.isJsonContentType(contentType)) return errorResponse(inputLimits.unsupportedMediaType(contentType ?? ""))
    const length = request.headers["content-length"]
    if (length !== undefined && Number(length) > maxBodyBytes) return errorResponse(tooLarge())
    const bytes = yield* readBytes(request, maxBodyBytes)
    if (bytes === "too-large") return errorResponse(tooLarge())
    if (bytes === "unreadable") return errorResponse(ApiError.badField("body", "the request body could not be read", "MalformedBody"))
    const parsed = inputLimits.parseBody(bytes, settings.jsonLimits)
    if (parsed instanceof ApiError.BadRequest) return errorResponse(parsed)
    return yield* Effect.provideService(app, HttpServerRequest.HttpServerRequest, withBody(request, bytes, parsed))
  }).pipe(
    Effect.catchAllCause(errors.recover(errorResponse))
  )

const GuardLive = HttpApiBuilder.middleware(Effect.map(HttpConfig, (config) => guard(config)))

/** One limiter per server: the HttpApi middleware and the agent fast path take from the same buckets. */
const RateLimiterLive = Layer.effect(
  RateLimit.RateLimiter,
  Effect.gen(function*() {
    const config = yield* HttpConfig
    const tokens = yield* Auth.TenantTokens
    const peek = tokens.peek
    return RateLimit.makeLimiter(config.rateLimit, peek === undefined ? undefined : (bearer, now) => peek(bearer, now)?.tenantId)
  })
)

const RateLimitLive = HttpApiBuilder.middleware(Effect.map(RateLimit.RateLimiter, RateLimit.middlewareWith))

/**
 * Everything the API needs besides the store ports and the engine: auth, metrics, SSE shutdown,
 * and the agent fast path for `node:http` hosts (see {@link AgentFastPath}; it shares the
 * token cache and the rate limiter with the API).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApi").Api | Events.SseShutdown | Metrics.Metrics | AgentFastPath.AgentFastPath | RateLimit.RateLimiter,
  never,
  Engine.Engine | EventLog.EventLog | IdempotencyStore.IdempotencyStore | HttpConfig | import("@spotfleet/engine").AgentStore.AgentStore | import("@spotfleet/engine").PriceStore.PriceStore
> = Layer.merge(
  HttpApiBuilder.api(Api).pipe(
    Layer.provide([AgentsLive, AdminLive, DashboardLive, EventsLive, SystemLive, GuardLive, RateLimitLive])
  ),
  AgentFastPath.layer
).pipe(
  Layer.provide(OpsLive.layer),
  Layer.provide(PricingLive.layer),
  Layer.provide(MetricsSummaryLive.layer),
  Layer.provide(ModelsLive.layer),
  Layer.provide(NotificationsLive.layer),
  Layer.provide(LegacyLive.layer),
  Layer.provide([Auth.layerTenantAuth, Auth.layerAdminAuth]),
  Layer.provideMerge(RateLimiterLive),
  Layer.provide(Auth.layerTenantTokens),
  Layer.provideMerge(Layer.merge(Events.layerShutdown, Metrics.layer))
)

/**
 * Serves the API on the `HttpServer` in context (e.g. `NodeHttpServer.layer`), with the given
 * settings. Needs the engine and the store ports below it.
 *
 * @since 0.1.0
 * @category layers
 */
export const serve = (
  options?: import("./HttpConfig.js").HttpOptions
): Layer.Layer<
  Events.SseShutdown | Metrics.Metrics | AgentFastPath.AgentFastPath | RateLimit.RateLimiter,
  never,
  | import("@effect/platform/HttpServer").HttpServer
  | import("@effect/platform/HttpRouter").HttpRouter.DefaultServices
  | Engine.Engine
  | EventLog.EventLog
  | IdempotencyStore.IdempotencyStore
  | import("@spotfleet/engine").AgentStore.AgentStore
  | import("@spotfleet/engine").PriceStore.PriceStore
> =>
  HttpApiBuilder.serve().pipe(
    Layer.provideMerge(layer),
    Layer.provide(Layer.succeed(HttpConfig, HttpConfigModule.make(options)))
  )
