/**
 * The model registry conformance suite: the in-memory registry and every store adapter pass the
 * same tests. Each test uses its own model name, so the suite runs against a shared database.
 *
 * @since 0.1.0
 */
import { assert, layer } from "@effect/vitest"
import { Duration, Effect, Either, type Layer, Option } from "effect"
import { ModelRegistry, type ModelVersion } from "../ModelRegistry.js"

/** @since 0.1.0 */
export interface SuiteOptions {
  readonly timeout?: Duration.DurationInput | undefined
}

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`
const freshName = () => `suite-${globalThis.crypto.randomUUID().slice(0, 8)}`

const registerMany = (name: string, versions: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const registry = yield* ModelRegistry
    const out: Array<ModelVersion> = []
    for (const [i, version] of versions.entries()) {
      out.push(yield* registry.register({ name, version, artifactDigest: digest(i + 1), inputLayoutVersion: 1, confidenceThreshold: 0.6 + i / 100 }))
    }
    return out
  })

const actives = (name: string) =>
  Effect.map(Effect.flatMap(ModelRegistry, (r) => r.list(name)), (vs) => vs.filter((v) => v.status === "active").map((v) => v.version))

/**
 * Registers the conformance tests for a registry layer.
 *
 * @since 0.1.0
 */
export const suite = <E>(name: string, registryLayer: Layer.Layer<ModelRegistry, E>, options: SuiteOptions = {}): void =>
  layer(registryLayer, { timeout: options.timeout ?? Duration.seconds(60) })(`model registry conformance: ${name}`, (it) => {
    it.effect("registers a version with its digest, layout and threshold; rejects duplicates and bad input", () =>
      Effect.gen(function*() {
        const registry = yield* ModelRegistry
        const name = freshName()
        const [v1] = yield* registerMany(name, ["1"])
        assert.strictEqual(v1!.status, "registered")
        assert.strictEqual(v1!.artifactDigest, digest(1))
        assert.strictEqual(v1!.inputLayoutVersion, 1)
        assert.strictEqual(v1!.confidenceThreshold, 0.6)
        assert.strictEqual(v1!.trafficShare, 0)
        assert.deepStrictEqual(Option.map(yield* registry.get(name, "1"), (v) => v.artifactDigest), Option.some(digest(1)))
        const again = yield* Effect.either(registry.register({ name, version: "1", artifactDigest: digest(9), inputLayoutVersion: 1 }))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "RegistryError" && /already registered/.test(again.left.reason))
        const layout = yield* Effect.either(registry.register({ name, version: "2", artifactDigest: digest(2), inputLayoutVersion: 99 }))
        assert.isTrue(Either.isLeft(layout) && layout.left._tag === "RegistryError" && /layout/.test(layout.left.reason))
        const badDigest = yield* Effect.either(registry.register({ name, version: "3", artifactDigest: "md5:x", inputLayoutVersion: 1 }))
        assert.isTrue(Either.isLeft(badDigest))
        assert.strictEqual((yield* registry.list(name)).length, 1)
      }))

    it.effect("activate retires the previous active; rollback restores it; never two actives", () =>
      Effect.gen(function*() {
        const registry = yield* ModelRegistry
        const name = freshName()
        yield* registerMany(name, ["1", "2", "3"])
        const noPrevious = yield* Effect.either(registry.rollback(name))
        assert.isTrue(Either.isLeft(noPrevious))
        yield* registry.activate(name, "1")
        assert.deepStrictEqual(yield* actives(name), ["1"])
        yield* registry.activate(name, "2")
        assert.deepStrictEqual(yield* actives(name), ["2"])
        assert.strictEqual(Option.getOrThrow(yield* registry.get(name, "1")).status, "retired")
        yield* registry.activate(name, "3")
        const back = yield* registry.rollback(name)
        assert.strictEqual(back.version, "2")
        assert.deepStrictEqual(yield* actives(name), ["2"])
        assert.strictEqual(Option.getOrThrow(yield* registry.get(name, "3")).status, "retired")
        assert.strictEqual((yield* registry.rollback(name)).version, "1")
        assert.deepStrictEqual(yield* actives(name), ["1"])
        assert.isTrue(Either.isLeft(yield* Effect.either(registry.rollback(name))))
        assert.strictEqual((yield* registry.routing(name)).active?.version, "1")
      }))

    it.effect("concurrent activations and rollbacks leave exactly one active version", () =>
      Effect.gen(function*() {
        const registry = yield* ModelRegistry
        const name = freshName()
        const versions = ["1", "2", "3", "4", "5", "6"]
        yield* registerMany(name, versions)
        yield* registry.activate(name, "1")
        yield* Effect.all(
          versions.flatMap((v) => [registry.activate(name, v), Effect.ignore(registry.rollback(name))]),
          { concurrency: "unbounded", discard: true }
        )
        assert.strictEqual((yield* actives(name)).length, 1)
      }))

    it.effect("shadow and traffic shares: shares sum to at most 1, active and retired take none", () =>
      Effect.gen(function*() {
        const registry = yield* ModelRegistry
        const name = freshName()
        yield* registerMany(name, ["1", "2", "3"])
        yield* registry.activate(name, "1")
        yield* registry.shadow(name, "2")
        yield* registry.setTrafficShare(name, "2", 0.3)
        const over = yield* Effect.either(registry.setTrafficShare(name, "3", 0.8))
        assert.isTrue(Either.isLeft(over) && /sum/.test(over.left.reason))
        yield* registry.setTrafficShare(name, "3", 0.7)
        const onActive = yield* Effect.either(registry.setTrafficShare(name, "1", 0.1))
        assert.isTrue(Either.isLeft(onActive))
        const routing = yield* registry.routing(name)
        assert.strictEqual(routing.active?.version, "1")
        assert.deepStrictEqual(routing.candidates.map((c) => [c.version, c.trafficShare]), [["2", 0.3], ["3", 0.7]])
        assert.deepStrictEqual(routing.shadows.map((c) => c.version), ["2"])
        yield* registry.retire(name, "3")
        assert.deepStrictEqual((yield* registry.routing(name)).candidates.map((c) => c.version), ["2"])
        const retireActive = yield* Effect.either(registry.retire(name, "1"))
        assert.isTrue(Either.isLeft(retireActive))
        // Activating the A/B version ends its share and its shadowing.
        yield* registry.activate(name, "2")
        const after = yield* registry.routing(name)
        assert.strictEqual(after.active?.version, "2")
        assert.strictEqual(after.active?.trafficShare, 0)
        assert.deepStrictEqual(after.candidates, [])
        assert.deepStrictEqual(after.shadows, [])
      }))
  })
