/**
 * The model registry contract (docs/DESIGN.md, "Decision models"): the versions of the decision
 * models with their status, A/B share, confidence threshold, artifact digest and feature layout,
 * and per-model performance from the decision log (decisions, executed, success rate, confidence
 * distribution, latency).
 *
 * Groups: `models` (tenant token: reads; performance over the tenant's own decisions) and
 * `modelsAdmin` (admin token: register an uploaded artifact, shadow, A/B share, activate, retire,
 * roll back, and performance over every tenant). Both are added to {@link Api.Api}. Without a
 * registry on the server every route answers 503.
 *
 * @since 0.1.0
 */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { ModelRegistry } from "@spotfleet/engine"
import { Schema } from "effect"
import { AdminAuth, TenantAuth } from "./Security.js"

const NullableNumber = Schema.NullOr(Schema.Number)
const ModelName = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))
const ModelVersionId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))
const VersionPath = Schema.Struct({ name: ModelName, version: ModelVersionId })
const NamePath = Schema.Struct({ name: ModelName })

/**
 * The versions of one model name (or of every name), oldest first.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelVersionList = Schema.Struct({
  models: Schema.Array(ModelRegistry.ModelVersion)
}).annotations({ identifier: "ModelVersionList" })

/** @since 0.1.0 @category schemas */
export const ModelListQuery = Schema.Struct({ name: Schema.optional(ModelName) })

/**
 * A new version: the ONNX artifact's bytes as base64. The server validates it against the feature
 * layout (input and output names, element types, shapes) before the registry sees it.
 *
 * @since 0.1.0
 * @category schemas
 */
export const RegisterModelRequest = Schema.Struct({
  name: ModelName,
  version: ModelVersionId,
  /** The artifact (an ONNX file), base64. */
  artifact: Schema.String.pipe(Schema.minLength(1)),
  /** Minimum confidence for its SWITCH decisions to act (default 0.70). */
  confidenceThreshold: Schema.optional(Schema.Number.pipe(Schema.between(0, 1)))
}).annotations({ identifier: "RegisterModelRequest" })

/** @since 0.1.0 @category schemas */
export const TrafficShareRequest = Schema.Struct({
  /** Share of agents (0 … 1) the version serves; 0 ends its A/B test. */
  share: Schema.Number.pipe(Schema.between(0, 1))
}).annotations({ identifier: "TrafficShareRequest" })

/**
 * How a model version did (see `ModelRegistry.ModelPerformance`).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelPerformance = Schema.Struct({
  model: Schema.String,
  version: Schema.String,
  mode: Schema.Literal("active", "shadow"),
  decisions: Schema.Int,
  byAction: Schema.Record({ key: Schema.String, value: Schema.Int }),
  allowed: Schema.Int,
  executed: Schema.Int,
  succeeded: Schema.Int,
  failed: Schema.Int,
  /** succeeded ÷ (succeeded + failed); null while none has finished. */
  successRate: NullableNumber,
  timeouts: Schema.Int,
  errors: Schema.Int,
  meanConfidence: NullableNumber,
  /** Decisions per confidence decile: [0, 0.1), … [0.9, 1]. */
  confidenceHistogram: Schema.Array(Schema.Int),
  latencyP50Millis: NullableNumber,
  latencyP99Millis: NullableNumber
}).annotations({ identifier: "ModelPerformance" })

/** @since 0.1.0 @category schemas */
export const ModelPerformanceQuery = Schema.Struct({
  name: Schema.optional(ModelName),
  /** Decisions from this time on (epoch ms; default the last 30 days). */
  since: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()))
})

/**
 * Per-model performance over a window.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ModelPerformanceReport = Schema.Struct({
  since: Schema.Number,
  models: Schema.Array(ModelPerformance)
}).annotations({ identifier: "ModelPerformanceReport" })

/**
 * Reads of the registry for the dashboard (tenant token).
 *
 * @since 0.1.0
 * @category groups
 */
export class ModelsApi extends HttpApiGroup.make("models")
  .add(
    HttpApiEndpoint.get("listModels", "/models")
      .setUrlParams(ModelListQuery)
      .addSuccess(ModelVersionList)
      .annotate(OpenApi.Summary, "Decision model versions: status, A/B share, threshold, artifact digest, feature layout")
  )
  .add(
    HttpApiEndpoint.get("modelPerformance", "/models/performance")
      .setUrlParams(ModelPerformanceQuery)
      .addSuccess(ModelPerformanceReport)
      .annotate(OpenApi.Summary, "Per-model performance over the tenant's own decisions")
  )
  .middleware(TenantAuth)
  .prefix("/api")
{}

/**
 * Changes of the registry (admin token). A registry error (a version that exists already, a
 * status that does not allow the step, shares over 100%, nothing to roll back to) is a 409; an
 * unknown version a 404; an artifact that does not fit the feature layout a 400.
 *
 * @since 0.1.0
 * @category groups
 */
export class ModelsAdminApi extends HttpApiGroup.make("modelsAdmin")
  .add(
    HttpApiEndpoint.get("adminListModels", "/admin/models")
      .setUrlParams(ModelListQuery)
      .addSuccess(ModelVersionList)
      .annotate(OpenApi.Summary, "Decision model versions (admin)")
  )
  .add(
    HttpApiEndpoint.post("registerModel", "/admin/models")
      .setPayload(RegisterModelRequest)
      .addSuccess(ModelRegistry.ModelVersion, { status: 201 })
      .annotate(OpenApi.Summary, "Register a model version from its uploaded artifact (validated against the feature layout)")
  )
  .add(
    HttpApiEndpoint.post("shadowModel", "/admin/models/:name/versions/:version/shadow")
      .setPath(VersionPath)
      .addSuccess(ModelRegistry.ModelVersion)
      .annotate(OpenApi.Summary, "Start shadowing: the version decides for every agent, logged, never acts")
  )
  .add(
    HttpApiEndpoint.put("setModelShare", "/admin/models/:name/versions/:version/share")
      .setPath(VersionPath)
      .setPayload(TrafficShareRequest)
      .addSuccess(ModelRegistry.ModelVersion)
      .annotate(OpenApi.Summary, "Set the A/B traffic share of a version (sticky per agent; 0 ends the test)")
  )
  .add(
    HttpApiEndpoint.post("activateModel", "/admin/models/:name/versions/:version/activate")
      .setPath(VersionPath)
      .addSuccess(ModelRegistry.ModelVersion)
      .annotate(OpenApi.Summary, "Make the version the active one; the previous active version is retired in the same step")
  )
  .add(
    HttpApiEndpoint.post("retireModel", "/admin/models/:name/versions/:version/retire")
      .setPath(VersionPath)
      .addSuccess(ModelRegistry.ModelVersion)
      .annotate(OpenApi.Summary, "Take a non-active version out of shadow and A/B")
  )
  .add(
    HttpApiEndpoint.post("rollbackModel", "/admin/models/:name/rollback")
      .setPath(NamePath)
      .addSuccess(ModelRegistry.ModelVersion)
      .annotate(OpenApi.Summary, "Retire the active version and re-activate the previous one, in one step")
  )
  .add(
    HttpApiEndpoint.get("adminModelPerformance", "/admin/models/performance")
      .setUrlParams(ModelPerformanceQuery)
      .addSuccess(ModelPerformanceReport)
      .annotate(OpenApi.Summary, "Per-model performance over the decisions of every tenant")
  )
  .middleware(AdminAuth)
  .prefix("/api")
{}
