/**
 * The server side of {@link LegacyApi.LegacyApi}: every legacy (v5) call mapped onto the engine
 * operations v1 uses, answered in the shapes the agent needs (the schemas of `LegacyApi`), plus the
 * dispatch that sends legacy-dialect calls on the paths shared with v1 to the legacy handlers.
 *
 * Error policy: the agent treats every non-2xx as a failure and only backs off — and a failed
 * heartbeat takes it offline until its process restarts — so
 * - the heartbeat answers 200 for everything the server can get past by itself: `status:
 *   "unknown"` for an unknown agent, `status: "deferred"` when the store is unavailable or
 *   anything fails inside (internal/legacyHeartbeat.ts; the runbook lists the remaining non-2xx);
 * - elsewhere an unknown agent is 404 and an unavailable store 503 (backing off is right);
 * - a report the engine cannot apply (unknown request id, unknown instance, an instance that is
 *   no longer PRIMARY, a duplicate) is answered 2xx with `status: "ignored"` and logged: the
 *   agent could not do anything else with an error.
 *
 * @since 0.1.0
 */
import { HttpApiBuilder, type HttpApp, HttpServerRequest } from "@effect/platform"
import {
  Agent as AgentModule,
  AgentStore,
  Command,
  Engine,
  type EventLog,
  type IdempotencyStore,
  type Ids,
  Pool,
  type PriceStore
} from "@spotfleet/engine"
import { Effect, Either, Layer, Option, Schema } from "effect"
import { Api } from "./Api.js"
import * as ApiError from "./ApiError.js"
import { HttpConfig } from "./HttpConfig.js"
import * as agentCalls from "./internal/agentCalls.js"
import { escapeLogField } from "./internal/inputLimits.js"
import * as internal from "./internal/legacy.js"
import * as heartbeats from "./internal/legacyHeartbeat.js"
import * as legacyCalls from "./internal/legacyCalls.js"
import { Principal } from "./Security.js"

/**
 * Commands handed out per legacy poll. The agent runs a poll's commands one after another
 * without heartbeats (a launch may take 300 s, a terminate 180 s), so each answer holds at most
 * what it finishes well inside one command lease.
 *
 * @since 0.1.0
 * @category constants
 */
export const pollLimit = legacyCalls.pollLimit

/** The marker written into the agent's metadata at a legacy registration. */
const dialectKey = "dialect"
const dialect = "v5"

const forbidden = (message: string) => new ApiError.Forbidden({ code: "Forbidden", message })

const engineCall = agentCalls.engineCall
const { configOf, ignored, recorded, report, str } = legacyCalls

const decodePool = Schema.decodeUnknownOption(Pool.PoolId)

/** `<type>.<az>` as a spot pool id, when both are known and well-formed. */
const poolOf = (instanceType: string | null | undefined, az: string | null | undefined): Option.Option<Pool.PoolId> =>
  instanceType && az ? decodePool(`${instanceType}.${az}`) : Option.none()

const isLegacyAgent = (agent: AgentModule.Agent) => agent.metadata[dialectKey] === dialect

