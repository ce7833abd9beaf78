/**
 * `spotfleet ml export-dataset --from-store` and `spotfleet ml train --register` against a
 * MariaDB test database: a small AWS-format export is backfilled into the canonical tier, exported
 * as a dataset from there, trained on, and the model registered as a new version.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { OnnxDecisionModel } from "@spotfleet/ml-onnx"
import { ConfigProvider, Effect, Layer } from "effect"
import { existsSync } from "node:fs"
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { run } from "../src/cli/Cli.js"

const reachable = await MysqlTestDatabase.reachable("spotfleet ml on MariaDB")

const T0 = Date.UTC(2024, 2, 1)
const HOUR = 3_600_000

/** 3 zones, 6 days, a price change every hour (deterministic, with spikes). */
const exportCsv = () => {
  const rows = ["Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone"]
  let seed = 3
  const next = () => ((seed = (seed * 16807) % 2147483647) / 2147483647)
  for (const zone of ["us-east-1a", "us-east-1b", "us-east-1c"]) {
    const level = 0.1 + next() * 0.1
    let price = level
    for (let h = 0; h < 6 * 24; h++) {
      price = Math.max(0.03, price + 0.2 * (level - price) + (next() - 0.5) * 0.02) * (next() < 0.03 ? 1.5 : 1)
      rows.push(`${new Date(T0 + h * HOUR).toISOString().replace("T", " ").replace(".000Z", "+00:00")},c5a.2xlarge,Linux/UNIX,${price.toFixed(6)},${zone}`)
    }
  }
  return rows.join("\n")
}

describe.skipIf(!reachable)("spotfleet ml on MariaDB", () => {
  it.live("export-dataset --from-store reads the canonical tier; train --register adds a registered version", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "spotfleet-ml-cli-")))
      const file = path.join(dir, "export.csv")
      yield* Effect.promise(() => writeFile(file, exportCsv()))
      const db = yield* Effect.promise(() => MysqlTestDatabase.create())
      const modelDir = path.join(dir, "models")
      const env = new Map([["MYSQL_URL", db.url], ["SPOTFLEET_MODEL_DIR", modelDir]])
      const cli = (...args: Array<string>) =>
        run(["node", "spotfleet", ...args]).pipe(
          Effect.provide(Layer.merge(NodeContext.layer, Layer.setConfigProvider(ConfigProvider.fromMap(env))))
        )
      try {
        yield* cli("backfill", "--file", file)
        const out = path.join(dir, "dataset")
        const end = String(T0 + 6 * 24 * HOUR)
        yield* cli(
          "ml", "export-dataset", "--from-store", "--to", end, "--window-days", "6", "--horizon-hours", "6", "--out", out,
          "--pool", "c5a.2xlarge.us-east-1a", "--pool", "c5a.2xlarge.us-east-1b", "--pool", "c5a.2xlarge.us-east-1c"
        )
        const manifest = JSON.parse(yield* Effect.promise(() => readFile(path.join(out, "manifest.json"), "utf8")))
        assert.match(manifest.source, /^canonical: canonical tier/)
        assert.deepStrictEqual(manifest.pools, ["c5a.2xlarge.us-east-1a", "c5a.2xlarge.us-east-1b", "c5a.2xlarge.us-east-1c"])
        assert.isAbove(manifest.examples, 50)

        const model = path.join(dir, "model.onnx")
        yield* cli("ml", "train", "--dataset", out, "--out", model, "--model-version", "7", "--epochs", "50", "--register")
        const bytes = new Uint8Array(yield* Effect.promise(() => readFile(model)))
        const digest = OnnxDecisionModel.digestOf(bytes)
        const [rows] = yield* Effect.promise(() =>
          MysqlTestDatabase.admin((c) => c.query(`SELECT * FROM \`${db.name}\`.models WHERE name = 'switch-decision'`))
        )
        const versions = rows as Array<Record<string, unknown>>
        assert.strictEqual(versions.length, 1)
        assert.strictEqual(versions[0]!.version, "7")
        assert.strictEqual(versions[0]!.status, "registered")
        assert.strictEqual(versions[0]!.artifact_digest, digest)
        assert.isTrue(existsSync(path.join(modelDir, `${digest.slice("sha256:".length)}.onnx`)))

        // a second registration of the same version is refused
        const again = yield* Effect.either(cli("ml", "train", "--dataset", out, "--out", model, "--model-version", "7", "--epochs", "50", "--register"))
        assert.isTrue(again._tag === "Left")
      } finally {
        yield* Effect.promise(db.drop)
        yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
      }
    }), 120_000)
})
