/**
 * `spotfleet backfill` of one product after another into MariaDB (issue 24, acceptance 4, the
 * product half): the export has Linux/UNIX and SUSE Linux rows of the same type, zones and times
 * (SUSE at other prices, one zone given as an AZ ID); backfilling SUSE after Linux leaves every
 * Linux point as it was and puts SUSE in its own pools.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { MysqlStore } from "@spotfleet/adapter-mysql"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { Pool, PriceStore } from "@spotfleet/engine"
import { Config, ConfigProvider, Effect, Layer } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { run } from "../src/cli/Cli.js"

const reachable = await MysqlTestDatabase.reachable("spotfleet backfill of two products on MariaDB")

const CSV = [
  "Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone",
  "2024-03-01 00:20:00+00:00,c5a.large,Linux/UNIX,0.041000,us-east-1a",
  "2024-03-01 00:20:00+00:00,c5a.large,SUSE Linux,0.196400,us-east-1a",
  "2024-03-01 00:05:00+00:00,c5a.large,Linux/UNIX,0.052000,us-east-1b",
  "2024-03-01 00:05:00+00:00,c5a.large,SUSE Linux,0.171400,use1-az2",
  "2024-03-01 00:00:00+00:00,c5a.large,Linux/UNIX,0.040000,us-east-1a",
  "2024-03-01 00:00:00+00:00,c5a.large,SUSE Linux,0.190000,us-east-1a"
].join("\n")
const T0 = Date.UTC(2024, 2, 1)
const MIN = 60_000

const linuxPools = [Pool.make("c5a.large", "us-east-1a"), Pool.make("c5a.large", "us-east-1b")]
const susePools = [Pool.make("c5a.large", "us-east-1a", "spot", "suse"), Pool.make("c5a.large", "use1-az2", "spot", "suse")]

describe.skipIf(!reachable)("spotfleet backfill of a second product on MariaDB", () => {
  it.live("SUSE after Linux leaves Linux unchanged and lands in the SUSE pools", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "spotfleet-products-")))
      const file = path.join(dir, "export.csv")
      yield* Effect.promise(() => writeFile(file, CSV))
      const db = yield* Effect.promise(() => MysqlTestDatabase.create())
      const cli = (...args: Array<string>) =>
        run(["node", "spotfleet", ...args]).pipe(
          Effect.provide(Layer.merge(NodeContext.layer, Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["MYSQL_URL", db.url]])))))
        )
      const tiers = (pools: ReadonlyArray<Pool.PoolId>) =>
        Effect.gen(function*() {
          const store = yield* PriceStore.PriceStore
          const out: Array<unknown> = []
          for (const pool of pools) {
            const q = { pool, from: T0 - 60 * MIN, to: T0 + 120 * MIN }
            out.push([pool, yield* store.consolidated(q), yield* store.canonical(q)])
          }
          return out
        }).pipe(
          Effect.provide(MysqlStore.layerConfig({ url: Config.redacted("MYSQL_URL") })),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MYSQL_URL", db.url]]))),
          Effect.scoped,
          Effect.orDie
        )
      const prices = (t: ReadonlyArray<unknown>) =>
        (t as Array<[string, Array<{ slotStart: number; price: number }>, unknown]>).map(([pool, points]) => [pool, points.map((p) => [(p.slotStart - T0) / MIN, p.price])])
      try {
        yield* cli("backfill", "--file", file, "--product", "Linux/UNIX", "--to", String(T0 + 30 * MIN))
        const linux = yield* tiers(linuxPools)
        assert.deepStrictEqual(prices(linux), [
          [linuxPools[0], [[0, 0.04], [5, 0.04], [10, 0.04], [15, 0.04], [20, 0.041], [25, 0.041]]],
          [linuxPools[1], [[5, 0.052], [10, 0.052], [15, 0.052], [20, 0.052], [25, 0.052]]]
        ])
        assert.deepStrictEqual(prices(yield* tiers(susePools)), susePools.map((p) => [p, []]))

        yield* cli("backfill", "--file", file, "--product", "SUSE Linux", "--to", String(T0 + 30 * MIN))
        // every Linux point as it was, run id included
        assert.deepStrictEqual(yield* tiers(linuxPools), linux)
        assert.deepStrictEqual(prices(yield* tiers(susePools)), [
          [susePools[0], [[0, 0.19], [5, 0.19], [10, 0.19], [15, 0.19], [20, 0.1964], [25, 0.1964]]],
          [susePools[1], [[5, 0.1714], [10, 0.1714], [15, 0.1714], [20, 0.1714], [25, 0.1714]]]
        ])

        // every product at once, an AZ ID mapped to its name: the SUSE row of use1-az2 lands in
        // us-east-1c's SUSE pool; what was there stays
        const names = path.join(dir, "zones.json")
        yield* Effect.promise(() => writeFile(names, JSON.stringify({ "use1-az2": "us-east-1c" })))
        yield* cli("backfill", "--file", file, "--product", "all", "--zone-names", names, "--to", String(T0 + 30 * MIN))
        const mapped = Pool.make("c5a.large", "us-east-1c", "spot", "suse")
        assert.deepStrictEqual(prices(yield* tiers([mapped])), [[mapped, [[5, 0.1714], [10, 0.1714], [15, 0.1714], [20, 0.1714], [25, 0.1714]]]])
        assert.deepStrictEqual(yield* tiers(linuxPools), linux)
        // a mapping that is not AZ ID → AZ name is refused with the entry, nothing written
        yield* Effect.promise(() => writeFile(names, JSON.stringify({ "us-east-1a": "use1-az1" })))
        const refused = yield* Effect.flip(cli("backfill", "--file", file, "--zone-names", names))
        assert.include(String((refused as { message?: string }).message ?? refused), "\"us-east-1a\" is not an AZ ID")
      } finally {
        yield* Effect.promise(db.drop)
        yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
      }
    }), 60_000)
})
