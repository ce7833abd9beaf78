/**
 * Port: the model registry (docs/DESIGN.md, "Decision models"). Every version of a decision model
 * is registered with the digest of its artifact, the feature layout it reads and its confidence
 * threshold, then goes through `registered → shadow → A/B share → active → retired`. At most one
 * version of a model name is active at any time (the store enforces it), and `rollback` restores
 * the previously active version in one call.
 *
 * Routing: the active version serves every agent except the A/B share. An agent's bucket in
 * [0, 1) is a hash of the model name and the agent id, so an agent keeps its assignment for as
 * long as the shares do not change. Shadow versions answer for every agent they do not serve; their
 * decisions are logged with `mode: "shadow"` and never act.
 *
 * @since 0.1.0
 */
import { Context, Effect, Layer, Option, Schema } from "effect"
import type { DecisionModelService } from "./DecisionModel.js"
import { ModelError } from "./DecisionModel.js"
import type { DecisionRecord } from "./DecisionLog.js"
import type { StoreError } from "./EngineError.js"
import * as internal from "./internal/modelRegistry.js"

/**
 * The lifecycle of a model version.
 *
 * @since 0.1.0
 * @category models
 */
export const ModelStatus = Schema.Literal("registered", "shadow", "active", "retired")
/** @since 0.1.0 @category models */
export type ModelStatus = typeof ModelStatus.Type

/**
 * A registered model version.
 *
 * @since 0.1.0
 * @category models
 */
export class ModelVersion extends Schema.Class<ModelVersion>("ModelVersion")({
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  version: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)),
  /** `sha256:<hex>` of the artifact's bytes. */
  artifactDigest: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128)),
  /** The feature layout the model was trained on (`FEATURE_LAYOUT_VERSION`). */
  inputLayoutVersion: Schema.Int,
  status: ModelStatus,
  /** Share of agents (0 … 1) this version serves in an A/B test; 0 for the active version. */
  trafficShare: Schema.Number.pipe(Schema.between(0, 1)),
  /** Minimum confidence for its SWITCH decisions to act (the confidence guard). */
  confidenceThreshold: Schema.Number.pipe(Schema.between(0, 1)),
  createdAt: Schema.Number,
  activatedAt: Schema.NullOr(Schema.Number),
  retiredAt: Schema.NullOr(Schema.Number)
}) {}

/**
 * A registry operation that is not allowed (unknown version, wrong status, shares over 100%,
 * nothing to roll back to, a layout the engine does not build).
 *
 * @since 0.1.0
 * @category errors
 */
export class RegistryError extends Schema.TaggedError<RegistryError>()("RegistryError", {
  model: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `model registry, ${this.model}: ${this.reason}`
  }
}

/**
 * What `register` needs.
 *
 * @since 0.1.0
 * @category models
 */
export interface RegisterInput {
  readonly name: string
  readonly version: string
  readonly artifactDigest: string
  readonly inputLayoutVersion: number
  /** Default 0.70. */
  readonly confidenceThreshold?: number | undefined
}

/**
 * The versions of one model name that take part in decisions.
 *
 * @since 0.1.0
 * @category models
 */
export interface Routing {
  readonly name: string
  readonly active: ModelVersion | null
  /** Versions with a traffic share, in version order (the order of their bucket ranges). */
  readonly candidates: ReadonlyArray<ModelVersion>
  readonly shadows: ReadonlyArray<ModelVersion>
}

