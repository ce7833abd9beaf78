/**
 * The handlers of {@link ModelsApi.ModelsApi} and {@link ModelsApi.ModelsAdminApi} over the
 * engine's `ModelRegistry` and `DecisionLog`.
 *
 * An uploaded artifact is checked and kept by a {@link ModelArtifacts} service that the server
 * provides (e.g. one that loads the ONNX model, checks its signature against the feature layout
 * and stores the bytes where its model loader finds them): this package depends on the engine
 * only, so it does not know how a model is run. Without a registry every route answers 503;
 * without `ModelArtifacts` registration does.
 *
 * @since 0.1.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { DecisionLog, Engine, type EngineError, ModelRegistry, type Tenant } from "@spotfleet/engine"
import { Clock, Context, Effect, Encoding, Either, Layer, Option, Schema } from "effect"
import { Api } from "./Api.js"
import * as ApiError from "./ApiError.js"
import * as errors from "./internal/errors.js"
import { Principal, type PrincipalService } from "./Security.js"

const DAY = 86_400_000
/** Decisions read per tenant for a performance report. */
const MAX_RECORDS = 50_000

/**
 * An uploaded artifact that cannot be a model version (not a model, or it does not fit the
 * engine's feature layout). Answered as 400 with code `InvalidModel`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ModelArtifactRejected extends Schema.TaggedError<ModelArtifactRejected>()("ModelArtifactRejected", {
  reason: Schema.String
}) {}

/**
 * Checks an uploaded artifact and keeps it where the server's model loader finds it. Answers the
 * digest (`sha256:<hex>`) and feature layout version to register it with.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelArtifactsService {
  readonly accept: (input: {
    readonly name: string
    readonly version: string
    readonly bytes: Uint8Array
  }) => Effect.Effect<{ readonly artifactDigest: string; readonly inputLayoutVersion: number }, ModelArtifactRejected | EngineError.StoreError>
}

/**
 * The artifact validation and storage the server injects (see {@link ModelArtifactsService}).
 *
 * @since 0.1.0
 * @category tags
 */
export class ModelArtifacts extends Context.Tag("@spotfleet/adapter-http/ModelArtifacts")<ModelArtifacts, ModelArtifactsService>() {}

const unavailable = (name: string) =>
  new ApiError.ServiceUnavailable({ code: `No${name}`, message: `this server has no ${name}` })

const required = <A>(port: Option.Option<A>, name: string): Effect.Effect<A, ApiError.ApiError> =>
  Option.match(port, { onNone: () => Effect.fail(unavailable(name)), onSome: Effect.succeed })

const storeCall = <A>(effect: Effect.Effect<A, EngineError.StoreError>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

const engineCall = <A>(effect: Effect.Effect<A, Engine.EngineFailure>): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, errors.fromEngine)

/** 404 for an unknown version, 409 for every other registry refusal. */
const registryCall = <A>(
  effect: Effect.Effect<A, ModelRegistry.RegistryError | EngineError.StoreError>
): Effect.Effect<A, ApiError.ApiError> =>
  Effect.mapError(effect, (e) =>
    e._tag === "RegistryError"
      ? e.reason === "no such version"
        ? new ApiError.NotFound({ code: "ModelVersionNotFound", message: e.message, details: { model: e.model } })
        : new ApiError.Conflict({ code: "RegistryConflict", message: e.message, details: { model: e.model, reason: e.reason } })
      : errors.fromEngine(e))

const tenantOnly = (principal: PrincipalService): Effect.Effect<PrincipalService, ApiError.ApiError> =>
  principal.agentId === null
    ? Effect.succeed(principal)
    : Effect.fail(new ApiError.Forbidden({ code: "Forbidden", message: "an agent token cannot call this route" }))

const decodeBase64 = (text: string): Effect.Effect<Uint8Array, ApiError.ApiError> =>
  Either.match(Encoding.decodeBase64(text.trim()), {
    onLeft: () => Effect.fail(ApiError.badField("artifact", "not valid base64")),
    onRight: (bytes) =>
      bytes.length === 0 ? Effect.fail(ApiError.badField("artifact", "empty")) : Effect.succeed(bytes)
  })

const ModelsLive = HttpApiBuilder.group(Api, "models", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const registryOption = yield* Effect.serviceOption(ModelRegistry.ModelRegistry)
    const logOption = yield* Effect.serviceOption(DecisionLog.DecisionLog)
    return handlers
      .handle("listModels", ({ urlParams }) =>
        Effect.gen(function*() {
          yield* Effect.flatMap(Principal, tenantOnly)
          const registry = yield* required(registryOption, "ModelRegistry")
          return { models: yield* storeCall(registry.list(urlParams.name)) }
        }))
      .handle("modelPerformance", ({ urlParams }) =>
        Effect.gen(function*() {
          const p = yield* Effect.flatMap(Principal, tenantOnly)
          yield* required(registryOption, "ModelRegistry")
          const log = yield* required(logOption, "DecisionLog")
          const since = urlParams.since ?? (yield* Clock.currentTimeMillis) - 30 * DAY
          return { since, models: yield* performanceOf(engine, log, [p.tenantId], since, urlParams.name) }
        }))
  }))

