import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import { defaultConfig, AgentConfig } from "../src/Agent.js"
import * as DecisionModel from "../src/DecisionModel.js"
import * as GuardRails from "../src/GuardRails.js"
import * as Pool from "../src/Pool.js"

const target = Pool.make("t3.medium", "us-east-1b")
const good = DecisionModel.Decision.make({
  action: "SWITCH",
  targetPool: target,
  confidence: 0.9,
  reasoning: "cheaper",
  expectedSavingsPercent: 30,
  risk: 0.1
})
const calm: GuardRails.GuardContext = {
  config: defaultConfig,
  switchesLastDay: 0,
  switchesLastWeek: 0,
  hoursInPool: 24,
  noticeInProgress: false,
  flowInProgress: false
}

// Each case changes one input so that exactly one guard fails.
const cases: ReadonlyArray<[GuardRails.GuardName, DecisionModel.Decision, GuardRails.GuardContext]> = [
  ["confidence", DecisionModel.Decision.make({ ...good, confidence: 0.69 }), calm],
  ["savings", DecisionModel.Decision.make({ ...good, expectedSavingsPercent: 14.9 }), calm],
  ["risk", DecisionModel.Decision.make({ ...good, risk: 0.31 }), calm],
  ["dailyCap", good, { ...calm, switchesLastDay: 3 }],
  ["weeklyCap", good, { ...calm, switchesLastWeek: 10 }],
  ["minPoolDuration", good, { ...calm, hoursInPool: 1.99 }],
  ["enabled", good, { ...calm, config: AgentConfig.make({ ...defaultConfig, enabled: false }) }],
  ["noNotice", good, { ...calm, noticeInProgress: true }],
  ["noFlowInProgress", good, { ...calm, flowInProgress: true }]
]

describe("GuardRails", () => {
  it("a good decision in a calm context passes every guard", () => {
    const verdicts = GuardRails.evaluate(good, calm)
    assert.strictEqual(verdicts.length, 9)
    assert.isTrue(GuardRails.allows(good, verdicts))
  })

  for (const [guard, decision, context] of cases) {
    it(`${guard} alone blocks a switch the other guards allow`, () => {
      const verdicts = GuardRails.evaluate(decision, context)
      assert.deepStrictEqual(verdicts.filter((v) => !v.passed).map((v) => v.guard), [guard])
      assert.isFalse(GuardRails.allows(decision, verdicts))
    })
  }

  it("every guard has a case", () => {
    assert.deepStrictEqual(cases.map((c) => c[0]).sort(), GuardRails.evaluate(good, calm).map((v) => v.guard).sort())
  })

  it("only SWITCH decisions are guarded, and never allowed to act otherwise", () => {
    const stay = DecisionModel.Decision.make({ ...good, action: "STAY", targetPool: null })
    assert.deepStrictEqual(GuardRails.evaluate(stay, calm), [])
    assert.isFalse(GuardRails.allows(stay, []))
  })
})

describe("DecisionModel", () => {
  const features = (candidates: ReadonlyArray<[Pool.PoolId, number, number]>, noticeInProgress = false) =>
    DecisionModel.Features.make({
      layoutVersion: 1,
      agentId: "a",
      currentPool: Pool.make("t3.medium", "us-east-1a"),
      currentPrice: 0.04,
      onDemandPrice: 0.0416,
      volatility: 0.05,
      hoursInPool: 10,
      noticeInProgress,
      candidates: candidates.map(([pool, price, interruptionsPerDay]) =>
        DecisionModel.Candidate.make({ pool, price, medianBootSeconds: 40, interruptionsPerDay, interruptionBand: null }))
    })

  it.effect("the rule-based model switches to the best risk-weighted saving", () =>
    Effect.gen(function*() {
      const d = yield* DecisionModel.ruleBased.decide(features([
        [target, 0.02, 3], // 50% cheaper but risky: score 50 × 0.25
        [Pool.make("t3.medium", "us-east-1c"), 0.028, 0] // 30% cheaper, safe: score 30
      ]))
      assert.strictEqual(d.action, "SWITCH")
      assert.strictEqual(d.targetPool, "t3.medium.us-east-1c")
      assert.closeTo(d.expectedSavingsPercent!, 30, 1e-9)
      assert.strictEqual(d.risk, 0)
      assert.isAbove(d.confidence, 0.7)
      const stay = yield* DecisionModel.ruleBased.decide(features([[target, 0.039, 0]]))
      assert.strictEqual(stay.action, "STAY")
      const wait = yield* DecisionModel.ruleBased.decide(features([[target, 0.01, 0]], true))
      assert.strictEqual(wait.action, "WAIT")
    }))

  it.effect("a model past its time budget yields WAIT and a timeout, never a stuck loop", () =>
    Effect.gen(function*() {
      const slow: DecisionModel.DecisionModelService = {
        name: "slow",
        version: "1",
        decide: () => Effect.as(Effect.sleep("2 seconds"), good)
      }
      const fiber = yield* Effect.fork(DecisionModel.decideWithin(slow, features([])))
      yield* TestClock.adjust("450 millis")
      const timed = yield* Fiber.join(fiber)
      assert.isTrue(timed.timedOut)
      assert.strictEqual(timed.decision.action, "WAIT")
      assert.strictEqual(timed.latencyMillis, 450)
      const failing: DecisionModel.DecisionModelService = {
        name: "broken",
        version: "1",
        decide: () => Effect.fail(new DecisionModel.ModelError({ model: "broken", reason: "bad output" }))
      }
      const failed = yield* DecisionModel.decideWithin(failing, features([]))
      assert.strictEqual(failed.decision.action, "WAIT")
      assert.strictEqual(failed.error, "bad output")
      const fast = yield* DecisionModel.decideWithin(DecisionModel.ruleBased, features([[target, 0.02, 0]]))
      assert.isFalse(fast.timedOut)
      assert.strictEqual(fast.decision.action, "SWITCH")
    }))
})
