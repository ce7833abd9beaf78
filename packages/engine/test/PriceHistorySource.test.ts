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
    assert.include(Either.isLeft(product) ? product.left.reason : "", "line 6: bad ProductDescription: unknown product description \"BeOS\"")
    const bad = PriceHistorySource.parseCsv(`${csv}2023-12-31 00:00:00+00:00,c5a.2xlarge,Linux/UNIX,abc,us-east-1e\n`)
    assert.isTrue(Either.isLeft(bad))
    assert.include(Either.getLeft(bad).pipe((o) => (o._tag === "Some" ? o.value.reason : "")), "line 6: bad SpotPrice")
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
})
