import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Option } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as DecisionModel from "../src/DecisionModel.js"
import * as GuardRails from "../src/GuardRails.js"
import { defaultConfig } from "../src/Agent.js"
import * as InterruptionData from "../src/InterruptionData.js"
import * as Pool from "../src/Pool.js"

const feed = {
  instance_types: { "c5a.2xlarge": { emr: true, cores: 8, ram_gb: 16 } },
  ranges: [
    { index: 0, label: "<5%", dots: 0, max: 5 },
    { index: 1, label: "5-10%", dots: 1, max: 11 },
    { index: 2, label: "10-15%", dots: 2, max: 16 },
    { index: 3, label: "15-20%", dots: 3, max: 22 },
    { index: 4, label: ">20%", dots: 4, max: 100 }
  ],
  spot_advisor: {
    "us-east-1": {
      Linux: { "c5a.2xlarge": { s: 53, r: 2 }, "t3.medium": { s: 70, r: 0 } },
      Windows: { "c5a.2xlarge": { s: 41, r: 4 } }
    }
  },
  global_rate: "<10%"
}

describe("InterruptionData", () => {
  it("decodes the Spot Advisor format and looks up by region, product and type", () => {
    const table = Either.getOrThrow(InterruptionData.decode(feed))
    const linux = InterruptionData.lookupIn(table, { region: "us-east-1", instanceType: "c5a.2xlarge" })
    assert.deepStrictEqual(Option.getOrThrow(linux), {
      region: "us-east-1", os: "Linux", instanceType: "c5a.2xlarge", band: 2, label: "10-15%", savingsPercent: 53
    })
    const windows = InterruptionData.lookupIn(table, { region: "us-east-1", instanceType: "c5a.2xlarge", product: "Windows" })
    assert.strictEqual(Option.getOrThrow(windows).band, 4)
    assert.strictEqual(Option.getOrThrow(windows).label, ">20%")
    // Red Hat and SUSE are Linux rows in the feed.
    const suse = InterruptionData.lookupIn(table, { region: "us-east-1", instanceType: "c5a.2xlarge", product: "SUSE Linux" })
    assert.strictEqual(Option.getOrThrow(suse).band, 2)
    assert.isTrue(Option.isNone(InterruptionData.lookupIn(table, { region: "eu-west-1", instanceType: "c5a.2xlarge" })))
  })

  it("rejects a band outside 0–4 and a feed without spot_advisor, naming the place", () => {
    const bad = InterruptionData.decode({ spot_advisor: { "us-east-1": { Linux: { "t3.medium": { s: 70, r: 7 } } } } }, "feed.json")
    assert.isTrue(Either.isLeft(bad))
    if (Either.isLeft(bad)) {
      assert.include(bad.left.message, "feed.json")
      assert.include(bad.left.message, "t3.medium")
    }
    assert.isTrue(Either.isLeft(InterruptionData.decode({ ranges: [] })))
    const text = InterruptionData.decodeText("{not json", "x.json")
    assert.isTrue(Either.isLeft(text) && text.left.reason.startsWith("not JSON"))
  })

  it.effect("the service answers by pool id; layerEmpty and no service answer none", () =>
    Effect.gen(function*() {
      const table = Either.getOrThrow(InterruptionData.decode(feed))
      const svc = InterruptionData.make(table)
      const found = yield* svc.forPool(Pool.make("t3.medium", "us-east-1c"))
      assert.strictEqual(Option.getOrThrow(found).band, 0)
      assert.isTrue(Option.isNone(yield* svc.forPool("not-a-pool")))
      const viaTag = yield* InterruptionData.bandOfPool(Pool.make("c5a.2xlarge", "us-east-1a")).pipe(
        Effect.provide(InterruptionData.layer(table))
      )
      assert.strictEqual(Option.getOrThrow(viaTag).band, 2)
      const empty = yield* InterruptionData.bandOfPool(Pool.make("c5a.2xlarge", "us-east-1a")).pipe(
        Effect.provide(InterruptionData.layerEmpty)
      )
      assert.isTrue(Option.isNone(empty))
      assert.isTrue(Option.isNone(yield* InterruptionData.bandOfPool(Pool.make("c5a.2xlarge", "us-east-1a"))))
    }))

  it("the risk guard refuses a band-4 target that a band-0 target passes, whatever the model says", () => {
    const decision = DecisionModel.Decision.make({
      action: "SWITCH", targetPool: Pool.make("t3.medium", "us-east-1b"), confidence: 0.9, reasoning: "cheaper",
      expectedSavingsPercent: 30, risk: 0
    })
    const ctx = (band: number | null, currentRisk?: number): GuardRails.GuardContext => ({
      config: defaultConfig, switchesLastDay: 0, switchesLastWeek: 0, hoursInPool: 24,
      noticeInProgress: false, flowInProgress: false, targetBand: band, targetBandLabel: band === 4 ? ">20%" : null, currentRisk
    })
    const risk = (band: number | null, currentRisk?: number) =>
      GuardRails.evaluate(decision, ctx(band, currentRisk)).find((v) => v.guard === "risk")!
    assert.isTrue(risk(0).passed)
    assert.isTrue(risk(null).passed)
    assert.isFalse(risk(4).passed)
    assert.include(risk(4).detail, "band 4 \">20%\"")
    assert.isTrue(risk(1).passed) // 0.25 ≤ default 0.3
    assert.isFalse(risk(2).passed) // 0.5
    // Relative to where the workload is: no riskier than the current pool passes, riskier does not.
    assert.isFalse(risk(4, 0).passed)
    assert.isFalse(risk(4, 0.75).passed)
    assert.isTrue(risk(4, 1).passed)
    assert.include(risk(4, 1).detail, "current pool 1.00")
    assert.isTrue(risk(2, 0.5).passed)
    // The one rule: a low band never hides observed interruptions.
    const c = (band: number | null, perDay: number) =>
      DecisionModel.Candidate.make({ pool: Pool.make("t3.medium", "us-east-1b"), price: 1, medianBootSeconds: null, interruptionsPerDay: perDay, interruptionBand: band })
    assert.strictEqual(DecisionModel.riskOf(c(4, 0)), 1)
    assert.strictEqual(DecisionModel.riskOf(c(0, 0)), 0)
    assert.strictEqual(DecisionModel.riskOf(c(0, 2)), 0.5)
  })
})

