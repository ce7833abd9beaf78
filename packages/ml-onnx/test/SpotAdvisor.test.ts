import { assert, describe, it } from "@effect/vitest"
import { InterruptionData, Pool } from "@spotfleet/engine"
import { Effect, Either, Exit, Option } from "effect"
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import * as Dataset from "../src/Dataset.js"
import * as Pipeline from "../src/Pipeline.js"
import * as SpotAdvisor from "../src/SpotAdvisor.js"
import * as Trainer from "../src/Trainer.js"

// The real feed: the AWS Spot Instance Advisor data beside the repository (read only, never copied).
const feedPath = process.env.SPOTFLEET_SPOT_ADVISOR ??
  fileURLToPath(new URL("../../../../shared/data/spot-advisor-data.json", import.meta.url))
const historyPath = process.env.SPOTFLEET_PRICE_HISTORY ??
  fileURLToPath(new URL("../../../../shared/data/spot-price-history-c5a.2xlarge-us-east-1.csv", import.meta.url))
const haveFeed = existsSync(feedPath)
if (!haveFeed) {
  if (process.env.CI === "true") throw new Error(`CI: the Spot Advisor feed is missing at ${feedPath}`)
  console.warn(`!! SKIPPED: the Spot Advisor feed is not at ${feedPath} (set SPOTFLEET_SPOT_ADVISOR)`)
}
const raw = haveFeed
  ? JSON.parse(readFileSync(feedPath, "utf8")) as { spot_advisor: Record<string, Record<string, Record<string, { r: number; s: number }>>> }
  : null

/** A loopback server answering every request with `body` and `status`. */
const serve = (body: string, status = 200) =>
  Effect.acquireRelease(
    Effect.async<{ url: string; close: () => void }>((resume) => {
      const server = createServer((_, res) => {
        res.writeHead(status, { "content-type": "application/json" })
        res.end(body)
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({ url: `http://127.0.0.1:${port}/spot-advisor-data.json`, close: () => server.close() }))
      })
    }),
    (s) => Effect.sync(() => s.close())
  )

describe("SpotAdvisor", () => {
  it.effect("a file that is missing or not the format fails with the path and the reason", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.exit(SpotAdvisor.fromFile("/nonexistent/spot-advisor-data.json"))
      assert.isTrue(Exit.isFailure(missing))
      const dir = mkdtempSync(join(tmpdir(), "advisor-"))
      writeFileSync(join(dir, "bad.json"), JSON.stringify({ spot_advisor: { "us-east-1": { Linux: { "t3.medium": { r: "high", s: 1 } } } } }))
      const bad = yield* Effect.flip(SpotAdvisor.fromFile(join(dir, "bad.json")))
      assert.strictEqual(bad._tag, "InterruptionDataError")
      assert.include(bad.message, join(dir, "bad.json"))
      assert.include(bad.message, "t3.medium")
    }))

  it.scoped("a URL that answers an error status fails with the URL and the status", () =>
    Effect.gen(function*() {
      const server = yield* serve("nope", 503)
      const error = yield* Effect.flip(SpotAdvisor.fromUrl(server.url))
      assert.include(error.message, server.url)
      assert.include(error.message, "HTTP 503")
    }))
})

