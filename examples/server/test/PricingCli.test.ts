/**
 * `spotfleet backfill` and `spotfleet consolidate` against a MariaDB test database, on a small
 * AWS-format export written by the test (not the shared data).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { MysqlStore } from "@spotfleet/adapter-mysql"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { PriceStore } from "@spotfleet/engine"
import { Config, ConfigProvider, Effect, Layer } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { run } from "../src/cli/Cli.js"

const reachable = await MysqlTestDatabase.reachable("spotfleet backfill / consolidate on MariaDB")

// AWS records price changes only: 1a changes at 00:00 and 00:20, 1b once at 00:05 (newest first, as AWS exports).
const CSV = [
  "Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone",
  "2024-03-01 00:20:00+00:00,c5a.large,Linux/UNIX,0.041000,us-east-1a",
  "2024-03-01 00:05:00+00:00,c5a.large,Linux/UNIX,0.052000,us-east-1b",
  "2024-03-01 00:00:00+00:00,c5a.large,Linux/UNIX,0.040000,us-east-1a",
  "2024-03-01 00:00:00+00:00,c5a.large,Windows,0.140000,us-east-1a"
].join("\n")
const T0 = Date.UTC(2024, 2, 1)
const MIN = 60_000

describe.skipIf(!reachable)("spotfleet backfill / consolidate on MariaDB", () => {
  it.live("backfills the export into the consolidated and canonical tiers, records the run; a repeat changes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "spotfleet-cli-")))
      const file = path.join(dir, "export.csv")
      yield* Effect.promise(() => writeFile(file, CSV))
      const db = yield* Effect.promise(() => MysqlTestDatabase.create())
      const cli = (...args: Array<string>) =>
        run(["node", "spotfleet", ...args]).pipe(
          Effect.provide(Layer.merge(NodeContext.layer, Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["MYSQL_URL", db.url]])))))
        )
      const rows = (sql: string) =>
        Effect.promise(() => MysqlTestDatabase.admin(async (c) => (await c.query(sql))[0] as Array<Record<string, unknown>>))
      // The tiers as the store port reads them (they are stored in blocks, one row per pool-day).
      const tier = (which: "consolidated" | "canonical") =>
        Effect.gen(function*() {
          const store = yield* PriceStore.PriceStore
          const out = []
          for (const pool of ["c5a.large.us-east-1a", "c5a.large.us-east-1b"] as Array<PriceStore.PointQuery["pool"]>) {
            out.push(...(yield* store[which]({ pool, from: T0 - 60 * MIN, to: T0 + 120 * MIN })))
          }
          return out
        }).pipe(
          Effect.provide(MysqlStore.layerConfig({ url: Config.redacted("MYSQL_URL") })),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MYSQL_URL", db.url]]))),
          Effect.scoped,
          Effect.orDie
        )
      try {
        yield* cli("backfill", "--file", file, "--to", String(T0 + 30 * MIN))
        const points = yield* tier("consolidated")
        const a = points.filter((p) => p.pool === "c5a.large.us-east-1a").map((p) => [(p.slotStart - T0) / MIN, p.price, p.source])
        // step semantics: 0.040 from 00:00 until the change at 00:20, 0.041 after it
        assert.deepStrictEqual(a, [
          [0, 0.04, "backfilled"],
          [5, 0.04, "backfilled"],
          [10, 0.04, "backfilled"],
          [15, 0.04, "backfilled"],
          [20, 0.041, "backfilled"],
          [25, 0.041, "backfilled"]
        ])
        const b = points.filter((p) => p.pool === "c5a.large.us-east-1b").map((p) => [(p.slotStart - T0) / MIN, p.price])
        assert.deepStrictEqual(b, [[5, 0.052], [10, 0.052], [15, 0.052], [20, 0.052], [25, 0.052]])
        assert.isTrue(points.every((p) => p.confidence === 0.9))
        const canonical = yield* tier("canonical")
        assert.strictEqual(canonical.length, points.length)
        const runs = yield* rows(`SELECT status, backfilled_points, written_points, window_start FROM \`${db.name}\`.consolidation_runs`)
        assert.deepStrictEqual(runs.map((r) => [r.status, Number(r.backfilled_points), Number(r.written_points), Number(r.window_start)]), [
          ["succeeded", 11, 11, T0]
        ])

        // The same window again through `consolidate` with the export: idempotent.
        yield* cli("backfill", "--file", file, "--to", String(T0 + 30 * MIN))
        yield* cli("consolidate", "--from", new Date(T0).toISOString(), "--to", String(T0 + 30 * MIN))
        const after = yield* rows(`SELECT status, written_points, canonical_points FROM \`${db.name}\`.consolidation_runs ORDER BY started_at`)
        assert.deepStrictEqual(after.slice(1).map((r) => [r.status, Number(r.written_points), Number(r.canonical_points)]), [
          ["succeeded", 0, 0],
          ["succeeded", 0, 0]
        ])
        assert.deepStrictEqual(yield* tier("consolidated"), points)
      } finally {
        yield* Effect.promise(db.drop)
        yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
      }
    }), 60_000)
})
