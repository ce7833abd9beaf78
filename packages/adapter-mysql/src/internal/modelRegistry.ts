import * as SqlClient from "@effect/sql/SqlClient"
import { ModelRegistry } from "@spotfleet/engine"
import { Clock, Effect, Option } from "effect"
import * as Errors from "./errors.js"
import * as SqlRun from "./sqlRun.js"

type Row = Record<string, unknown>

const columns = "name, version, artifact_digest, input_layout_version, status, traffic_share, confidence_threshold, " +
  "created_at, activated_at, retired_at"

const num = (v: unknown) => (v === null || v === undefined ? null : Number(v))

const decode = (r: Row): ModelRegistry.ModelVersion =>
  ModelRegistry.ModelVersion.make({
    name: String(r.name),
    version: String(r.version),
    artifactDigest: String(r.artifact_digest),
    inputLayoutVersion: Number(r.input_layout_version),
    status: String(r.status) as ModelRegistry.ModelStatus,
    trafficShare: Number(r.traffic_share),
    confidenceThreshold: Number(r.confidence_threshold),
    createdAt: Number(r.created_at),
    activatedAt: num(r.activated_at),
    retiredAt: num(r.retired_at)
  })

const notFound = (name: string, version: string) =>
  new ModelRegistry.RegistryError({ model: `${name}@${version}`, reason: "no such version" })

