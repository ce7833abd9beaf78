/**
 * `spotfleet backfill` against a MariaDB test database: the window covers an export's last record,
 * bad rows are skipped and listed with their lines (or, with `--strict`, stop the command), and
 * the counts it prints are what the store holds. The real-data test reads
 * ../shared/data/spot-price-history-c5a.2xlarge-us-east-1.csv (skipped loudly when absent, failing
 * under CI=true).
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { MysqlStore } from "@spotfleet/adapter-mysql"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { Pool, PriceStore } from "@spotfleet/engine"
import { Config, ConfigProvider, Console, Effect, Layer } from "effect"
import { existsSync, readFileSync } from "node:fs"
import { mkdtemp, rm, writeFile } from "node:fs/promises"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { run } from "../src/cli/Cli.js"

const reachable = await MysqlTestDatabase.reachable("spotfleet backfill on MariaDB")

const REAL = fileURLToPath(new URL("../../../../shared/data/spot-price-history-c5a.2xlarge-us-east-1.csv", import.meta.url))
const realPresent = existsSync(REAL)
if (!realPresent) {
  if (process.env["CI"] === "true") throw new Error(`the real spot price export is missing under CI=true: ${REAL}`)
  console.warn(`!! ${REAL} is absent: the real-data backfill test is SKIPPED`)
}

const SLOT = 5 * 60_000
const HEADER = "Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone"
// The export from issue 24: two rows, two pools, neither on the 5-minute grid.
const TWO_ROWS = [HEADER, "2024-03-01 00:07:30+00:00,c5a.large,Linux/UNIX,0.052000,us-east-1b", "2024-03-01 00:01:10+00:00,c5a.large,Linux/UNIX,0.040000,us-east-1a"].join("\n")
const T0 = Date.UTC(2024, 2, 1)

/** The CLI with the given config, its stdout and stderr captured. */
const cliWith = (config: ConfigProvider.ConfigProvider) => (...args: Array<string>) => {
  const out: Array<string> = []
  const err: Array<string> = []
  const said = (to: Array<string>) => (...xs: ReadonlyArray<unknown>) => Effect.sync(() => void to.push(xs.map(String).join(" ")))
  return Console.consoleWith((c) => Console.withConsole(run(["node", "spotfleet", ...args]), { ...c, log: said(out), error: said(err) })).pipe(
    Effect.provide(Layer.merge(NodeContext.layer, Layer.setConfigProvider(config))),
    Effect.either,
    Effect.map((result) => ({ result, out: out.join("\n"), err: err.join("\n") }))
  )
}

/** A scratch directory, a database of its own, the CLI on it with stdout and stderr captured. */
const setup = Effect.acquireRelease(
  Effect.promise(async () => ({ dir: await mkdtemp(path.join(tmpdir(), "spotfleet-backfill-")), db: await MysqlTestDatabase.create() })),
  ({ db, dir }) => Effect.promise(async () => {
    await db.drop()
    await rm(dir, { recursive: true, force: true })
  })
).pipe(Effect.map(({ db, dir }) => {
  const file = (name: string, text: string) => Effect.promise(() => writeFile(path.join(dir, name), text)).pipe(Effect.as(path.join(dir, name)))
  const config = ConfigProvider.fromMap(new Map([["MYSQL_URL", db.url]]))
  const cli = cliWith(config)
  /** Runs with the store at MYSQL_URL. */
  const withStore = <A, E>(f: (store: PriceStore.PriceStoreService) => Effect.Effect<A, E>) =>
    Effect.flatMap(PriceStore.PriceStore, f).pipe(
      Effect.provide(MysqlStore.layerConfig({ url: Config.redacted("MYSQL_URL") })),
      Effect.withConfigProvider(config),
      Effect.scoped,
      Effect.orDie
    )
  const runs = Effect.promise(() =>
    MysqlTestDatabase.admin(async (c) => (await c.query(`SELECT status FROM \`${db.name}\`.consolidation_runs`))[0] as Array<{ status: string }>)
  )
  return { file, cli, withStore, runs }
}))