/**
 * The registry port. Every write is atomic: a reader never sees two active versions of a name, or
 * none in the middle of an `activate` or `rollback` that had one before.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelRegistryService {
  readonly register: (input: RegisterInput) => Effect.Effect<ModelVersion, RegistryError | StoreError>
  readonly get: (name: string, version: string) => Effect.Effect<Option.Option<ModelVersion>, StoreError>
  /** Every version of a name (or of every name), oldest first. */
  readonly list: (name?: string | undefined) => Effect.Effect<ReadonlyArray<ModelVersion>, StoreError>
  /** A registered (or A/B) version starts shadowing. */
  readonly shadow: (name: string, version: string) => Effect.Effect<ModelVersion, RegistryError | StoreError>
  /** The share of agents a non-active version serves (0 ends its A/B test); shares of a name sum to ≤ 1. */
  readonly setTrafficShare: (
    name: string,
    version: string,
    share: number
  ) => Effect.Effect<ModelVersion, RegistryError | StoreError>
  /** Makes a version the active one; the previous active version is retired in the same step. */
  readonly activate: (name: string, version: string) => Effect.Effect<ModelVersion, RegistryError | StoreError>
  /** Retires the active version and re-activates the one active before it, in one step. */
  readonly rollback: (name: string) => Effect.Effect<ModelVersion, RegistryError | StoreError>
  /** Takes a non-active version out of shadow and A/B. */
  readonly retire: (name: string, version: string) => Effect.Effect<ModelVersion, RegistryError | StoreError>
  readonly routing: (name: string) => Effect.Effect<Routing, StoreError>
}

/** @since 0.1.0 @category tags */
export class ModelRegistry extends Context.Tag("@spotfleet/engine/ModelRegistry")<ModelRegistry, ModelRegistryService>() {}

/**
 * The in-memory registry (one process).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory: () => Effect.Effect<ModelRegistryService> = internal.makeMemory

/**
 * Checks of `register` input shared by every store (null when valid).
 *
 * @since 0.1.0
 * @category store helpers
 */
export const validateRegister: (input: RegisterInput) => RegistryError | null = internal.validateRegister

/**
 * Checks a traffic share against the other versions of the name (null when allowed).
 *
 * @since 0.1.0
 * @category store helpers
 */
export const shareError: (versions: ReadonlyArray<ModelVersion>, target: ModelVersion, share: number) => RegistryError | null =
  internal.shareError

/**
 * The routing of a name from all its versions.
 *
 * @since 0.1.0
 * @category store helpers
 */
export const routingOf: (name: string, versions: ReadonlyArray<ModelVersion>) => Routing = internal.routingOf

/** @since 0.1.0 @category layers */
export const layerMemory: Layer.Layer<ModelRegistry> = Layer.effect(ModelRegistry, internal.makeMemory())

/**
 * An agent's bucket for a model name, in [0, 1): a 32-bit hash of `name` and the agent id.
 * The same inputs always give the same bucket.
 *
 * @since 0.1.0
 * @category routing
 */
export const bucketOf: (name: string, agentId: string) => number = internal.bucketOf

/**
 * Which version acts for an agent and which only shadow it. The candidates' shares cover
 * consecutive ranges of buckets from 0; an agent outside them gets the active version. A shadow
 * version that acts for the agent (it also has a share) does not shadow it as well.
 *
 * @since 0.1.0
 * @category routing
 */
export const assign = (
  routing: Routing,
  agentId: string
): { readonly acting: ModelVersion | null; readonly shadows: ReadonlyArray<ModelVersion> } => {
  const bucket = bucketOf(routing.name, agentId)
  let acting: ModelVersion | null = routing.active
  let from = 0
  for (const c of routing.candidates) {
    if (bucket >= from && bucket < from + c.trafficShare) {
      acting = c
      break
    }
    from += c.trafficShare
  }
  const shadows = routing.shadows.filter((s) => acting === null || s.version !== acting.version)
  return { acting, shadows }
}

/**
 * Turns a registered version into a runnable model (loads its artifact). ml-onnx provides one
 * that reads ONNX files; implementations should cache by digest.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelLoaderService {
  readonly load: (version: ModelVersion) => Effect.Effect<DecisionModelService, ModelError>
}

/** @since 0.1.0 @category tags */
export class ModelLoader extends Context.Tag("@spotfleet/engine/ModelLoader")<ModelLoader, ModelLoaderService>() {}

/**
 * A loader from a fixed table of models by `name@version` (tests, built-in models).
 *
 * @since 0.1.0
 * @category constructors
 */