export const make = Effect.gen(function*() {
  const { exec, query, run, sql } = SqlRun.helpers(yield* SqlClient.SqlClient)

  const all = (name: string) => Effect.map(query(`SELECT ${columns} FROM models WHERE name = ? ORDER BY created_at, version`, [name]), (rs) => rs.map(decode))
  /** Every version of the name, rows locked: every write to a name serialises on these locks. */
  const lockAll = (name: string) =>
    Effect.map(query(`SELECT ${columns} FROM models WHERE name = ? ORDER BY created_at, version FOR UPDATE`, [name]), (rs) => rs.map(decode))
  const one = (versions: ReadonlyArray<ModelRegistry.ModelVersion>, name: string, version: string) => {
    const v = versions.find((x) => x.version === version)
    return v === undefined ? Effect.fail(notFound(name, version)) : Effect.succeed(v)
  }
  const reread = (name: string, version: string) =>
    Effect.map(query(`SELECT ${columns} FROM models WHERE name = ? AND version = ?`, [name, version]), (rs) => decode(rs[0]!))

  const service: ModelRegistry.ModelRegistryService = {
    register: (input) =>
      Effect.gen(function*() {
        const invalid = ModelRegistry.validateRegister(input)
        if (invalid !== null) return yield* invalid
        const now = yield* Clock.currentTimeMillis
        const inserted = yield* Effect.either(exec(
          `INSERT INTO models (name, version, artifact_digest, input_layout_version, status, traffic_share, confidence_threshold, created_at)
           VALUES (?, ?, ?, ?, 'registered', 0, ?, ?)`,
          [input.name, input.version, input.artifactDigest, input.inputLayoutVersion, input.confidenceThreshold ?? 0.7, now]
        ))
        if (inserted._tag === "Left") {
          if (Errors.duplicateKeyName(inserted.left) !== null) {
            return yield* new ModelRegistry.RegistryError({ model: `${input.name}@${input.version}`, reason: "version already registered" })
          }
          return yield* inserted.left
        }
        return yield* reread(input.name, input.version)
      }).pipe((e) => run("registerModel", e)),
    get: (name, version) =>
      run("getModel", Effect.map(query(`SELECT ${columns} FROM models WHERE name = ? AND version = ?`, [name, version]), (rs) =>
        rs.length === 0 ? Option.none() : Option.some(decode(rs[0]!)))),
    list: (name) =>
      run(
        "listModels",
        Effect.map(
          name === undefined
            ? query(`SELECT ${columns} FROM models ORDER BY created_at, name, version`)
            : query(`SELECT ${columns} FROM models WHERE name = ? ORDER BY created_at, version`, [name]),
          (rs) => rs.map(decode)
        )
      ),
    shadow: (name, version) =>
      run("shadowModel", sql.withTransaction(Effect.gen(function*() {
        const v = yield* one(yield* lockAll(name), name, version)
        if (v.status !== "registered" && v.status !== "shadow") {
          return yield* new ModelRegistry.RegistryError({ model: `${name}@${version}`, reason: `a ${v.status} version cannot shadow` })
        }
        yield* exec("UPDATE models SET status = 'shadow' WHERE name = ? AND version = ?", [name, version])
        return yield* reread(name, version)
      }))),
    setTrafficShare: (name, version, share) =>
      run("setTrafficShare", sql.withTransaction(Effect.gen(function*() {
        const versions = yield* lockAll(name)
        const v = yield* one(versions, name, version)
        const invalid = ModelRegistry.shareError(versions, v, share)
        if (invalid !== null) return yield* invalid
        yield* exec("UPDATE models SET traffic_share = ? WHERE name = ? AND version = ?", [share, name, version])
        return yield* reread(name, version)
      }))),
    activate: (name, version) =>
      run("activateModel", sql.withTransaction(Effect.gen(function*() {
        const v = yield* one(yield* lockAll(name), name, version)
        if (v.status === "active") return v
        const now = yield* Clock.currentTimeMillis
        yield* exec("UPDATE models SET status = 'retired', retired_at = ?, traffic_share = 0 WHERE name = ? AND status = 'active'", [now, name])
        yield* exec(
          "UPDATE models SET status = 'active', activated_at = ?, retired_at = NULL, traffic_share = 0 WHERE name = ? AND version = ?",
          [now, name, version]
        )
        yield* exec(
          "INSERT INTO model_active (name, version, activated_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = ?, activated_at = ?",
          [name, version, now, version, now]
        )
        const top = yield* query("SELECT COALESCE(MAX(seq), 0) AS seq FROM model_activations WHERE name = ?", [name])
        yield* exec("INSERT INTO model_activations (name, seq, version, activated_at) VALUES (?, ?, ?, ?)", [
          name,
          Number(top[0]!.seq) + 1,
          version,
          now
        ])
        return yield* reread(name, version)
      }))),
    rollback: (name) =>
      run("rollbackModel", sql.withTransaction(Effect.gen(function*() {
        yield* lockAll(name)
        const stack = yield* query("SELECT seq, version FROM model_activations WHERE name = ? ORDER BY seq DESC LIMIT 2", [name])
        if (stack.length < 2) {
          return yield* new ModelRegistry.RegistryError({ model: name, reason: "no previously active version to roll back to" })
        }
        const now = yield* Clock.currentTimeMillis
        const [current, previous] = [String(stack[0]!.version), String(stack[1]!.version)]
        yield* exec("DELETE FROM model_activations WHERE name = ? AND seq = ?", [name, stack[0]!.seq])
        yield* exec("UPDATE models SET status = 'retired', retired_at = ?, traffic_share = 0 WHERE name = ? AND version = ?", [now, name, current])
        yield* exec(
          "UPDATE models SET status = 'active', activated_at = ?, retired_at = NULL, traffic_share = 0 WHERE name = ? AND version = ?",
          [now, name, previous]
        )
        yield* exec("UPDATE model_active SET version = ?, activated_at = ? WHERE name = ?", [previous, now, name])
        return yield* reread(name, previous)
      }))),
    retire: (name, version) =>
      run("retireModel", sql.withTransaction(Effect.gen(function*() {
        const v = yield* one(yield* lockAll(name), name, version)
        if (v.status === "active") {
          return yield* new ModelRegistry.RegistryError({
            model: `${name}@${version}`,
            reason: "the active version is replaced by activate or rollback, not retired"
          })
        }
        const now = yield* Clock.currentTimeMillis
        yield* exec("UPDATE models SET status = 'retired', retired_at = ?, traffic_share = 0 WHERE name = ? AND version = ?", [now, name, version])
        return yield* reread(name, version)
      }))),
    routing: (name) => run("modelRouting", Effect.map(all(name), (vs) => ModelRegistry.routingOf(name, vs)))
  }
  return service
})
