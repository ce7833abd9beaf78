/**
 * The `DecisionModel` port on onnxruntime-node (CPU), after the `@effect/ai` provider pattern: the
 * engine owns the port, this package provides it.
 *
 * A model is loaded from a file or bytes, its input and output names, element types and shapes
 * are checked against the feature layout (a mismatch fails with a clear `OnnxModelError` before
 * the model can be registered or used), it is warmed up, then answers single or batched
 * decisions. Its outputs are checked too: a probability that is not a finite number in [0, 1]
 * is a `ModelError`, which the engine turns into WAIT. The session is released with the scope.
 *
 * @since 0.1.0
 */
import { DecisionModel, type EngineError, type ModelRegistry } from "@spotfleet/engine"
import { Effect, Layer, Schema, Scope } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"
import * as ort from "onnxruntime-node"
import * as FeatureLayout from "./FeatureLayout.js"

/**
 * The model file shipped in this package (trained by `scripts/train-default.ts`).
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultModelPath: string = fileURLToPath(new URL("../models/switch-decision-v1.onnx", import.meta.url))

/**
 * The shipped model's registry name and version.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultModel = { name: "switch-decision", version: "1" } as const

/**
 * A model that cannot be loaded or does not fit the feature layout.
 *
 * @since 0.1.0
 * @category errors
 */
export class OnnxModelError extends Schema.TaggedError<OnnxModelError>()("OnnxModelError", {
  model: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `ONNX model ${this.model}: ${this.reason}`
  }
}

/**
 * Where the model comes from.
 *
 * @since 0.1.0
 * @category models
 */
export type Source = { readonly path: string } | { readonly bytes: Uint8Array }

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly name: string
  readonly version: string
  readonly source: Source
  /** SWITCH when the best candidate's probability reaches this (default 0.5). */
  readonly switchProbability?: number | undefined
  /** Inference runs at load (default 5). */
  readonly warmupRuns?: number | undefined
  /** onnxruntime intra-op threads (default 1: a tiny model gains nothing from more). */
  readonly threads?: number | undefined
}

/**
 * A loaded ONNX decision model.
 *
 * @since 0.1.0
 * @category models
 */
export interface OnnxDecisionModel extends DecisionModel.DecisionModelService {
  /** `sha256:<hex>` of the model bytes. */
  readonly digest: string
  /** Raw inference: `rows × WIDTH` floats in, one probability per row out (range-checked). */
  readonly predict: (batch: Float32Array, rows: number) => Effect.Effect<Float32Array, DecisionModel.ModelError>
  /** Decisions for many agents in one inference. */
  readonly decideBatch: (
    features: ReadonlyArray<DecisionModel.Features>
  ) => Effect.Effect<ReadonlyArray<DecisionModel.Decision>, DecisionModel.ModelError>
}

/**
 * `sha256:<hex>` of bytes (the registry's artifact digest).
 *
 * @since 0.1.0
 * @category digest
 */
export const digestOf = (bytes: Uint8Array): string => `sha256:${createHash("sha256").update(bytes).digest("hex")}`

const describeShape = (m: ort.InferenceSession.ValueMetadata) =>
  m.isTensor ? `${m.type}[${m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : "?")).join(", ")}]` : "a non-tensor value"

/**
 * What is wrong with a session's signature, or null when it fits the layout: exactly one input
 * `features` float32 `[batch, WIDTH]` and one output `probability` float32 `[batch, 1]`.
 *
 * @since 0.1.0
 * @category validation
 */
export const signatureProblem = (session: Pick<ort.InferenceSession, "inputMetadata" | "outputMetadata">): string | null => {
  const problems: Array<string> = []
  const check = (kind: string, list: ReadonlyArray<ort.InferenceSession.ValueMetadata>, name: string, width: number) => {
    if (list.length !== 1 || list[0]!.name !== name) {
      problems.push(`expected one ${kind} named "${name}", the model has ${kind}s [${list.map((m) => `"${m.name}"`).join(", ")}]`)
      return
    }
    const m = list[0]!
    const fits = m.isTensor && m.type === "float32" && m.shape.length === 2 &&
      (typeof m.shape[0] === "string" || m.shape[0] === -1) && m.shape[1] === width
    if (!fits) {
      problems.push(`${kind} "${name}" must be float32[batch, ${width}] (layout v${FeatureLayout.VERSION}), the model has ${describeShape(m)}`)
    }
  }
  check("input", session.inputMetadata, FeatureLayout.INPUT_NAME, FeatureLayout.WIDTH)
  check("output", session.outputMetadata, FeatureLayout.OUTPUT_NAME, 1)
  return problems.length === 0 ? null : problems.join("; ")
}

