import { assert } from "@effect/vitest"
import { DecisionLog, DecisionModel, Ids, Pool } from "@spotfleet/engine"
import { Effect, Layer } from "effect"
import * as MysqlDecisionLog from "../src/MysqlDecisionLog.js"
import { describeMysql, it, layerDatabase } from "./utils.js"

const current = Pool.make("t3.medium", "us-east-1a")
const target = Pool.make("t3.medium", "us-east-1b")
const tenantId = Ids.TenantId.make("tenant-1")
const agentId = Ids.AgentId.make("agent-1")

const record = (id: string, createdAt: number, patch: Partial<ConstructorParameters<typeof DecisionLog.DecisionRecord>[0]> = {}) =>
  DecisionLog.DecisionRecord.make({
    id,
    tenantId,
    agentId,
    model: "rule-based",
    modelVersion: "1",
    mode: "active",
    createdAt,
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
      action: "SWITCH",
      targetPool: target,
      confidence: 0.93,
      reasoning: "70% cheaper, low risk",
      expectedSavingsPercent: 69.95,
      risk: 0.05
    }),
    latencyMillis: 3.5,
    timedOut: false,
    error: null,
    verdicts: [DecisionLog.GuardVerdict.make({ guard: "confidence", passed: true, detail: "0.93 ≥ 0.70" })],
    allowed: true,
    dryRun: true,
    acted: false,
    flowId: null,
    note: "dry run: would switch",
    ...patch
  })

describeMysql("MysqlDecisionLog", () => {
  it.layer(MysqlDecisionLog.layer.pipe(Layer.provideMerge(layerDatabase())), { timeout: "60 seconds" })((it) => {
    it.effect("appends records and lists them back unchanged, newest first, by tenant, agent and time", () =>
      Effect.gen(function*() {
        const log = yield* DecisionLog.DecisionLog
        const a = record("dec-a", 1_000)
        const b = record("dec-b", 2_000, {
          decision: DecisionModel.Decision.make({ action: "STAY", targetPool: null, confidence: 0.6, reasoning: "no better pool", expectedSavingsPercent: null, risk: null }),
          allowed: false,
          dryRun: false,
          note: null,
          mode: "shadow",
          timedOut: true,
          error: "timeout"
        })
        const other = record("dec-c", 3_000, { agentId: Ids.AgentId.make("agent-2"), acted: true, flowId: "flow-1", dryRun: false, note: null })
        yield* log.append(a)
        yield* log.append(b)
        yield* log.append(other)
        yield* log.append(record("dec-d", 4_000, { tenantId: Ids.TenantId.make("tenant-2") }))
        assert.deepStrictEqual(yield* log.list(tenantId), [other, b, a])
        assert.deepStrictEqual(yield* log.list(tenantId, { agentId }), [b, a])
        assert.deepStrictEqual(yield* log.list(tenantId, { since: 2_000 }), [other, b])
        assert.deepStrictEqual(yield* log.list(tenantId, { limit: 1 }), [other])
      }))
  })
})
