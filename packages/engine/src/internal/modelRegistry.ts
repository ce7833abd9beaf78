import { Clock, Effect, Option } from "effect"
import { FEATURE_LAYOUT_VERSION } from "../DecisionModel.js"
import type { DecisionRecord } from "../DecisionLog.js"
import type { ModelPerformance, ModelRegistryService, RegisterInput, Routing } from "../ModelRegistry.js"
import { ModelVersion, RegistryError } from "../ModelRegistry.js"

/** FNV-1a over UTF-16 code units, then the murmur3 finalizer for avalanche; a bucket in [0, 1). */
export const bucketOf = (name: string, agentId: string): number => {
  const key = `${name}\u0000${agentId}`
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0) / 4294967296
}

const byVersion = (a: ModelVersion, b: ModelVersion) => a.createdAt - b.createdAt || (a.version < b.version ? -1 : 1)

/** Checks shared by every store implementation; `versions` are all versions of the name. */
export const validateRegister = (input: RegisterInput): RegistryError | null => {
  const model = `${input.name}@${input.version}`
  if (input.name.length === 0 || input.name.length > 128) return new RegistryError({ model, reason: "a name is 1 to 128 characters" })
  if (input.version.length === 0 || input.version.length > 64) {
    return new RegistryError({ model, reason: "a version is 1 to 64 characters" })
  }
  if (!/^sha256:[0-9a-f]{64}$/.test(input.artifactDigest)) {
    return new RegistryError({ model, reason: `artifact digest must be sha256:<64 hex>, got ${input.artifactDigest}` })
  }
  if (input.inputLayoutVersion !== FEATURE_LAYOUT_VERSION) {
    return new RegistryError({
      model,
      reason: `input layout version ${input.inputLayoutVersion} is not the engine's feature layout ${FEATURE_LAYOUT_VERSION}`
    })
  }
  const t = input.confidenceThreshold ?? 0.7
  if (!(t >= 0 && t <= 1)) return new RegistryError({ model, reason: `confidence threshold ${t} is outside [0, 1]` })
  return null
}

/** Shares of the other non-retired versions plus `share` must stay ≤ 1. */
export const shareError = (versions: ReadonlyArray<ModelVersion>, target: ModelVersion, share: number): RegistryError | null => {
  const model = `${target.name}@${target.version}`
  if (!(share >= 0 && share <= 1)) return new RegistryError({ model, reason: `traffic share ${share} is outside [0, 1]` })
  if (target.status === "active" || target.status === "retired") {
    return new RegistryError({ model, reason: `a ${target.status} version takes no traffic share` })
  }
  const others = versions.filter((v) => v.version !== target.version && v.status !== "retired").reduce((a, v) => a + v.trafficShare, 0)
  if (others + share > 1 + 1e-9) {
    return new RegistryError({ model, reason: `shares would sum to ${(others + share).toFixed(3)} (> 1)` })
  }
  return null
}

export const routingOf = (name: string, versions: ReadonlyArray<ModelVersion>): Routing => {
  const sorted = [...versions].sort(byVersion)
  return {
    name,
    active: sorted.find((v) => v.status === "active") ?? null,
    candidates: sorted.filter((v) => (v.status === "registered" || v.status === "shadow") && v.trafficShare > 0),
    shadows: sorted.filter((v) => v.status === "shadow")
  }
}