const readSource = (label: string, source: Source) =>
  "bytes" in source
    ? Effect.succeed(source.bytes)
    : Effect.tryPromise({
      try: () => readFile(source.path).then((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength)),
      catch: (e) => new OnnxModelError({ model: label, reason: `cannot read ${source.path}: ${String(e)}` })
    })

/**
 * The decision for one agent from its candidates' probabilities.
 *
 * @since 0.1.0
 * @category decisions
 */
export const decisionFrom = (
  features: DecisionModel.Features,
  candidates: ReadonlyArray<DecisionModel.Candidate>,
  probabilities: ArrayLike<number>,
  offset: number,
  switchProbability: number
): DecisionModel.Decision => {
  if (features.noticeInProgress) {
    return DecisionModel.Decision.make({ action: "WAIT", targetPool: null, confidence: 1, reasoning: "an interruption notice is being handled", expectedSavingsPercent: null, risk: null })
  }
  let best = -1
  for (let i = 0; i < candidates.length; i++) if (best < 0 || probabilities[offset + i]! > probabilities[offset + best]!) best = i
  if (best < 0) {
    return DecisionModel.Decision.make({ action: "STAY", targetPool: null, confidence: 1, reasoning: "no candidate pool", expectedSavingsPercent: null, risk: null })
  }
  const c = candidates[best]!
  const p = probabilities[offset + best]!
  const savings = features.currentPrice > 0 ? ((features.currentPrice - c.price) / features.currentPrice) * 100 : null
  const risk = DecisionModel.riskOf(c)
  if (p >= switchProbability) {
    return DecisionModel.Decision.make({
      action: "SWITCH",
      targetPool: c.pool,
      confidence: p,
      reasoning: `P(switch to ${c.pool} pays off) = ${p.toFixed(3)}; ${savings?.toFixed(1) ?? "?"}% cheaper at risk ${risk.toFixed(2)}`,
      expectedSavingsPercent: savings,
      risk
    })
  }
  return DecisionModel.Decision.make({
    action: "STAY",
    targetPool: null,
    confidence: 1 - p,
    reasoning: `best candidate ${c.pool}: P(pays off) = ${p.toFixed(3)} < ${switchProbability}`,
    expectedSavingsPercent: savings,
    risk
  })
}