// The real feed: the AWS Spot Instance Advisor data beside the repository (read only).
const realFeed = process.env.SPOTFLEET_SPOT_ADVISOR ??
  fileURLToPath(new URL("../../../../shared/data/spot-advisor-data.json", import.meta.url))
const haveReal = existsSync(realFeed)
if (!haveReal) {
  if (process.env.CI === "true") throw new Error(`CI: the Spot Advisor feed is missing at ${realFeed}`)
  console.warn(`!! SKIPPED: the Spot Advisor feed is not at ${realFeed} (set SPOTFLEET_SPOT_ADVISOR)`)
}

describe.skipIf(!haveReal)("InterruptionData on the real Spot Advisor feed", () => {
  it("decodes every entry of every region with its band and label", () => {
    const text = readFileSync(realFeed, "utf8")
    const table = Either.getOrThrow(InterruptionData.decodeText(text, realFeed))
    const raw = JSON.parse(text) as { spot_advisor: Record<string, Record<string, Record<string, { r: number; s: number }>>> }
    let expected = 0
    for (const byOs of Object.values(raw.spot_advisor)) {
      for (const [os, byType] of Object.entries(byOs)) if (os === "Linux" || os === "Windows") expected += Object.keys(byType).length
    }
    assert.strictEqual(table.entries.size, expected)
    assert.isAbove(expected, 20_000)
    assert.deepStrictEqual(table.labels, ["<5%", "5-10%", "10-15%", "15-20%", ">20%"])
    const bands = new Set([...table.entries.values()].map((e) => e.band))
    assert.deepStrictEqual([...bands].sort(), [0, 1, 2, 3, 4])
    const c5a = Option.getOrThrow(InterruptionData.lookupIn(table, { region: "us-east-1", instanceType: "c5a.2xlarge" }))
    assert.strictEqual(c5a.band, raw.spot_advisor["us-east-1"]!.Linux!["c5a.2xlarge"]!.r)
    assert.strictEqual(c5a.savingsPercent, raw.spot_advisor["us-east-1"]!.Linux!["c5a.2xlarge"]!.s)
  })
})
