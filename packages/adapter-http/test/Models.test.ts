/**
 * The model registry over HTTP, on the in-memory store and on MariaDB (`TEST_MYSQL_URL`, default
 * `mysql://root@127.0.0.1:3306`, a fresh database dropped after): register uploaded ONNX
 * artifacts (checked by the real onnxruntime validation of @spotfleet/ml-onnx, injected as
 * `ModelArtifacts` the way the example server does), list, shadow, A/B share, activate, roll back;
 * wrong models are a 400; tenant tokens read but cannot change; per-model performance.
 */
import { assert, describe, layer } from "@effect/vitest"
import { ModelsLive } from "@spotfleet/adapter-http"
import { MysqlDecisionLog, MysqlModelRegistry, MysqlStore } from "@spotfleet/adapter-mysql"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { DecisionLog, DecisionModel, Ids, MemoryStore, ModelRegistry, Pool } from "@spotfleet/engine"
import { ArtifactStore, FeatureLayout, OnnxDecisionModel, Trainer } from "@spotfleet/ml-onnx"
import { Effect, Layer } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { adminToken, call, createTenant, serverLayer } from "./utils.js"

const model = (weights: ReadonlyArray<number>) =>
  Trainer.toOnnx({ layoutVersion: FeatureLayout.VERSION, featureNames: weights.map((_, i) => `f${i}`), weights, bias: -0.5 })
const fitting = (seed: number) => model(Array.from({ length: FeatureLayout.WIDTH }, (_, i) => ((i * 7 + seed) % 11) / 20 - 0.25))
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64")

const artifactsLayer = Layer.sync(ModelsLive.ModelArtifacts, () => {
  const store = ArtifactStore.make(mkdtempSync(path.join(tmpdir(), "spotfleet-models-")))
  return {
    accept: ({ bytes, name, version }) =>
      ArtifactStore.validate(bytes, `${name}@${version}`).pipe(
        Effect.tap(() => store.save(bytes)),
        Effect.mapError((e) => new ModelsLive.ModelArtifactRejected({ reason: e.reason }))
      )
  }
})

const current = Pool.make("t3.medium", "us-east-1a")
const target = Pool.make("t3.medium", "us-east-1b")

