/**
 * Issue 24, acceptance 2 and 4 (product half): the real AWS spot price export, with a second
 * product (every row again as SUSE Linux at other prices) and AZ IDs mixed in (rows of one zone
 * again under an AZ ID, as Linux/UNIX and as Windows), backfilled by the consolidation job into
 * the memory store and into MariaDB. Every pool — product × zone as given — holds exactly the
 * points of its own records; backfilling SUSE after Linux leaves Linux unchanged; the run's counts
 * are the counts injected. Skipped loudly without the data, failed under CI=true.
 */
import { assert, describe, it } from "@effect/vitest"
import { ConsolidationJob, Ids, MemoryStore, Pool, PriceHistorySource, PriceStore, Pricing } from "@spotfleet/engine"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { describeMysql, layerStore } from "./utils.js"

const SLOT = Pricing.SLOT_MILLIS
const csvFile = path.resolve(__dirname, "..", "..", "..", "..", "shared", "data", "spot-price-history-c5a.2xlarge-us-east-1.csv")
const hasData = fs.existsSync(csvFile)
if (!hasData) {
  const message = `ProductBackfill: ${csvFile} is absent — the real-data product backfill tests are SKIPPED`
  if (process.env.CI === "true") throw new Error(`${message} (CI=true: failing)`)
  console.warn(message)
}

/** mulberry32: a small seeded PRNG, so every run mixes the file the same way. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

const HEADER = "Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone"

/** The export plus the injected rows, shuffled: the products and zone forms interleave. */
const mixedExport = (text: string) => {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "")
  assert.strictEqual(lines[0], HEADER)
  const out: Array<string> = []
  for (const line of lines.slice(1)) {
    const [ts, type, product, price, az] = line.split(",")
    assert.strictEqual(product, "Linux/UNIX")
    const scaled = (f: number) => (Math.round(Number(price) * f * 1e6) / 1e6).toFixed(6)
    out.push(line, `${ts},${type},SUSE Linux,${scaled(1.9)},${az}`)
    if (az === "us-east-1c") out.push(`${ts},${type},Linux/UNIX,${scaled(0.93)},use1-az2`)
    if (az === "us-east-1b") out.push(`${ts},${type},Windows,${scaled(3.1)},use1-az6`)
  }
  const rand = prng(24)
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return [HEADER, ...out].join("\n")
}

/** What the backfill must write per pool: each slot the price in effect at its end. */
const expectedOf = (rows: ReadonlyArray<PriceHistorySource.HistoryRow>, from: number, to: number) => {
  const byPool = new Map<Pool.PoolId, Array<PriceHistorySource.HistoryRow>>()
  for (const r of rows) byPool.set(r.pool, [...(byPool.get(r.pool) ?? []), r])
  const expected = new Map<Pool.PoolId, Array<[number, number]>>()
  for (const [pool, records] of byPool) {
    records.sort((a, b) => a.observedAt - b.observedAt)
    const points: Array<[number, number]> = []
    let j = -1
    for (let s = from; s < to; s += SLOT) {
      while (j + 1 < records.length && records[j + 1]!.observedAt < s + SLOT) j++
      if (j >= 0) points.push([s, records[j]!.price])
    }
    expected.set(pool, points)
  }
  return expected
}

const text = hasData ? mixedExport(fs.readFileSync(csvFile, "utf8")) : HEADER
const rows = Either.getOrThrow(PriceHistorySource.parseCsv(text))
const times = rows.map((r) => r.observedAt)
const from = Math.floor(Math.min(...times) / SLOT) * SLOT
/** The slot of the last record is in the window: every record, the last included, is backfilled. */
const to = Math.floor(Math.max(...times) / SLOT) * SLOT + SLOT
const expected = expectedOf(rows, from, to)
const poolsOf = (product: string) => [...expected.keys()].filter((p) => Pool.productOf(p) === product).sort()

/** Both tiers of some pools over the window, as [pool, slot, price, source, runId] rows. */
const tiers = (pools: ReadonlyArray<Pool.PoolId>) =>
  Effect.gen(function*() {
    const store = yield* PriceStore.PriceStore
    const out: Array<unknown> = []
    for (const pool of pools) {
      const consolidated = yield* store.consolidated({ pool, from: 0, to: Number.MAX_SAFE_INTEGER })
      const canonical = yield* store.canonical({ pool, from: 0, to: Number.MAX_SAFE_INTEGER })
      out.push({ pool, consolidated: consolidated.map((p) => [p.slotStart, p.price, p.source, p.runId]), canonical: canonical.map((p) => [p.slotStart, p.price, p.runId]) })
    }
    return out
  })

