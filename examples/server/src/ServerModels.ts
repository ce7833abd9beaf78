/**
 * The model registry of the server (docs/DESIGN.md, "Decision models"): the shipped ONNX model
 * registered and active when the registry has no active version of its name, uploaded artifacts
 * checked against the feature layout and kept in a content-addressed directory (the admin API's
 * `ModelArtifacts`), and the auto-switch loop routed through the registry
 * (`ModelRegistry.layerRouter`) so that A/B and shadow versions are honoured.
 *
 * Environment:
 * - `SPOTFLEET_MODEL_DIR` (default `~/.local/share/spotfleet/models`, or under `$XDG_DATA_HOME`):
 *   where uploaded and trained artifacts are kept, one `<sha256>.onnx` per digest. Processes
 *   that share a MySQL registry must share this directory (a version whose file is missing is
 *   skipped by the router, logged).
 * - `SPOTFLEET_DECISION_MODEL` (see ServerJobs.ts): `rule-based` turns the registry routing off.
 */
import { ModelsLive } from "@spotfleet/adapter-http"
import { type EngineError, ModelRegistry } from "@spotfleet/engine"
import { ArtifactStore, OnnxDecisionModel } from "@spotfleet/ml-onnx"
import { Effect, Layer, Option } from "effect"
import * as ModelDir from "./ModelDir.js"
import * as ServerJobs from "./ServerJobs.js"

/** The artifact directory from `SPOTFLEET_MODEL_DIR` (see ModelDir.ts for the default). */
export const modelDir: Effect.Effect<string> = ModelDir.modelDir

/**
 * Registers the shipped model and activates it unless the registry has an active version of its
 * name. Safe across restarts and processes: the registry's uniqueness of `name@version` decides
 * who registers, and a process activates only while it still sees no active version.
 */
export const ensureDefault = (
  registry: ModelRegistry.ModelRegistryService
): Effect.Effect<ModelRegistry.ModelVersion | null, EngineError.StoreError> =>
  Effect.gen(function*() {
    const { name, version } = OnnxDecisionModel.defaultModel
    if ((yield* registry.routing(name)).active !== null) return null
    if (Option.isNone(yield* registry.get(name, version))) {
      yield* registry.register({
        name,
        version,
        artifactDigest: ArtifactStore.defaultModelDigest(),
        inputLayoutVersion: 1
      }).pipe(Effect.catchTag("RegistryError", () => Effect.void)) // another process registered it first
    }
    if ((yield* registry.routing(name)).active !== null) return null
    return yield* registry.activate(name, version).pipe(
      Effect.catchTag("RegistryError", (e) => Effect.as(Effect.logWarning(`default model not activated: ${e.message}`), null))
    )
  })

/** The admin API's artifact check and storage over an artifact directory. */
export const artifacts = (store: ArtifactStore.ArtifactStore): ModelsLive.ModelArtifactsService => ({
  accept: ({ bytes, name, version }) =>
    ArtifactStore.validate(bytes, `${name}@${version}`).pipe(
      Effect.tap(() => store.save(bytes)),
      Effect.mapError((e) => new ModelsLive.ModelArtifactRejected({ reason: e.reason }))
    )
})

const noRouting: ModelRegistry.ModelRouterService = { route: () => Effect.succeed({ acting: null, shadows: [] }) }

/**
 * The registry services of the server: `ModelArtifacts` for the admin API always, and with the
 * ONNX decision model (the default) the `ModelRouter` the auto-switch loop decides through. The
 * default model is made active while the layer is built.
 */
export const layer: Layer.Layer<
  ModelsLive.ModelArtifacts | ModelRegistry.ModelRouter,
  EngineError.StoreError,
  ModelRegistry.ModelRegistry
> = Layer.unwrapScoped(
  Effect.gen(function*() {
    const registry = yield* ModelRegistry.ModelRegistry
    const store = ArtifactStore.make(yield* modelDir)
    const activated = yield* ensureDefault(registry)
    if (activated !== null) yield* Effect.logInfo(`model registry: ${activated.name}@${activated.version} registered and active`)
    const artifactsLayer = Layer.succeed(ModelsLive.ModelArtifacts, artifacts(store))
    const choice = yield* Effect.orDie(ServerJobs.decisionModel)
    // Rule-based: no version acts or shadows, the loop's DecisionModel (rule-based) decides.
    if (choice === "rule-based") return Layer.merge(artifactsLayer, Layer.succeed(ModelRegistry.ModelRouter, noRouting))
    const loader = yield* OnnxDecisionModel.makeLoader(store.resolve)
    return Layer.merge(
      artifactsLayer,
      ModelRegistry.layerRouter(OnnxDecisionModel.defaultModel.name).pipe(
        Layer.provide(Layer.succeed(ModelRegistry.ModelLoader, loader)),
        Layer.provide(Layer.succeed(ModelRegistry.ModelRegistry, registry))
      )
    )
  })
)