/** The whole registry story for one model name. */
const lifecycle = (name: string) =>
  Effect.gen(function*() {
    const tenant = yield* createTenant(`models-${crypto.randomUUID()}`)
    const v1 = fitting(1)
    const v2 = fitting(2)

    // tenant tokens read, never change
    const denied = yield* call("POST", "/api/admin/models", { token: tenant.token, body: { name, version: "1", artifact: b64(v1) } })
    assert.strictEqual(denied.status, 401)
    const deniedActivate = yield* call("POST", `/api/admin/models/${name}/versions/1/activate`, { token: tenant.token })
    assert.strictEqual(deniedActivate.status, 401)
    const deniedRollback = yield* call("POST", `/api/admin/models/${name}/rollback`, { token: tenant.token })
    assert.strictEqual(deniedRollback.status, 401)

    const r1 = yield* call("POST", "/api/admin/models", { token: adminToken, body: { name, version: "1", artifact: b64(v1) } })
    assert.strictEqual(r1.status, 201, r1.text)
    assert.strictEqual(r1.body.status, "registered")
    assert.strictEqual(r1.body.artifactDigest, OnnxDecisionModel.digestOf(v1))
    assert.strictEqual(r1.body.inputLayoutVersion, FeatureLayout.VERSION)
    assert.strictEqual(r1.body.confidenceThreshold, 0.7)
    const r2 = yield* call("POST", "/api/admin/models", {
      token: adminToken,
      body: { name, version: "2", artifact: b64(v2), confidenceThreshold: 0.8 }
    })
    assert.strictEqual(r2.status, 201, r2.text)
    const again = yield* call("POST", "/api/admin/models", { token: adminToken, body: { name, version: "2", artifact: b64(v2) } })
    assert.strictEqual(again.status, 409)

    const listed = yield* call("GET", `/api/models?name=${name}`, { token: tenant.token })
    assert.strictEqual(listed.status, 200)
    assert.deepStrictEqual(listed.body.models.map((m: any) => [m.version, m.status, m.trafficShare, m.confidenceThreshold]), [
      ["1", "registered", 0, 0.7],
      ["2", "registered", 0, 0.8]
    ])

    const act1 = yield* call("POST", `/api/admin/models/${name}/versions/1/activate`, { token: adminToken })
    assert.strictEqual(act1.status, 200, act1.text)
    assert.strictEqual(act1.body.status, "active")
    const shadow = yield* call("POST", `/api/admin/models/${name}/versions/2/shadow`, { token: adminToken })
    assert.strictEqual(shadow.status, 200, shadow.text)
    assert.strictEqual(shadow.body.status, "shadow")
    const share = yield* call("PUT", `/api/admin/models/${name}/versions/2/share`, { token: adminToken, body: { share: 0.3 } })
    assert.strictEqual(share.status, 200, share.text)
    assert.strictEqual(share.body.trafficShare, 0.3)
    const tooMuch = yield* call("PUT", `/api/admin/models/${name}/versions/1/share`, { token: adminToken, body: { share: 0.3 } })
    assert.strictEqual(tooMuch.status, 409)
    assert.strictEqual(tooMuch.body.error.code, "RegistryConflict")

    const act2 = yield* call("POST", `/api/admin/models/${name}/versions/2/activate`, { token: adminToken })
    assert.strictEqual(act2.status, 200, act2.text)
    const afterActivate = yield* call("GET", `/api/admin/models?name=${name}`, { token: adminToken })
    assert.deepStrictEqual(afterActivate.body.models.map((m: any) => [m.version, m.status, m.trafficShare]), [
      ["1", "retired", 0],
      ["2", "active", 0]
    ])

    const rollback = yield* call("POST", `/api/admin/models/${name}/rollback`, { token: adminToken })
    assert.strictEqual(rollback.status, 200, rollback.text)
    assert.strictEqual(rollback.body.version, "1")
    assert.strictEqual(rollback.body.status, "active")
    const afterRollback = yield* call("GET", `/api/models?name=${name}`, { token: tenant.token })
    assert.deepStrictEqual(afterRollback.body.models.map((m: any) => [m.version, m.status]), [["1", "active"], ["2", "retired"]])
    const noMore = yield* call("POST", `/api/admin/models/${name}/rollback`, { token: adminToken })
    assert.strictEqual(noMore.status, 409)
    const unknown = yield* call("POST", `/api/admin/models/${name}/versions/9/activate`, { token: adminToken })
    assert.strictEqual(unknown.status, 404)

    // performance from the decision log
    const log = yield* DecisionLog.DecisionLog
    const agentId = Ids.AgentId.make(`agent-${crypto.randomUUID()}`)
    const now = Date.now()
    for (const [i, confidence] of [0.95, 0.55, 0.91].entries()) {
      yield* log.append(DecisionLog.DecisionRecord.make({
        id: `dec-${crypto.randomUUID()}`,
        tenantId: Ids.TenantId.make(tenant.id),
        agentId,
        model: name,
        modelVersion: "1",
        mode: "active",
        createdAt: now - 1000 + i,
        features: DecisionModel.Features.make({
          layoutVersion: 1,
          agentId,
          currentPool: current,
          currentPrice: 0.0416,
          onDemandPrice: 0.0416,
          volatility: 0.02,
          hoursInPool: 5.5,
          noticeInProgress: false,
          candidates: [DecisionModel.Candidate.make({ pool: target, price: 0.0125, medianBootSeconds: 41, interruptionsPerDay: 0, interruptionBand: 1 })]
        }),
        decision: DecisionModel.Decision.make({
          action: confidence > 0.9 ? "SWITCH" : "STAY",
          targetPool: confidence > 0.9 ? target : null,
          confidence,
          reasoning: "test",
          expectedSavingsPercent: null,
          risk: null
        }),
        latencyMillis: 2 + i,
        timedOut: false,
        error: null,
        verdicts: [],
        allowed: confidence > 0.9,
        dryRun: true,
        acted: false,
        flowId: null,
        note: null
      }))
    }
    const perf = yield* call("GET", `/api/models/performance?name=${name}`, { token: tenant.token })
    assert.strictEqual(perf.status, 200, perf.text)
    assert.strictEqual(perf.body.models.length, 1)
    const p = perf.body.models[0]
    assert.deepStrictEqual([p.version, p.mode, p.decisions, p.allowed, p.executed], ["1", "active", 3, 2, 0])
    assert.deepStrictEqual(p.byAction, { SWITCH: 2, STAY: 1 })
    assert.strictEqual(p.confidenceHistogram[9], 2)
    assert.strictEqual(p.confidenceHistogram[5], 1)
    assert.isNull(p.successRate)
    assert.isNumber(p.latencyP50Millis)
    const adminPerf = yield* call("GET", `/api/admin/models/performance?name=${name}`, { token: adminToken })
    assert.strictEqual(adminPerf.status, 200, adminPerf.text)
    assert.strictEqual(adminPerf.body.models[0].decisions, 3)
    const other = yield* createTenant(`models-other-${crypto.randomUUID()}`)
    const otherPerf = yield* call("GET", `/api/models/performance?name=${name}`, { token: other.token })
    assert.deepStrictEqual(otherPerf.body.models, [])
  })