/**
 * Loads, validates and warms up a model; released with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<OnnxDecisionModel, OnnxModelError, Scope.Scope> =>
  Effect.gen(function*() {
    const label = `${options.name}@${options.version}`
    const bytes = yield* readSource(label, options.source)
    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () =>
          ort.InferenceSession.create(bytes, {
            intraOpNumThreads: options.threads ?? 1,
            interOpNumThreads: 1,
            executionMode: "sequential",
            graphOptimizationLevel: "all"
          }),
        catch: (e) => new OnnxModelError({ model: label, reason: `not a loadable ONNX model: ${e instanceof Error ? e.message : String(e)}` })
      }),
      (s) => Effect.promise(() => s.release())
    )
    const problem = signatureProblem(session)
    if (problem !== null) return yield* new OnnxModelError({ model: label, reason: problem })
    const switchProbability = options.switchProbability ?? 0.5
    const W = FeatureLayout.WIDTH

    const predict = (batch: Float32Array, rows: number): Effect.Effect<Float32Array, DecisionModel.ModelError> =>
      Effect.gen(function*() {
        if (rows === 0) return new Float32Array(0)
        const out = yield* Effect.tryPromise({
          try: () => session.run({ [FeatureLayout.INPUT_NAME]: new ort.Tensor("float32", batch, [rows, W]) }),
          catch: (e) => new DecisionModel.ModelError({ model: label, reason: `inference failed: ${e instanceof Error ? e.message : String(e)}` })
        })
        const data = out[FeatureLayout.OUTPUT_NAME]?.data
        if (!(data instanceof Float32Array) || data.length !== rows) {
          return yield* new DecisionModel.ModelError({ model: label, reason: `expected ${rows} float32 probabilities, got ${data?.length ?? "none"}` })
        }
        for (let i = 0; i < rows; i++) {
          const p = data[i]!
          if (!(p >= 0 && p <= 1)) {
            return yield* new DecisionModel.ModelError({ model: label, reason: `output ${i} is ${p}, outside [0, 1]` })
          }
        }
        return data
      })

    const decideBatch = (all: ReadonlyArray<DecisionModel.Features>) =>
      Effect.gen(function*() {
        const candidates = all.map(FeatureLayout.scoredCandidates)
        const rows = candidates.reduce((a, c) => a + c.length, 0)
        const batch = new Float32Array(rows * W)
        let row = 0
        for (let k = 0; k < all.length; k++) {
          for (const c of candidates[k]!) FeatureLayout.encodeInto(all[k]!, c, batch, (row++) * W)
        }
        const probabilities = yield* predict(batch, rows)
        const decisions: Array<DecisionModel.Decision> = []
        let offset = 0
        for (let k = 0; k < all.length; k++) {
          decisions.push(decisionFrom(all[k]!, candidates[k]!, probabilities, offset, switchProbability))
          offset += candidates[k]!.length
        }
        return decisions
      })

    // Warm-up: the first runs allocate and pick kernels.
    const warm = new Float32Array(4 * W)
    for (let i = 0; i < (options.warmupRuns ?? 5); i++) {
      yield* Effect.mapError(predict(warm, 4), (e) => new OnnxModelError({ model: label, reason: `warm-up failed: ${e.reason}` }))
    }
    return {
      name: options.name,
      version: options.version,
      digest: digestOf(bytes),
      predict,
      decideBatch,
      decide: (features) => Effect.map(decideBatch([features]), (d) => d[0]!)
    }
  })

/**
 * The engine's `DecisionModel` from an ONNX model.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<DecisionModel.DecisionModel, OnnxModelError> =>
  Layer.scoped(DecisionModel.DecisionModel, make(options))

/**
 * The shipped default model as the engine's `DecisionModel`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerDefault: Layer.Layer<DecisionModel.DecisionModel, OnnxModelError> = layer({
  ...defaultModel,
  source: { path: defaultModelPath }
})

/**
 * Validates a model (loads it, checks its signature, warms it up) and registers it with the
 * digest of its bytes and the layout version. A model that does not fit the layout is rejected
 * here, before the registry ever sees it.
 *
 * @since 0.1.0
 * @category registry
 */
export const register = (
  registry: ModelRegistry.ModelRegistryService,
  input: { readonly name: string; readonly version: string; readonly source: Source; readonly confidenceThreshold?: number | undefined }
): Effect.Effect<ModelRegistry.ModelVersion, OnnxModelError | ModelRegistry.RegistryError | EngineError.StoreError> =>
  Effect.scoped(Effect.gen(function*() {
    const model = yield* make({ name: input.name, version: input.version, source: input.source, warmupRuns: 1 })
    return yield* registry.register({
      name: input.name,
      version: input.version,
      artifactDigest: model.digest,
      inputLayoutVersion: FeatureLayout.VERSION,
      confidenceThreshold: input.confidenceThreshold
    })
  }))

/**
 * A registry loader: resolves a version to its artifact, checks the bytes against the registered
 * digest, and keeps loaded models (one session per digest) until the scope closes.
 *
 * @since 0.1.0
 * @category registry
 */
export const makeLoader = (
  resolve: (version: ModelRegistry.ModelVersion) => Source
): Effect.Effect<ModelRegistry.ModelLoaderService, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const cache = new Map<string, OnnxDecisionModel>()
    const lock = yield* Effect.makeSemaphore(1)
    return {
      load: (v) =>
        lock.withPermits(1)(Effect.gen(function*() {
          const key = `${v.name}@${v.version}#${v.artifactDigest}`
          const hit = cache.get(key)
          if (hit !== undefined) return hit
          const model = yield* make({ name: v.name, version: v.version, source: resolve(v) }).pipe(
            Scope.extend(scope),
            Effect.mapError((e) => new DecisionModel.ModelError({ model: e.model, reason: e.reason }))
          )
          if (model.digest !== v.artifactDigest) {
            return yield* new DecisionModel.ModelError({
              model: key,
              reason: `artifact digest ${model.digest} does not match the registered ${v.artifactDigest}`
            })
          }
          cache.set(key, model)
          return model
        }))
    }
  })
