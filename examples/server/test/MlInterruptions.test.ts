/**
 * `spotfleet ml export-dataset --interruptions`: the dataset's bands come from the AWS Spot
 * Instance Advisor feed (the real one beside the repository), and a bad feed is said in one line.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp, readFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { run } from "../src/cli/Cli.js"

const feed = process.env.SPOTFLEET_SPOT_ADVISOR ??
  fileURLToPath(new URL("../../../../shared/data/spot-advisor-data.json", import.meta.url))
const haveFeed = existsSync(feed)
if (!haveFeed) {
  if (process.env.CI === "true") throw new Error(`CI: the Spot Advisor feed is missing at ${feed}`)
  console.warn(`!! SKIPPED: the Spot Advisor feed is not at ${feed} (set SPOTFLEET_SPOT_ADVISOR)`)
}

const cli = (...args: Array<string>) => run(["node", "spotfleet", ...args]).pipe(Effect.provide(NodeContext.layer))

describe("spotfleet ml export-dataset --interruptions", () => {
  it.live("a feed that cannot be read fails naming the option and the file", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "spotfleet-ml-int-")))
      const exit = yield* Effect.exit(cli("ml", "export-dataset", "--generated", "--interruptions", "/nonexistent/feed.json", "--out", dir))
      assert.isTrue(Exit.isFailure(exit))
      assert.match(String(Exit.isFailure(exit) ? exit.cause : ""), /--interruptions: interruption data from \/nonexistent\/feed\.json: cannot read/)
    }))

  it.live.skipIf(!haveFeed)("the manifest records the feed and each pool's band from it", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "spotfleet-ml-int-")))
      yield* cli("ml", "export-dataset", "--generated", "--window-days", "3", "--interruptions", feed, "--out", dir)
      const manifest = JSON.parse(yield* Effect.promise(() => readFile(path.join(dir, "manifest.json"), "utf8")))
      const raw = JSON.parse(readFileSync(feed, "utf8"))
      const band = raw.spot_advisor["us-east-1"].Linux["c5a.2xlarge"].r
      assert.strictEqual(manifest.interruptions.kind, "spot-advisor")
      assert.deepStrictEqual(Object.values(manifest.interruptions.bands), manifest.pools.map(() => band))
      const csv = (yield* Effect.promise(() => readFile(path.join(dir, "dataset.csv"), "utf8"))).split("\n")
      const header = csv[0]!.split(",")
      const row = csv[1]!.split(",")
      assert.strictEqual(Number(row[header.indexOf("bandKnown")]), 1)
      assert.strictEqual(Number(row[header.indexOf("risk")]), band / 4)
    }))
})