const rejections = (name: string) =>
  Effect.gen(function*() {
    const narrow = model(Array.from({ length: FeatureLayout.WIDTH - 1 }, () => 0.1))
    const res = yield* call("POST", "/api/admin/models", { token: adminToken, body: { name, version: "bad", artifact: b64(narrow) } })
    assert.strictEqual(res.status, 400, res.text)
    assert.strictEqual(res.body.error.code, "InvalidModel")
    assert.match(res.body.error.message, new RegExp(`input "features" must be float32\\[batch, ${FeatureLayout.WIDTH}\\]`))
    assert.strictEqual(res.body.error.details.field, "artifact")
    const garbage = yield* call("POST", "/api/admin/models", { token: adminToken, body: { name, version: "junk", artifact: b64(new Uint8Array([1, 2, 3, 4])) } })
    assert.strictEqual(garbage.status, 400)
    assert.strictEqual(garbage.body.error.code, "InvalidModel")
    const notBase64 = yield* call("POST", "/api/admin/models", { token: adminToken, body: { name, version: "b64", artifact: "%%%" } })
    assert.strictEqual(notBase64.status, 400)
    const listed = yield* call("GET", `/api/admin/models?name=${name}`, { token: adminToken })
    assert.deepStrictEqual(listed.body.models, [])
  })

describe("model registry over HTTP (in memory)", () => {
  // The same layer object twice is built once: the test reads the server's own decision log.
  const stores = Layer.mergeAll(MemoryStore.layer, ModelRegistry.layerMemory, DecisionLog.layerMemory, artifactsLayer)
  layer(Layer.merge(serverLayer(stores), stores), {
    timeout: "30 seconds",
    excludeTestServices: true
  })((it) => {
    it.effect("register → list → shadow → share 30% → activate → rollback; performance from the decision log", () => lifecycle("switch-decision"))
    it.effect("a model with the wrong input shape, or no model at all, is a 400 and registers nothing", () => rejections("bad-models"))
  })

  layer(serverLayer(MemoryStore.layer), { timeout: "30 seconds", excludeTestServices: true })((it) => {
    it.effect("without a registry the routes answer 503", () =>
      Effect.gen(function*() {
        const tenant = yield* createTenant(`no-registry-${crypto.randomUUID()}`)
        const list = yield* call("GET", "/api/models", { token: tenant.token })
        assert.strictEqual(list.status, 503)
        assert.strictEqual(list.body.error.code, "NoModelRegistry")
        const reg = yield* call("POST", "/api/admin/models", { token: adminToken, body: { name: "m", version: "1", artifact: b64(fitting(1)) } })
        assert.strictEqual(reg.status, 503)
      }))
  })
})

const reachable = await MysqlTestDatabase.reachable("model registry HTTP tests on MariaDB")

if (!reachable) {
  describe.skip("model registry over HTTP (MariaDB)", () => {})
} else {
  const stores = Layer.mergeAll(MysqlStore.layer, MysqlModelRegistry.layer, MysqlDecisionLog.layer, artifactsLayer).pipe(
    Layer.provide(MysqlTestDatabase.layerClient({ prefix: "spotfleet_models" })),
    Layer.orDie
  )
  layer(Layer.merge(serverLayer(stores), stores), { timeout: "60 seconds", excludeTestServices: true })("model registry over HTTP (MariaDB)", (it) => {
    it.effect("register → list → shadow → share 30% → activate → rollback; performance from the decision log", () => lifecycle("switch-decision"))
    it.effect("a model with the wrong input shape, or no model at all, is a 400 and registers nothing", () => rejections("bad-models"))
  })
}