export const loaderFromTable = (models: Record<string, DecisionModelService>): ModelLoaderService => ({
  load: (v) => {
    const m = models[`${v.name}@${v.version}`]
    return m === undefined
      ? Effect.fail(new ModelError({ model: `${v.name}@${v.version}`, reason: "no such model in the table" }))
      : Effect.succeed(m)
  }
})

/**
 * A model ready to decide for an agent, with its threshold and whether it may act.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoutedModel {
  readonly model: DecisionModelService
  readonly version: ModelVersion | null
  readonly mode: "active" | "shadow"
  readonly confidenceThreshold: number | undefined
}

/**
 * The decision loop's view of the registry: for an agent, the model that acts and those that
 * shadow.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelRouterService {
  readonly route: (agentId: string) => Effect.Effect<
    { readonly acting: RoutedModel | null; readonly shadows: ReadonlyArray<RoutedModel> },
    StoreError
  >
}

/** @since 0.1.0 @category tags */
export class ModelRouter extends Context.Tag("@spotfleet/engine/ModelRouter")<ModelRouter, ModelRouterService>() {}

/**
 * Routes the model name `name` through the registry. Versions that fail to load are skipped (the
 * loop falls back to the default `DecisionModel` when nothing acts). Routing is read once per
 * call of `route` so a concurrent `activate`/`rollback` is seen whole.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeRouter = (
  name: string,
  registry: ModelRegistryService,
  loader: ModelLoaderService
): ModelRouterService => {
  const toRouted = (v: ModelVersion, mode: "active" | "shadow") =>
    loader.load(v).pipe(
      Effect.map((model): RoutedModel => ({ model, version: v, mode, confidenceThreshold: v.confidenceThreshold })),
      Effect.tapError((e) => Effect.logWarning(`model ${v.name}@${v.version} not loaded: ${e.reason}`)),
      Effect.option,
      Effect.map(Option.getOrNull)
    )
  return {
    route: (agentId) =>
      Effect.gen(function*() {
        const routing = yield* registry.routing(name)
        const plan = assign(routing, agentId)
        const acting = plan.acting === null ? null : yield* toRouted(plan.acting, "active")
        const shadows: Array<RoutedModel> = []
        for (const s of plan.shadows) {
          const r = yield* toRouted(s, "shadow")
          if (r !== null) shadows.push(r)
        }
        return { acting, shadows }
      })
  }
}

/**
 * The router layer for a model name.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerRouter = (name: string): Layer.Layer<ModelRouter, never, ModelRegistry | ModelLoader> =>
  Layer.effect(
    ModelRouter,
    Effect.map(Effect.all([ModelRegistry, ModelLoader]), ([registry, loader]) => makeRouter(name, registry, loader))
  )

/**
 * How a model version did, from the decision log.
 *
 * @since 0.1.0
 * @category models
 */
export interface ModelPerformance {
  readonly model: string
  readonly version: string
  readonly mode: "active" | "shadow"
  readonly decisions: number
  readonly byAction: Readonly<Record<string, number>>
  /** Decisions every guard allowed. */
  readonly allowed: number
  /** Decisions that queued a switch. */
  readonly executed: number
  /** Executed switches that finished as succeeded. */
  readonly succeeded: number
  /** Executed switches that finished failed or cancelled. */
  readonly failed: number
  /** succeeded ÷ (succeeded + failed); null while none has finished. */
  readonly successRate: number | null
  readonly timeouts: number
  readonly errors: number
  readonly meanConfidence: number | null
  /** Decisions per confidence decile: [0, 0.1), … [0.9, 1]. */
  readonly confidenceHistogram: ReadonlyArray<number>
  readonly latencyP50Millis: number | null
  readonly latencyP99Millis: number | null
}

/**
 * Per-model performance from decision records and the outcomes of the switches they caused
 * (`flowId → result`, e.g. from `Engine.switches`).
 *
 * @since 0.1.0
 * @category performance
 */
export const performance: (
  records: Iterable<DecisionRecord>,
  outcomes?: ReadonlyMap<string, "in_progress" | "succeeded" | "failed" | "cancelled">
) => ReadonlyArray<ModelPerformance> = internal.performance