const LegacyHandlers = HttpApiBuilder.group(Api, "legacy", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const agents = yield* AgentStore.AgentStore
    const calls = yield* legacyCalls.make

    const principalFor = (agentId: Ids.AgentId) => Effect.tap(Principal, (p) => agentCalls.forAgent(p, agentId))

    return handlers
      .handle("register", ({ payload }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          if (principal.agentId !== null) return yield* Effect.fail(forbidden("an agent token cannot register"))
          const cloudInstanceId = str(payload.instance_id)
          const logicalAgentId = str(payload.logical_agent_id) ?? cloudInstanceId
          const answer = (agent: AgentModule.Agent, created: boolean) => ({
            success: true,
            agent_id: agent.id,
            registered: true,
            created,
            config: configOf(agent.config)
          })
          const unplaced = (why: string) =>
            Effect.as(Effect.logWarning(`legacy register from ${escapeLogField(payload.hostname ?? "?")} not placed: ${why}`), {
              success: true,
              // Not an agent: its heartbeat is answered 200 `status: "unknown"`.
              agent_id: `unregistered-${str(payload.hostname) ?? "host"}`,
              registered: false,
              created: false,
              config: configOf(AgentModule.defaultConfig),
              message: why
            })
          if (cloudInstanceId === undefined || logicalAgentId === undefined) {
            return yield* unplaced("no instance id (the metadata service was unreachable)")
          }
          // An instance the engine knows (a restart, or an instance launched for an existing
          // agent whose own agent registers): answer its agent.
          const owner = yield* engineCall(agents.findByCloudInstanceId(principal.tenantId, cloudInstanceId))
          if (Option.isSome(owner)) {
            const view = yield* engineCall(engine.getAgent(principal.tenantId, owner.value))
            return answer(view.agent, false)
          }
          const pool = poolOf(payload.instance_type, payload.az)
          if (Option.isNone(pool)) return yield* unplaced("no instance type or availability zone to place it in a pool")
          const metadata: Record<string, unknown> = { [dialectKey]: dialect }
          for (const [key, value] of Object.entries(payload)) if (value !== undefined && value !== null) metadata[key] = value
          // The v5 agent promotes by cloud instance id only (PROTOCOL: `replica_instance_id`).
          metadata[AgentModule.capabilitiesKey] = { promoteByTempId: false } satisfies AgentModule.AgentCapabilities
          const result = yield* engineCall(engine.register(principal.tenantId, {
            logicalAgentId,
            cloudInstanceId,
            pool: pool.value,
            metadata
          }))
          return answer(result.agent, result.created)
        }))
      .handle("heartbeat", ({ path, payload }) =>
        Effect.flatMap(principalFor(path.agentId), (principal) => calls.heartbeat(principal.tenantId, path.agentId, payload)))
      .handle("pendingCommandsAlias", ({ path }) =>
        Effect.gen(function*() {
          const principal = yield* principalFor(path.agentId)
          const view = yield* engineCall(engine.getAgent(principal.tenantId, path.agentId))
          if (isLegacyAgent(view.agent)) return yield* calls.poll(principal.tenantId, path.agentId)
          // A v1 agent that sent a JSON content type on its GET: v1's answer.
          const commands = yield* engineCall(engine.pollCommands(principal.tenantId, path.agentId))
          return { commands }
        }))
      .handle("pollCommands", ({ path }) =>
        Effect.flatMap(principalFor(path.agentId), (principal) => calls.poll(principal.tenantId, path.agentId)))
      .handle("pricingReport", ({ path, payload }) =>
        Effect.flatMap(principalFor(path.agentId), (principal) => calls.pricingReport(principal.tenantId, path.agentId, payload)))
      .handle("actionResult", ({ path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* principalFor(path.agentId)
          const requestId = str(payload.request_id)
          if (requestId === undefined) return ignored("no request_id")
          const success = (payload.result ?? "").toUpperCase() === "SUCCESS"
          return yield* report(
            "action-result",
            engine.reportResult(principal.tenantId, path.agentId, {
              requestId,
              result: Command.CommandResult.make({
                success,
                message: payload.error_message ?? null,
                cloudInstanceId: str(payload.cloud_instance_id) ?? null,
                data: payload.metadata ?? {}
              })
            })
          )
        }))
      .handle("instanceLaunched", ({ path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* principalFor(path.agentId)
          const cloudInstanceId = str(payload.instance_id)
          if (cloudInstanceId === undefined) return ignored("no instance_id")
          return yield* report(
            "instance-launched",
            engine.confirmLaunch(principal.tenantId, path.agentId, {
              cloudInstanceId,
              tempInstanceId: str(payload.temp_instance_id),
              requestId: str(payload.request_id)
            })
          )
        }))
      .handle("instanceTerminated", ({ path, payload }) =>
        Effect.gen(function*() {
          const principal = yield* principalFor(path.agentId)
          const cloudInstanceId = str(payload.instance_id)
          if (cloudInstanceId === undefined) return ignored("no instance_id")
          // Already terminated in the engine's view: nothing changes, still 2xx.
          return yield* report("instance-terminated", engine.confirmTerminated(principal.tenantId, path.agentId, { cloudInstanceId }))
        }))
      .handle("terminationReport", ({ path, payload }) =>
        Effect.flatMap(principalFor(path.agentId), (principal) => calls.terminationReport(principal.tenantId, path.agentId, payload)))
      .handle("rebalanceRecommendation", ({ path, payload }) =>
        Effect.flatMap(principalFor(path.agentId), (principal) => calls.rebalanceRecommendation(principal.tenantId, path.agentId, payload)))
      .handle("shutdown", ({ path }) =>
        Effect.gen(function*() {
          const principal = yield* Principal
          // `None`: the agent stopped before it ever registered.
          if (path.agentId === "None" || (principal.agentId !== null && principal.agentId !== path.agentId)) {
            return ignored("not a registered agent of this caller")
          }
          return yield* Effect.gen(function*() {
            // The engine keeps an agent that is still executing a command online until its lease ends.
            const view = yield* engine.markOffline(principal.tenantId, path.agentId)
            return view.agent.liveness === "offline"
              ? recorded
              : ignored("a delivered command is still running; liveness decides when its lease ends")
          }).pipe(
            // Best effort, always 2xx.
            Effect.catchAll((e) => Effect.as(Effect.logWarning(`legacy shutdown: ${e._tag}`), ignored(e._tag)))
          )
        }))
  }))