export const makeMemory = () =>
  Effect.sync((): ModelRegistryService => {
    const versions = new Map<string, Map<string, ModelVersion>>()
    /** Per name, the versions activated in order; the top is the active one. */
    const stacks = new Map<string, Array<string>>()
    const of = (name: string) => versions.get(name) ?? versions.set(name, new Map()).get(name)!
    const find = (name: string, version: string) => {
      const v = versions.get(name)?.get(version)
      return v === undefined
        ? Effect.fail(new RegistryError({ model: `${name}@${version}`, reason: "no such version" }))
        : Effect.succeed(v)
    }
    const put = (v: ModelVersion) => {
      of(v.name).set(v.version, v)
      return v
    }
    const update = (v: ModelVersion, patch: Partial<ConstructorParameters<typeof ModelVersion>[0]>) =>
      put(ModelVersion.make({ ...v, ...patch }))
    return {
      register: (input) =>
        Effect.gen(function*() {
          const invalid = validateRegister(input)
          if (invalid !== null) return yield* invalid
          const now = yield* Clock.currentTimeMillis
          if (of(input.name).has(input.version)) {
            return yield* new RegistryError({ model: `${input.name}@${input.version}`, reason: "version already registered" })
          }
          return put(ModelVersion.make({
            name: input.name,
            version: input.version,
            artifactDigest: input.artifactDigest,
            inputLayoutVersion: input.inputLayoutVersion,
            status: "registered",
            trafficShare: 0,
            confidenceThreshold: input.confidenceThreshold ?? 0.7,
            createdAt: now,
            activatedAt: null,
            retiredAt: null
          }))
        }),
      get: (name, version) => Effect.sync(() => Option.fromNullable(versions.get(name)?.get(version))),
      list: (name) =>
        Effect.sync(() =>
          (name === undefined ? [...versions.values()].flatMap((m) => [...m.values()]) : [...(versions.get(name)?.values() ?? [])])
            .sort(byVersion)
        ),
      shadow: (name, version) =>
        Effect.flatMap(find(name, version), (v) =>
          v.status === "registered" || v.status === "shadow"
            ? Effect.succeed(update(v, { status: "shadow" }))
            : Effect.fail(new RegistryError({ model: `${name}@${version}`, reason: `a ${v.status} version cannot shadow` }))),
      setTrafficShare: (name, version, share) =>
        Effect.flatMap(find(name, version), (v) => {
          const invalid = shareError([...of(name).values()], v, share)
          return invalid !== null ? Effect.fail(invalid) : Effect.succeed(update(v, { trafficShare: share }))
        }),
      activate: (name, version) =>
        Effect.gen(function*() {
          const v = yield* find(name, version)
          if (v.status === "active") return v
          const now = yield* Clock.currentTimeMillis
          // One synchronous step: nobody observes two active versions, or none.
          for (const other of of(name).values()) {
            if (other.status === "active") update(other, { status: "retired", retiredAt: now, trafficShare: 0 })
          }
          const stack = stacks.get(name) ?? stacks.set(name, []).get(name)!
          stack.push(version)
          return update(v, { status: "active", activatedAt: now, retiredAt: null, trafficShare: 0 })
        }),
      rollback: (name) =>
        Effect.gen(function*() {
          const stack = stacks.get(name) ?? []
          if (stack.length < 2) {
            return yield* new RegistryError({ model: name, reason: "no previously active version to roll back to" })
          }
          const now = yield* Clock.currentTimeMillis
          const current = of(name).get(stack[stack.length - 1]!)!
          const previous = of(name).get(stack[stack.length - 2]!)!
          stack.pop()
          update(current, { status: "retired", retiredAt: now, trafficShare: 0 })
          return update(previous, { status: "active", activatedAt: now, retiredAt: null, trafficShare: 0 })
        }),
      retire: (name, version) =>
        Effect.gen(function*() {
          const v = yield* find(name, version)
          if (v.status === "active") {
            return yield* new RegistryError({ model: `${name}@${version}`, reason: "the active version is replaced by activate or rollback, not retired" })
          }
          const now = yield* Clock.currentTimeMillis
          return update(v, { status: "retired", retiredAt: now, trafficShare: 0 })
        }),
      routing: (name) => Effect.sync(() => routingOf(name, [...(versions.get(name)?.values() ?? [])]))
    }
  })

const quantile = (sorted: ReadonlyArray<number>, q: number): number | null =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

export const performance = (
  records: Iterable<DecisionRecord>,
  outcomes: ReadonlyMap<string, "in_progress" | "succeeded" | "failed" | "cancelled"> = new Map()
): ReadonlyArray<ModelPerformance> => {
  const groups = new Map<string, Array<DecisionRecord>>()
  for (const r of records) {
    const key = `${r.model}\u0000${r.modelVersion}\u0000${r.mode}`
    ;(groups.get(key) ?? groups.set(key, []).get(key)!).push(r)
  }
  const out: Array<ModelPerformance> = []
  for (const rs of groups.values()) {
    const first = rs[0]!
    const byAction: Record<string, number> = {}
    const histogram = Array.from({ length: 10 }, () => 0)
    let allowed = 0, executed = 0, succeeded = 0, failed = 0, timeouts = 0, errors = 0, confidenceSum = 0
    for (const r of rs) {
      byAction[r.decision.action] = (byAction[r.decision.action] ?? 0) + 1
      histogram[Math.min(9, Math.floor(r.decision.confidence * 10))]! += 1
      confidenceSum += r.decision.confidence
      if (r.allowed) allowed++
      if (r.timedOut) timeouts++
      if (r.error !== null) errors++
      if (r.acted) {
        executed++
        const result = r.flowId === null ? undefined : outcomes.get(r.flowId)
        if (result === "succeeded") succeeded++
        else if (result === "failed" || result === "cancelled") failed++
      }
    }
    const latencies = rs.map((r) => r.latencyMillis).sort((a, b) => a - b)
    out.push({
      model: first.model,
      version: first.modelVersion,
      mode: first.mode,
      decisions: rs.length,
      byAction,
      allowed,
      executed,
      succeeded,
      failed,
      successRate: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
      timeouts,
      errors,
      meanConfidence: rs.length === 0 ? null : confidenceSum / rs.length,
      confidenceHistogram: histogram,
      latencyP50Millis: quantile(latencies, 0.5),
      latencyP99Millis: quantile(latencies, 0.99)
    })
  }
  return out.sort((a, b) => a.model.localeCompare(b.model) || a.version.localeCompare(b.version) || a.mode.localeCompare(b.mode))
}