/** Backfills the export (optionally one product of it) over the window. */
const backfill = (productDescription?: string) =>
  Effect.gen(function*() {
    const job = yield* ConsolidationJob.make({ ids: Ids.sequentialIds(), context: () => Effect.succeed(new Map()) })
    return yield* job.run({ from, to }).pipe(Effect.provide(PriceHistorySource.layerText([text], { productDescription })))
  })

/** Asserts that every pool holds exactly its own records' points in both tiers, inside the window. */
const assertOwnPoints = (pools: ReadonlyArray<Pool.PoolId>) =>
  Effect.gen(function*() {
    const store = yield* PriceStore.PriceStore
    for (const pool of pools) {
      const want = expected.get(pool)!
      const consolidated = yield* store.consolidated({ pool, from, to })
      const canonical = yield* store.canonical({ pool, from, to })
      assert.deepStrictEqual(consolidated.map((p) => [p.slotStart, p.price]), want, `consolidated ${pool}`)
      assert.deepStrictEqual(canonical.map((p) => [p.slotStart, p.price]), want, `canonical ${pool}`)
      assert.isTrue(consolidated.every((p) => p.source === "backfilled" && p.confidence === 0.9), pool)
    }
  })

/** The whole scenario on the store in context; returns what it read, to compare stores. */
const scenario = Effect.gen(function*() {
  const linux = poolsOf("linux")
  const suse = poolsOf("suse")
  const windows = poolsOf("windows")
  // 5 zones by name + 1 AZ ID for Linux, the 5 zones for SUSE, 1 AZ ID for Windows
  assert.strictEqual(linux.length, 6)
  assert.strictEqual(suse.length, 5)
  assert.deepStrictEqual(windows, [Pool.make("c5a.2xlarge", "use1-az6", "spot", "windows")])
  assert.include(linux, Pool.make("c5a.2xlarge", "use1-az2"))
  const count = (pools: ReadonlyArray<Pool.PoolId>) => pools.reduce((n, p) => n + expected.get(p)!.length, 0)

  // Linux first.
  const first = yield* backfill("Linux/UNIX")
  assert.deepStrictEqual([first.status, first.pools, first.backfilled, first.written, first.canonical], [
    "succeeded",
    linux.length,
    count(linux),
    count(linux),
    count(linux)
  ])
  yield* assertOwnPoints(linux)
  const linuxBefore = yield* tiers(linux)

  // SUSE after Linux: Linux unchanged, run ids included (not even rewritten).
  const second = yield* backfill("SUSE Linux")
  assert.deepStrictEqual([second.status, second.pools, second.backfilled, second.written], ["succeeded", suse.length, count(suse), count(suse)])
  assert.deepStrictEqual(yield* tiers(linux), linuxBefore)
  yield* assertOwnPoints(suse)

  // Then the whole mixed file: only the Windows pool is new; nothing of the others changes.
  const before = yield* tiers([...linux, ...suse])
  const third = yield* backfill()
  const all = [...expected.keys()].sort()
  assert.deepStrictEqual([third.status, third.pools, third.backfilled, third.written], ["succeeded", all.length, count(all), count(windows)])
  assert.deepStrictEqual(yield* tiers([...linux, ...suse]), before)
  yield* assertOwnPoints(all)

  // The SUSE and Linux prices of a zone differ in every slot (the test can see a mix-up).
  const [l, s] = [expected.get(Pool.make("c5a.2xlarge", "us-east-1e"))!, expected.get(Pool.make("c5a.2xlarge", "us-east-1e", "spot", "suse"))!]
  assert.isTrue(l.length > 10_000 && l.every(([at, p], i) => s[i]![0] === at && s[i]![1] !== p))
  return { runs: [first, second, third].map((r) => [r.pools, r.backfilled, r.written, r.canonical]), tiers: yield* tiers(all) }
})

describe.skipIf(!hasData)("backfilling a second product and AZ IDs from the real export (memory)", () => {
  it.effect("keeps every product and zone form in its own pool; SUSE after Linux leaves Linux unchanged", () =>
    scenario.pipe(Effect.provide(MemoryStore.layer)), { timeout: 120_000 })
})

describeMysql("backfilling a second product and AZ IDs from the real export (MariaDB)", () => {
  it.layer(layerStore(), { timeout: "300 seconds" })((it) => {
    it.effect.skipIf(!hasData)("stores what the memory store stores, products apart; SUSE after Linux leaves Linux unchanged", () =>
      Effect.gen(function*() {
        const mysql = yield* scenario
        const memory = yield* scenario.pipe(Effect.provide(MemoryStore.layer))
        assert.deepStrictEqual(mysql, memory)
      }), { timeout: 300_000 })
  })
})
