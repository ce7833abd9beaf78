/**
 * Model artifacts on disk for a registry (docs/DESIGN.md, "Decision models"): the registry keeps a
 * version's digest, not its bytes, so a server keeps every accepted artifact in a directory, one
 * file per digest (`<hex>.onnx`, content-addressed: writing the same model twice is a no-op, and
 * processes that share the directory share the files). The shipped default model resolves to the
 * file in this package.
 *
 * @since 0.1.0
 */
import type { ModelRegistry } from "@spotfleet/engine"
import { Effect } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { mkdir, rename, writeFile } from "node:fs/promises"
import * as path from "node:path"
import * as FeatureLayout from "./FeatureLayout.js"
import * as OnnxDecisionModel from "./OnnxDecisionModel.js"

/**
 * Loads a model from bytes, checks its signature against the feature layout and warms it up
 * (then releases it). Answers what to register it with; a model that does not fit fails with a
 * clear `OnnxModelError`.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (
  bytes: Uint8Array,
  label = "uploaded model"
): Effect.Effect<{ readonly artifactDigest: string; readonly inputLayoutVersion: number }, OnnxDecisionModel.OnnxModelError> =>
  Effect.scoped(
    Effect.map(
      OnnxDecisionModel.make({ name: label, version: "-", source: { bytes }, warmupRuns: 1 }),
      (model) => ({ artifactDigest: model.digest, inputLayoutVersion: FeatureLayout.VERSION })
    )
  )

/**
 * A directory of model artifacts.
 *
 * @since 0.1.0
 * @category models
 */
export interface ArtifactStore {
  readonly directory: string
  /** Writes the bytes under their digest (atomically; a no-op when present) and answers the digest. */
  readonly save: (bytes: Uint8Array) => Effect.Effect<string, OnnxDecisionModel.OnnxModelError>
  /** Where a version's artifact is: its file here, or the shipped model when the digest is its. */
  readonly resolve: (version: ModelRegistry.ModelVersion) => OnnxDecisionModel.Source
}

let shippedDigest: string | undefined
/**
 * The digest of the shipped default model.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultModelDigest = (): string =>
  (shippedDigest ??= OnnxDecisionModel.digestOf(readFileSync(OnnxDecisionModel.defaultModelPath)))

const hexOf = (digest: string) => digest.replace(/^sha256:/, "")

/**
 * An artifact store over a directory (created on the first save).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (directory: string): ArtifactStore => ({
  directory,
  save: (bytes) =>
    Effect.tryPromise({
      try: async () => {
        const digest = OnnxDecisionModel.digestOf(bytes)
        const file = path.join(directory, `${hexOf(digest)}.onnx`)
        if (existsSync(file)) return digest
        await mkdir(directory, { recursive: true })
        const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
        await writeFile(tmp, bytes)
        await rename(tmp, file)
        return digest
      },
      catch: (e) => new OnnxDecisionModel.OnnxModelError({ model: directory, reason: `cannot store the artifact: ${String(e)}` })
    }),
  resolve: (v) => {
    const file = path.join(directory, `${hexOf(v.artifactDigest)}.onnx`)
    if (existsSync(file)) return { path: file }
    if (v.artifactDigest === defaultModelDigest()) return { path: OnnxDecisionModel.defaultModelPath }
    // Not here: the loader fails to read it and the router skips the version (logged).
    return { path: file }
  }
})