/** Performance over the decisions of some tenants since a time, with the outcomes of the switches they caused. */
const performanceOf = (
  engine: Engine.EngineService,
  log: DecisionLog.DecisionLogService,
  tenants: ReadonlyArray<Tenant.Tenant["id"]>,
  since: number,
  name: string | undefined
) =>
  Effect.gen(function*() {
    const records: Array<DecisionLog.DecisionRecord> = []
    const outcomes = new Map<string, "in_progress" | "succeeded" | "failed" | "cancelled">()
    for (const tenantId of tenants) {
      const rs = yield* storeCall(log.list(tenantId, { since, limit: MAX_RECORDS }))
      for (const r of rs) if (name === undefined || r.model === name) records.push(r)
      if (rs.some((r) => r.flowId !== null)) {
        for (const s of yield* engineCall(engine.switches(tenantId, { since }))) outcomes.set(s.flowId, s.result)
      }
    }
    return ModelRegistry.performance(records, outcomes)
  })

const ModelsAdminLive = HttpApiBuilder.group(Api, "modelsAdmin", (handlers) =>
  Effect.gen(function*() {
    const engine = yield* Engine.Engine
    const registryOption = yield* Effect.serviceOption(ModelRegistry.ModelRegistry)
    const artifactsOption = yield* Effect.serviceOption(ModelArtifacts)
    const logOption = yield* Effect.serviceOption(DecisionLog.DecisionLog)
    const registry = required(registryOption, "ModelRegistry")
    return handlers
      .handle("adminListModels", ({ urlParams }) =>
        Effect.flatMap(registry, (r) => Effect.map(storeCall(r.list(urlParams.name)), (models) => ({ models }))))
      .handle("registerModel", ({ payload }) =>
        Effect.gen(function*() {
          const r = yield* registry
          const artifacts = yield* required(artifactsOption, "ModelArtifacts")
          const existing = yield* storeCall(r.get(payload.name, payload.version))
          if (Option.isSome(existing)) {
            return yield* new ApiError.Conflict({
              code: "RegistryConflict",
              message: `model registry, ${payload.name}@${payload.version}: version already registered`,
              details: { model: `${payload.name}@${payload.version}`, reason: "version already registered" }
            })
          }
          const bytes = yield* decodeBase64(payload.artifact)
          const accepted = yield* artifacts.accept({ name: payload.name, version: payload.version, bytes }).pipe(
            Effect.mapError((e) =>
              e._tag === "ModelArtifactRejected"
                ? new ApiError.BadRequest({
                  code: "InvalidModel",
                  message: `artifact: ${e.reason}`,
                  details: { field: "artifact", reason: e.reason }
                })
                : errors.fromEngine(e)
            )
          )
          return yield* registryCall(r.register({
            name: payload.name,
            version: payload.version,
            artifactDigest: accepted.artifactDigest,
            inputLayoutVersion: accepted.inputLayoutVersion,
            confidenceThreshold: payload.confidenceThreshold
          }))
        }))
      .handle("shadowModel", ({ path }) => Effect.flatMap(registry, (r) => registryCall(r.shadow(path.name, path.version))))
      .handle("setModelShare", ({ path, payload }) =>
        Effect.flatMap(registry, (r) => registryCall(r.setTrafficShare(path.name, path.version, payload.share))))
      .handle("activateModel", ({ path }) => Effect.flatMap(registry, (r) => registryCall(r.activate(path.name, path.version))))
      .handle("retireModel", ({ path }) => Effect.flatMap(registry, (r) => registryCall(r.retire(path.name, path.version))))
      .handle("rollbackModel", ({ path }) => Effect.flatMap(registry, (r) => registryCall(r.rollback(path.name))))
      .handle("adminModelPerformance", ({ urlParams }) =>
        Effect.gen(function*() {
          yield* registry
          const log = yield* required(logOption, "DecisionLog")
          const since = urlParams.since ?? (yield* Clock.currentTimeMillis) - 30 * DAY
          const tenants = yield* engineCall(engine.listTenants)
          return { since, models: yield* performanceOf(engine, log, tenants.map((t) => t.id), since, urlParams.name) }
        }))
  }))

/**
 * The handlers of both groups. Needs the engine; the registry, the decision log and
 * {@link ModelArtifacts} are used when the context has them (routes that need a missing one
 * answer 503).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "models"> | import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "modelsAdmin">,
  never,
  Engine.Engine | import("./Security.js").TenantAuth | import("./Security.js").AdminAuth
> = Layer.mergeAll(ModelsLive, ModelsAdminLive)