/**
 * Sends a legacy-dialect request on a path shared with v1 to the legacy group
 * (`/api/agents/…` → `/api/v5/agents/…`); everything else passes through untouched. A body is
 * read only on the three shared POST paths (cached, so the handler reads it again for free);
 * an unreadable or malformed body passes through for the request guard to answer.
 *
 * @since 0.1.0
 * @category middleware
 */
export const dispatch = (maxBodyBytes: number) => <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const route = internal.sharedRoute(request.method, request.url)
    if (route === null) {
      const heartbeatOf = heartbeats.directHeartbeatAgent(request.method, request.url)
      return yield* (heartbeatOf === undefined ? app : heartbeats.keepOnline(heartbeatOf)(app))
    }
    let body: unknown = undefined
    if (route !== "pending-commands") {
      const length = request.headers["content-length"]
      if (length !== undefined && Number(length) > maxBodyBytes) return yield* app
      const text = yield* Effect.either(HttpServerRequest.withMaxBodySize(request.text, Option.some(maxBodyBytes)))
      if (Either.isLeft(text)) return yield* app
      try {
        body = JSON.parse(text.right)
      } catch {
        return yield* app
      }
    }
    if (!internal.isLegacyRequest(route, request.headers["content-type"], body)) return yield* app
    const url = internal.aliasUrl(request.url)
    // Same request (its body already read and cached), another URL for the router.
    const rewritten = new Proxy(request, {
      get: (target, key) => {
        if (key === "url") return url
        const value = Reflect.get(target, key, target)
        return typeof value === "function" ? value.bind(target) : value
      }
    })
    const rewrittenApp = Effect.provideService(app, HttpServerRequest.HttpServerRequest, rewritten)
    return yield* (route === "heartbeat" ? heartbeats.keepOnline(url.split("/")[4]!)(rewrittenApp) : rewrittenApp)
  })

const DispatchLive = HttpApiBuilder.middleware(Effect.map(HttpConfig, (config) => dispatch(config.maxBodyBytes)))

/**
 * The legacy routes: handlers, their authentication, and the dispatch on shared paths. Compose
 * it with the other groups of `ApiLive` (it needs `TenantAuth` from there).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "legacy">,
  never,
  | Engine.Engine
  | AgentStore.AgentStore
  | EventLog.EventLog
  | IdempotencyStore.IdempotencyStore
  | PriceStore.PriceStore
  | HttpConfig
  | import("./Security.js").TenantAuth
> = Layer.mergeAll(LegacyHandlers, DispatchLive)