describe.skipIf(!haveFeed)("SpotAdvisor on the real feed", () => {
  it.effect("the file layer answers the feed's band and savings for a pool", () =>
    Effect.gen(function*() {
      const data = yield* InterruptionData.InterruptionData
      const found = Option.getOrThrow(yield* data.forPool(Pool.make("c5a.2xlarge", "us-east-1b")))
      assert.strictEqual(found.band, raw!.spot_advisor["us-east-1"]!.Linux!["c5a.2xlarge"]!.r)
      assert.strictEqual(found.savingsPercent, raw!.spot_advisor["us-east-1"]!.Linux!["c5a.2xlarge"]!.s)
      const windows = Option.getOrThrow(yield* data.lookup({ region: "us-east-1", instanceType: "c5a.2xlarge", product: "Windows" }))
      assert.strictEqual(windows.band, raw!.spot_advisor["us-east-1"]!.Windows!["c5a.2xlarge"]!.r)
    }).pipe(Effect.provide(SpotAdvisor.layerFile(feedPath))))

  it.scoped("the URL source reads the same feed over HTTP (a loopback server)", () =>
    Effect.gen(function*() {
      const text = readFileSync(feedPath, "utf8")
      const server = yield* serve(text)
      const viaUrl = yield* SpotAdvisor.fromUrl(server.url)
      const viaFile = yield* SpotAdvisor.fromFile(feedPath)
      assert.strictEqual(viaUrl.sha256, viaFile.sha256)
      assert.strictEqual(viaUrl.table.entries.size, viaFile.table.entries.size)
    }))

  it("the dataset's candidates carry the feed's band and the rate derived from it, not random values", () => {
    const table = Either.getOrThrow(SpotAdvisor.fromText(readFileSync(feedPath, "utf8"), "feed")).table
    // Two instance types in two regions, so the bands differ where the feed says they do.
    const a = Dataset.generatePrices({ instanceType: "c5a.2xlarge", zones: ["us-east-1a", "us-east-1b"], days: 3, seed: 1 })
    const b = Dataset.generatePrices({ instanceType: "m5.large", zones: ["eu-west-1a"], days: 3, seed: 2 })
    const unknown = Dataset.generatePrices({ instanceType: "zz9.large", zones: ["us-east-1c"], days: 3, seed: 3 })
    const examples = Dataset.build([...a, ...b, ...unknown], { seed: 1 }, table)
    const bandOf = (type: string, region: string) => raw!.spot_advisor[region]!.Linux![type]!.r
    const expected = new Map<string, number | null>([
      ["c5a.2xlarge.us-east-1a", bandOf("c5a.2xlarge", "us-east-1")],
      ["c5a.2xlarge.us-east-1b", bandOf("c5a.2xlarge", "us-east-1")],
      ["m5.large.eu-west-1a", bandOf("m5.large", "eu-west-1")],
      ["zz9.large.us-east-1c", null]
    ])
    assert.isAbove(examples.length, 100)
    // Feature columns: 8 risk, 9 interruptionsPerDay ÷ 4, 10 bandKnown.
    for (const e of examples) {
      const band = expected.get(e.candidatePool)!
      assert.strictEqual(e.features[10], band === null ? 0 : 1, e.candidatePool)
      const rate = band === null ? 0 : Dataset.interruptionsPerDayOfBand(band)
      assert.closeTo(e.features[9]!, rate / 4, 1e-12)
      assert.closeTo(e.features[8]!, band === null ? 0 : band / 4, 1e-12)
    }
    // Without interruption data every band is unknown.
    assert.isTrue(Dataset.build(a, { seed: 1 }).every((e) => e.features[10] === 0 && e.features[8] === 0))
  })

  it.skipIf(!existsSync(historyPath))("the shipped model's card names the feed and the bands it was trained with", () => {
    const loaded = Either.getOrThrow(SpotAdvisor.fromText(readFileSync(feedPath, "utf8"), "feed"))
    const card = JSON.parse(readFileSync(fileURLToPath(new URL("../models/switch-decision-v1.json", import.meta.url)), "utf8")) as Pipeline.ModelCard
    assert.strictEqual(card.interruptions?.sha256, loaded.sha256)
    const source = Pipeline.historySource(readFileSync(historyPath, "utf8"), "history")
    assert.deepStrictEqual(card.interruptions?.bands, Pipeline.interruptionSource(loaded, source.points.map((p) => p.pool)).bands)
    // Retraining on the same data gives the shipped weights (deterministic trainer).
    const examples = Dataset.build(source.points, card.dataset, loaded.table)
    const model = Trainer.train(Trainer.splitByTime(examples, card.holdoutFraction).train)
    assert.deepStrictEqual(model.weights, card.weights)
    assert.strictEqual(model.bias, card.bias)
  })
})
