/**
 * `spotfleet prices sync` against moto (the AWS API emulator, seeded with a Linux/UNIX and a
 * Windows spot price history in pages of 5) and a MariaDB test database: the spot points land in
 * both price tiers as the seed says, Windows prices nowhere, the shipped on-demand prices in the
 * on-demand table; a repeat writes nothing. Nothing reaches AWS: loopback endpoint, static dummy
 * credentials in the environment the SDK's chain reads, no instance metadata.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { MysqlStore } from "@spotfleet/adapter-mysql"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { MotoServer } from "@spotfleet/aws/testing"
import { Pool, PriceStore } from "@spotfleet/engine"
import { Config, ConfigProvider, Effect, Layer } from "effect"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { run } from "../src/cli/Cli.js"

const reachable = await MysqlTestDatabase.reachable("spotfleet prices sync on MariaDB")
const python = MotoServer.available()

process.env.AWS_EC2_METADATA_DISABLED = "true"
process.env.AWS_ACCESS_KEY_ID = "AKIDTESTTESTTESTTEST"
process.env.AWS_SECRET_ACCESS_KEY = "test-secret-not-a-real-key"
delete process.env.AWS_PROFILE
delete process.env.AWS_SESSION_TOKEN

const T0 = Date.UTC(2026, 2, 1)
const MIN = 60_000
const SLOT = 5 * MIN
// Two pools × two products, a change every 7 minutes for 2 hours; Windows ≥ 0.5, Linux < 0.1.
const seed: Array<{ InstanceType: string; ProductDescription: string; SpotPrice: string; AvailabilityZone: string; Timestamp: string }> = []
for (const zone of ["us-east-1a", "us-east-1b"]) {
  for (const product of ["Linux/UNIX", "Windows"]) {
    for (let i = 0, t = T0; t < T0 + 120 * MIN; i++, t += 7 * MIN) {
      seed.push({
        InstanceType: "c5a.xlarge",
        ProductDescription: product,
        SpotPrice: ((product === "Windows" ? 0.5 : 0.06) + (i % 5) / 1000).toFixed(4),
        AvailabilityZone: zone,
        Timestamp: new Date(t).toISOString()
      })
    }
  }
}

describe.skipIf(!reachable || python === null)("spotfleet prices sync on moto and MariaDB", () => {
  it.live("stores the Linux/UNIX history in both tiers and the on-demand prices; a repeat changes nothing", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.promise(() => mkdtemp(path.join(tmpdir(), "spotfleet-sync-")))
      const seedFile = path.join(dir, "seed.json")
      yield* Effect.promise(() => writeFile(seedFile, JSON.stringify({ "us-east-1": seed })))
      const moto = yield* Effect.promise(() => MotoServer.start(python!, { seedFile }))
      const db = yield* Effect.promise(() => MysqlTestDatabase.create())
      const config = ConfigProvider.fromMap(new Map([["MYSQL_URL", db.url]]))
      const cli = (...args: Array<string>) =>
        run(["node", "spotfleet", ...args]).pipe(Effect.provide(Layer.merge(NodeContext.layer, Layer.setConfigProvider(config))))
      const withStore = <A, E>(effect: Effect.Effect<A, E, PriceStore.PriceStore>) =>
        effect.pipe(
          Effect.provide(MysqlStore.layerConfig({ url: Config.redacted("MYSQL_URL") })),
          Effect.withConfigProvider(config),
          Effect.scoped,
          Effect.orDie
        )
      const from = T0 + 30 * MIN
      const to = T0 + 90 * MIN
      const sync = cli(
        "prices", "sync", "--endpoint", moto.endpoint, "--region", "us-east-1", "--type", "c5a.xlarge",
        "--from", new Date(from).toISOString(), "--to", new Date(to).toISOString(), "--page-size", "5"
      )
      try {
        yield* sync
        // Expected: each slot in the window holds the Linux price in effect at its end (the
        // last change at or before it, step fill), per pool.
        for (const zone of ["us-east-1a", "us-east-1b"]) {
          const linux = seed.filter((r) => r.AvailabilityZone === zone && r.ProductDescription === "Linux/UNIX")
            .map((r) => ({ at: Date.parse(r.Timestamp), price: Number(r.SpotPrice) }))
          const pool = Pool.make("c5a.xlarge", zone)
          const points = yield* withStore(Effect.flatMap(PriceStore.PriceStore, (s) => s.consolidated({ pool, from, to })))
          const canonical = yield* withStore(Effect.flatMap(PriceStore.PriceStore, (s) => s.canonical({ pool, from, to })))
          assert.strictEqual(points.length, (to - from) / SLOT, zone)
          assert.strictEqual(canonical.length, points.length, zone)
          for (const p of points) {
            const inSlot = linux.filter((r) => r.at >= p.slotStart && r.at < p.slotStart + SLOT).at(-1)
            const before = linux.filter((r) => r.at < p.slotStart).at(-1)
            assert.strictEqual(p.price, (inSlot ?? before)!.price, `${zone} at +${(p.slotStart - T0) / MIN} min`)
            assert.strictEqual(p.source, "backfilled")
          }
          assert.deepStrictEqual(canonical.map((c) => c.price), points.map((p) => p.price))
        }
        const onDemand = yield* withStore(Effect.flatMap(PriceStore.PriceStore, (s) => s.onDemandPrices))
        assert.deepStrictEqual(onDemand.map((p) => [p.instanceType, p.region, p.price]).sort(), [["c5a.2xlarge", "us-east-1", 0.308], ["c5a.xlarge", "us-east-1", 0.154]])
        const runs = yield* withStore(Effect.flatMap(PriceStore.PriceStore, (s) => s.runs()))
        assert.strictEqual(runs.length, 1)
        assert.strictEqual(runs[0]!.status, "succeeded")
        assert.strictEqual(runs[0]!.backfilled, 2 * (to - from) / SLOT)

        yield* sync
        const again = yield* withStore(Effect.flatMap(PriceStore.PriceStore, (s) => s.runs()))
        assert.strictEqual(again.length, 2)
        assert.strictEqual(again[0]!.written + again[1]!.written, runs[0]!.written, "the repeat wrote nothing")
      } finally {
        yield* Effect.promise(db.drop)
        yield* Effect.promise(moto.stop)
        yield* Effect.promise(() => rm(dir, { recursive: true, force: true }))
      }
    }), 120_000)
})
