import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { Pool, PriceHistorySource } from "../src/index.js"

const csv = `Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone
2023-12-30 21:17:02+00:00,c5a.2xlarge,Linux/UNIX,0.156700,us-east-1e
2023-12-30 21:02:57+00:00,c5a.2xlarge,Linux/UNIX,0.169600,us-east-1c
2023-12-30 19:16:57+00:00,c5a.2xlarge,Windows,0.496400,us-east-1b
2023-12-30 18:00:00+00:00,c5a.2xlarge,Linux/UNIX,0.150000,us-east-1e
`

const json = JSON.stringify({
  SpotPriceHistory: [
    { AvailabilityZone: "us-east-1e", InstanceType: "c5a.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.156700", Timestamp: "2023-12-30T21:17:02.000Z" },
    { AvailabilityZone: "us-east-1c", InstanceType: "c5a.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.169600", Timestamp: "2023-12-30T23:02:57+02:00" }
  ]
})

describe("PriceHistorySource", () => {
  it("parses the AWS CSV export, each product in its own pool; a product filter keeps one", () => {
    const all = Either.getOrThrow(PriceHistorySource.parseCsv(csv))
    assert.deepStrictEqual(all.map((r) => [r.pool, r.product]), [
      [Pool.make("c5a.2xlarge", "us-east-1e"), "linux"],
      [Pool.make("c5a.2xlarge", "us-east-1c"), "linux"],
      ["c5a.2xlarge.us-east-1b~windows", "windows"],
      [Pool.make("c5a.2xlarge", "us-east-1e"), "linux"]
    ])
    const rows = Either.getOrThrow(PriceHistorySource.parseCsv(csv, { productDescription: "Linux/UNIX" }))
    assert.deepStrictEqual(rows.map((r) => [r.pool, r.price, r.observedAt]), [
      [Pool.make("c5a.2xlarge", "us-east-1e"), 0.1567, Date.UTC(2023, 11, 30, 21, 17, 2)],
      [Pool.make("c5a.2xlarge", "us-east-1c"), 0.1696, Date.UTC(2023, 11, 30, 21, 2, 57)],
      [Pool.make("c5a.2xlarge", "us-east-1e"), 0.15, Date.UTC(2023, 11, 30, 18, 0, 0)]
    ])
    assert.strictEqual(Either.getOrThrow(PriceHistorySource.parseCsv(csv, { productDescription: null })).length, 4)
    assert.deepStrictEqual(
      Either.getOrThrow(PriceHistorySource.parseCsv(csv, { productDescription: "windows" })).map((r) => r.pool),
      [Pool.make("c5a.2xlarge", "us-east-1b", "spot", "windows")]
    )
    const unknownFilter = PriceHistorySource.parseCsv(csv, { productDescription: "BeOS" })
    assert.include(Either.isLeft(unknownFilter) ? unknownFilter.left.reason : "", "product filter: unknown product description \"BeOS\"")
  })

  it("keeps AZ IDs as given, or maps them to names when told", () => {
    const text = `Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone
2023-12-30 21:17:02+00:00,c5a.2xlarge,SUSE Linux,0.2567,use1-az4
2023-12-30 21:17:02+00:00,c5a.2xlarge,Linux/UNIX,0.1567,use1-az6
`
    const asGiven = Either.getOrThrow(PriceHistorySource.parseCsv(text))
    assert.deepStrictEqual(asGiven.map((r) => r.pool), ["c5a.2xlarge.use1-az4~suse", "c5a.2xlarge.use1-az6"])
    const mapped = Either.getOrThrow(PriceHistorySource.parseCsv(text, { zoneNames: { "use1-az4": "us-east-1a" } }))
    assert.deepStrictEqual(mapped.map((r) => [r.pool, r.availabilityZone]), [
      ["c5a.2xlarge.us-east-1a~suse", "us-east-1a"],
      ["c5a.2xlarge.use1-az6", "use1-az6"]
    ])
  })

  it("parses the CLI's JSON with either zone notation, and picks the format by itself", () => {
    const rows = Either.getOrThrow(PriceHistorySource.parse(json))
    assert.deepStrictEqual(rows.map((r) => [r.pool, r.observedAt]), [
      [Pool.make("c5a.2xlarge", "us-east-1e"), Date.UTC(2023, 11, 30, 21, 17, 2)],
      [Pool.make("c5a.2xlarge", "us-east-1c"), Date.UTC(2023, 11, 30, 21, 2, 57)]
    ])
    assert.deepStrictEqual(Either.getOrThrow(PriceHistorySource.parse(csv)).length, 4)
  })

  it("reports bad input with its line", () => {
    const product = PriceHistorySource.parseCsv(`${csv}2023-12-31 00:00:00+00:00,c5a.2xlarge,BeOS,0.1,us-east-1e\n`)
    assert.include(Either.isLeft(product) ? product.left.reason : "", "line 6: unknown product description: unknown product description \"BeOS\"")
    const bad = PriceHistorySource.parseCsv(`${csv}2023-12-31 00:00:00+00:00,c5a.2xlarge,Linux/UNIX,abc,us-east-1e\n`)
    assert.isTrue(Either.isLeft(bad))
    assert.include(Either.getLeft(bad).pipe((o) => (o._tag === "Some" ? o.value.reason : "")), "line 6: bad price: SpotPrice \"abc\" is not a positive number")
    const noHeader = PriceHistorySource.parseCsv("a,b,c\n1,2,3\n")
    assert.include(Either.isLeft(noHeader) ? noHeader.left.reason : "", "missing column(s) timestamp")
    assert.isTrue(Either.isLeft(PriceHistorySource.parseJson("{\"nope\": 1}")))
    assert.strictEqual(PriceHistorySource.parseTimestamp("yesterday"), null)
  })

  it.effect("the in-memory source returns a window plus the price in effect at its start", () =>
    Effect.gen(function*() {
      const source = PriceHistorySource.makeMemory(Either.getOrThrow(PriceHistorySource.parseCsv(csv)))
      const pool = Pool.make("c5a.2xlarge", "us-east-1e")
      assert.deepStrictEqual(yield* source.pools, [
        Pool.make("c5a.2xlarge", "us-east-1b", "spot", "windows"),
        Pool.make("c5a.2xlarge", "us-east-1c"),
        pool
      ])
      const window = yield* source.history(pool, Date.UTC(2023, 11, 30, 20), Date.UTC(2023, 11, 31))
      assert.deepStrictEqual(window.map((r) => r.price), [0.15, 0.1567])
      const before = yield* source.history(pool, Date.UTC(2023, 11, 29), Date.UTC(2023, 11, 30, 18))
      assert.deepStrictEqual(before, [])
    }))

  it("turns rows into backfill snapshots", () => {
    const drafts = PriceHistorySource.toSnapshotDrafts(Either.getOrThrow(PriceHistorySource.parseCsv(csv, { productDescription: "Linux/UNIX" })), 5)
    assert.deepStrictEqual(drafts.map((d) => [d.source, d.reporterRole, d.receivedAt]), [["backfill", null, 5], ["backfill", null, 5], ["backfill", null, 5]])
  })

  // Line 1 is the header. Line 3 is another product (left out, not bad); the bad rows are 4–8.
  const mixed = `Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone
2023-12-30 21:17:02+00:00,c5a.2xlarge,Linux/UNIX,0.156700,us-east-1e
2023-12-30 21:17:02+00:00,c5a.2xlarge,Windows,0.456700,us-east-1e
yesterday,c5a.2xlarge,Linux/UNIX,0.156700,us-east-1e
2023-12-30 21:02:57+00:00,c5a.2xlarge,Linux/UNIX,-1,us-east-1c

2023-12-30 21:02:57+00:00,c5a.2xlarge,Linux/UNIX,0.1,Mars Base 1
2023-12-30 21:02:57+00:00,c5a.2xlarge,Linux/UNIX
2023-12-30 21:02:57+00:00,C5A LARGE,Linux/UNIX,0.1,us-east-1c
2023-12-30 20:00:00+00:00,c5a.2xlarge,Linux/UNIX,0.150000,us-east-1c
`

  it("skips bad rows and lists them with their line and reason; other products are counted apart", () => {
    // without a product filter the Windows row is kept, in a pool of its own
    assert.deepInclude(Either.getOrThrow(PriceHistorySource.reportCsv(mixed)).rows.map((r) => [r.pool, r.price]), [Pool.make("c5a.2xlarge", "us-east-1e", "spot", "windows"), 0.4567])
    const report = Either.getOrThrow(PriceHistorySource.reportCsv(mixed, { productDescription: "Linux/UNIX" }))
    assert.deepStrictEqual(report.rows.map((r) => [r.pool, r.price]), [
      [Pool.make("c5a.2xlarge", "us-east-1e"), 0.1567],
      [Pool.make("c5a.2xlarge", "us-east-1c"), 0.15]
    ])
    assert.deepStrictEqual([report.read, report.otherProducts], [8, 1])
    assert.deepStrictEqual(report.skipped.map((s) => [s.line, s.reason]), [
      [4, "bad-timestamp"],
      [5, "bad-price"],
      [7, "bad-pool"],
      [8, "missing-field"],
      [9, "bad-pool"]
    ])
    assert.strictEqual(report.skipped[0]!.where, "line 4")
    assert.include(report.skipped[0]!.detail, "\"yesterday\"")
    assert.include(report.skipped[2]!.detail, "Mars Base 1")
    assert.include(report.skipped[3]!.detail, "no SpotPrice, AvailabilityZone")
    assert.strictEqual(PriceHistorySource.skipReasons["bad-timestamp"], "unparsable timestamp")
  })

  it("with strict, the first bad row fails the parse with its line and reason", () => {
    const strict = PriceHistorySource.reportCsv(mixed, { strict: true })
    assert.isTrue(Either.isLeft(strict))
    const error = Either.isLeft(strict) ? strict.left : undefined
    assert.strictEqual(error?.reason, "line 4: unparsable timestamp: Timestamp \"yesterday\" is not a time")
    assert.deepStrictEqual([error?.skipped?.line, error?.skipped?.reason], [4, "bad-timestamp"])
    // the parse* functions are strict
    assert.isTrue(Either.isLeft(PriceHistorySource.parse(mixed)))
  })

  it("skips bad JSON items by index", () => {
    const doc = JSON.stringify({
      SpotPriceHistory: [
        { AvailabilityZone: "us-east-1e", InstanceType: "c5a.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "0.1567", Timestamp: "2023-12-30T21:17:02.000Z" },
        "not an item",
        { AvailabilityZone: "us-east-1e", InstanceType: "c5a.2xlarge", ProductDescription: "Linux/UNIX", SpotPrice: "free", Timestamp: "2023-12-30T21:17:02.000Z" }
      ]
    })
    const report = Either.getOrThrow(PriceHistorySource.report(doc))
    assert.strictEqual(report.rows.length, 1)
    assert.deepStrictEqual(report.skipped.map((s) => [s.where, s.line, s.reason]), [
      ["SpotPriceHistory[1]", null, "missing-field"],
      ["SpotPriceHistory[2]", null, "bad-price"]
    ])
    assert.isTrue(Either.isLeft(PriceHistorySource.report("{\"nope\": 1}")))
  })

  it("keeps a row exactly when Pool's own validation takes its instance type and zone (AZ IDs follow the pool grammar)", () => {
    const zones = ["us-east-1a", "use1-az1", "eu-central-2b", "Mars Base 1", "us-east-1"]
    const text = [
      "Timestamp,InstanceType,ProductDescription,SpotPrice,AvailabilityZone",
      ...zones.map((z) => `2023-12-30 21:17:02+00:00,c5a.2xlarge,Linux/UNIX,0.1567,${z}`)
    ].join("\n")
    const report = Either.getOrThrow(PriceHistorySource.reportCsv(text))
    const valid = zones.filter((z) => Either.isRight(Pool.parse(`c5a.2xlarge.${z}`)))
    assert.deepStrictEqual(report.rows.map((r) => r.availabilityZone), valid)
    assert.deepStrictEqual(report.skipped.map((s) => s.line), zones.flatMap((z, i) => (valid.includes(z) ? [] : [i + 2])))
    assert.isTrue(report.skipped.every((s) => s.reason === "bad-pool"))
    assert.isAtLeast(report.skipped.length, 2)
  })
})
