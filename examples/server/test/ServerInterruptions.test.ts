/**
 * `SPOTFLEET_SPOT_ADVISOR`: the server's interruption data from the real Spot Advisor feed beside
 * the repository; unset, nothing is known; a missing file stops the start with the path.
 */
import { assert, describe, it } from "@effect/vitest"
import { InterruptionData, Pool } from "@spotfleet/engine"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import * as ServerInterruptions from "../src/ServerInterruptions.js"

const feed = process.env.SPOTFLEET_SPOT_ADVISOR ??
  fileURLToPath(new URL("../../../../shared/data/spot-advisor-data.json", import.meta.url))
const haveFeed = existsSync(feed)
if (!haveFeed) {
  if (process.env.CI === "true") throw new Error(`CI: the Spot Advisor feed is missing at ${feed}`)
  console.warn(`!! SKIPPED: the Spot Advisor feed is not at ${feed} (set SPOTFLEET_SPOT_ADVISOR)`)
}

const withEnv = (env: ReadonlyArray<[string, string]>) =>
  ServerInterruptions.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(env)))))
const bandOf = (pool: Pool.PoolId) => Effect.flatMap(InterruptionData.InterruptionData, (d) => d.forPool(pool))
const pool = Pool.make("c5a.2xlarge", "us-east-1a")

describe("SPOTFLEET_SPOT_ADVISOR", () => {
  it.effect("unset: no band is known", () =>
    Effect.gen(function*() {
      assert.isTrue(Option.isNone(yield* bandOf(pool)))
    }).pipe(Effect.provide(withEnv([]))))

  it.effect("a file that is not there stops the start, naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Effect.provide(bandOf(pool), withEnv([["SPOTFLEET_SPOT_ADVISOR", "/nonexistent/advisor.json"]])))
      assert.include(error.message, "/nonexistent/advisor.json")
    }))

  it.effect.skipIf(!haveFeed)("a file: the feed's band for a pool", () =>
    Effect.gen(function*() {
      const raw = JSON.parse(readFileSync(feed, "utf8"))
      const found = yield* bandOf(pool)
      assert.strictEqual(Option.getOrThrow(found).band, raw.spot_advisor["us-east-1"].Linux["c5a.2xlarge"].r)
    }).pipe(Effect.provide(withEnv([["SPOTFLEET_SPOT_ADVISOR", feed]]))))
})