/** The JSON report a successful backfill prints. */
interface Report {
  readonly rows: { readonly read: number; readonly kept: number; readonly otherProducts: number; readonly skipped: number; readonly skippedByReason: Record<string, number> }
  readonly skipped: ReadonlyArray<{ readonly file: string; readonly line: number | null; readonly reason: string; readonly detail: string }>
  readonly pools: { readonly inExport: number; readonly withPoints: number }
  readonly tiers: {
    readonly snapshot: { readonly written: number }
    readonly consolidated: { readonly points: number; readonly backfilled: number; readonly written: number }
    readonly canonical: { readonly points: number; readonly written: number }
  }
}

const okReport = (r: { readonly result: { readonly _tag: string }; readonly out: string; readonly err: string }): Report => {
  assert.strictEqual(r.result._tag, "Right", r.err)
  return JSON.parse(r.out) as Report
}

describe.skipIf(!reachable)("spotfleet backfill on MariaDB", () => {
  it.live("the two-row export backfills both pools and both records' slots, and says so", () =>
    Effect.gen(function*() {
      const { cli, file, withStore } = yield* setup
      const ran = yield* cli("backfill", "--file", yield* file("two.csv", TWO_ROWS))
      const report = okReport(ran)
      assert.deepStrictEqual(report.pools, { inExport: 2, withPoints: 2 })
      assert.deepStrictEqual(
        [report.tiers.consolidated.backfilled, report.tiers.consolidated.written, report.tiers.canonical.written, report.tiers.snapshot.written],
        [3, 3, 3, 0]
      )
      assert.include(ran.err, "2 of 2 pools got points")
      const points = yield* withStore((store) =>
        Effect.forEach(["us-east-1a", "us-east-1b"], (az) =>
          Effect.map(store.consolidated({ pool: Pool.make("c5a.large", az), from: T0 - SLOT, to: T0 + 12 * SLOT }), (ps) =>
            ps.map((p) => [az, (p.slotStart - T0) / 60_000, p.price, p.source])))
      )
      // 1a: its record's slot 00:00 and 00:05 (its price still holds); 1b: its record's slot 00:05
      assert.deepStrictEqual(points.flat(), [
        ["us-east-1a", 0, 0.04, "backfilled"],
        ["us-east-1a", 5, 0.04, "backfilled"],
        ["us-east-1b", 5, 0.052, "backfilled"]
      ])
    }).pipe(Effect.scoped), 60_000)

  it.live("bad rows are skipped and listed with their lines; the good ones are written", () =>
    Effect.gen(function*() {
      const { cli, file, withStore } = yield* setup
      const csv = [
        HEADER,
        "2024-03-01 00:07:30+00:00,c5a.large,Linux/UNIX,0.052000,us-east-1b",
        "2024-03-01 00:07:30+00:00,c5a.large,Linux/UNIX,free,us-east-1a",
        "not a time,c5a.large,Linux/UNIX,0.05,us-east-1a",
        "2024-03-01 00:03:00+00:00,c5a.large,Windows,0.14,us-east-1a",
        "2024-03-01 00:03:00+00:00,c5a.large,Linux/UNIX,0.05,Mars Base 1",
        "2024-03-01 00:01:10+00:00,c5a.large,Linux/UNIX,0.040000,us-east-1a"
      ].join("\n")
      const ran = yield* cli("backfill", "--file", yield* file("bad.csv", csv))
      const report = okReport(ran)
      assert.deepStrictEqual(report.rows, {
        read: 6,
        kept: 2,
        otherProducts: 1,
        skipped: 3,
        skippedByReason: { "bad-price": 1, "bad-timestamp": 1, "bad-pool": 1 }
      })
      assert.deepStrictEqual(report.skipped.map((s) => [path.basename(s.file), s.line, s.reason]), [
        ["bad.csv", 3, "bad-price"],
        ["bad.csv", 4, "bad-timestamp"],
        ["bad.csv", 6, "bad-pool"]
      ])
      assert.match(ran.err, /skipped .*bad\.csv line 3: bad price: SpotPrice "free" is not a positive number/)
      assert.match(ran.err, /skipped .*bad\.csv line 4: unparsable timestamp/)
      assert.deepStrictEqual(report.pools, { inExport: 2, withPoints: 2 })
      const stored = yield* withStore((store) => store.consolidated({ pool: Pool.make("c5a.large", "us-east-1a"), from: T0, to: T0 + 12 * SLOT }))
      assert.deepStrictEqual(stored.map((p) => p.price), [0.04, 0.04])
    }).pipe(Effect.scoped), 60_000)

  it.live("--strict stops at the first bad row with its line and reason, and writes nothing", () =>
    Effect.gen(function*() {
      const { cli, file, runs, withStore } = yield* setup
      okReport(yield* cli("backfill", "--file", yield* file("two.csv", TWO_ROWS)))
      const pool = Pool.make("c5a.large", "us-east-1b")
      const before = yield* withStore((store) => store.consolidated({ pool, from: T0, to: T0 + 12 * SLOT }))
      const bad = yield* file("bad.csv", [HEADER, "2024-03-01 00:07:30+00:00,c5a.large,Linux/UNIX,0.05,us-east-1b", "2024-03-01 00:09:00+00:00,c5a.large,Linux/UNIX,,us-east-1a", "yesterday,c5a.large,Linux/UNIX,0.05,us-east-1a"].join("\n"))
      const ran = yield* cli("backfill", "--strict", "--file", bad)
      assert.strictEqual(ran.result._tag, "Left")
      const message = ran.result._tag === "Left" ? (ran.result.left as Error).message : ""
      assert.strictEqual(message, `${bad} line 3: missing field: no SpotPrice (--strict stops at the first bad row; nothing was written)`)
      assert.notInclude(message, "\n    at ")
      assert.deepStrictEqual(yield* runs, [{ status: "succeeded" }], "no run besides the first backfill")
      assert.deepStrictEqual(yield* withStore((store) => store.consolidated({ pool, from: T0, to: T0 + 12 * SLOT })), before)
      assert.strictEqual(ran.out, "")
    }).pipe(Effect.scoped), 60_000)

  it.live("a file with no row of the product is an error in words", () =>
    Effect.gen(function*() {
      const { cli, file } = yield* setup
      const ran = yield* cli("backfill", "--file", yield* file("win.csv", [HEADER, "2024-03-01 00:03:00+00:00,c5a.large,Windows,0.14,us-east-1a"].join("\n")))
      assert.strictEqual(ran.result._tag, "Left")
      assert.include(ran.result._tag === "Left" ? (ran.result.left as Error).message : "", "no Linux/UNIX rows to backfill")
      assert.include(ran.err, "1 rows, 0 Linux/UNIX rows kept, 1 of other products, 0 bad rows skipped")
    }).pipe(Effect.scoped), 60_000)

  it.live.skipIf(!realPresent)("the real export: every record, the last included, is in both tiers; the printed counts are the store's", () =>
    Effect.gen(function*() {
      const { cli, withStore } = yield* setup
      const lines = readFileSync(REAL, "utf8").split(/\r?\n/).filter((l) => l.trim() !== "")
      // the records per pool, oldest first
      const records = new Map<string, Array<{ at: number; price: number }>>()
      for (const line of lines.slice(1)) {
        const [ts, type, , price, az] = line.split(",")
        const pool = `${type}.${az}`
        const list = records.get(pool) ?? []
        list.push({ at: Date.parse(ts!.replace(" ", "T")), price: Number(price) })
        records.set(pool, list)
      }
      for (const list of records.values()) list.sort((a, b) => a.at - b.at)
      const ran = yield* cli("backfill", "--file", REAL)
      const report = okReport(ran)
      assert.deepStrictEqual(report.rows, { read: lines.length - 1, kept: lines.length - 1, otherProducts: 0, skipped: 0, skippedByReason: {} })
      assert.deepStrictEqual(report.pools, { inExport: records.size, withPoints: records.size })

      const { consolidated, canonical } = yield* withStore((store) =>
        Effect.gen(function*() {
          const consolidated = new Map<string, Map<number, number>>()
          const canonical = new Map<string, Map<number, number>>()
          for (const pool of records.keys()) {
            const q = { pool: pool as Pool.PoolId, from: 0, to: Date.UTC(2030, 0) }
            consolidated.set(pool, new Map((yield* store.consolidated(q)).map((p) => [p.slotStart, p.price])))
            canonical.set(pool, new Map((yield* store.canonical(q)).map((p) => [p.slotStart, p.price])))
          }
          return { consolidated, canonical }
        })
      )
      const total = (m: Map<string, Map<number, number>>) => [...m.values()].reduce((n, s) => n + s.size, 0)
      assert.strictEqual(report.tiers.consolidated.written, total(consolidated))
      assert.strictEqual(report.tiers.consolidated.points, total(consolidated))
      assert.strictEqual(report.tiers.canonical.written, total(canonical))
      assert.strictEqual(report.tiers.canonical.points, total(canonical))
      assert.isAbove(total(consolidated), 70_000)

      const lastSlot = Math.floor(Math.max(...[...records.values()].map((l) => l[l.length - 1]!.at)) / SLOT) * SLOT
      let checked = 0
      for (const [pool, list] of records) {
        for (let i = 0; i < list.length; i++) {
          const slot = Math.floor(list[i]!.at / SLOT) * SLOT
          // the price in effect at the end of the slot: the record itself unless a later one shares its slot
          const next = list[i + 1]
          if (next !== undefined && next.at < slot + SLOT) continue
          assert.strictEqual(consolidated.get(pool)!.get(slot), list[i]!.price, `${pool} ${new Date(list[i]!.at).toISOString()} consolidated`)
          assert.strictEqual(canonical.get(pool)!.get(slot), list[i]!.price, `${pool} ${new Date(list[i]!.at).toISOString()} canonical`)
          checked++
        }
        // from the pool's first record's slot to the export's last slot (a price holds until its next change)
        const slots = [...consolidated.get(pool)!.keys()].sort((a, b) => a - b)
        assert.strictEqual(slots[0], Math.floor(list[0]!.at / SLOT) * SLOT, `${pool}: the first slot is the first record's`)
        assert.strictEqual(slots[slots.length - 1], lastSlot, `${pool}: the last slot is the export's last record's`)
        assert.strictEqual(slots.length, (lastSlot - slots[0]!) / SLOT + 1, `${pool}: every slot in between`)
      }
      assert.strictEqual(checked, lines.length - 1)
    }).pipe(Effect.scoped), 180_000)
})

describe("spotfleet backfill --help", () => {
  it.live("--help describes every option with its default, never as 'A user-defined piece of text'", () =>
    Effect.gen(function*() {
      const cli = cliWith(ConfigProvider.fromMap(new Map()))
      const help = (yield* cli("backfill", "--help")).out
      assert.notInclude(help, "A user-defined piece of text")
      for (const option of ["--file", "--product", "--strict", "--from", "--to", "--fill", "--dry-run"]) assert.include(help, option)
      assert.include(help, "Default: the export's first record")
      assert.include(help, "Default: 1 ms after the export's last record")
      assert.include(help, "Default: Linux/UNIX")
      assert.include(help, "never interpolated")
      assert.notInclude((yield* cli("consolidate", "--help")).out, "A user-defined piece of text")
    }), 60_000)
})
