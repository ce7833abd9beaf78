/**
 * The offer file reader on a sample in the format of the AWS Price List EC2 offer file
 * (test/fixtures/ec2-offer-us-east-1-sample.json: products that differ from the wanted one in one
 * attribute each, a storage product, reserved terms), from a file, from a URL in small chunks,
 * and with its sections in the other order; then through the sync job into the store.
 */
import { readFileSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { MemoryStore, PriceStore } from "@spotfleet/engine"
import { Effect } from "effect"
import { afterAll, beforeAll } from "vitest"
import { OnDemandOffer, PriceSync } from "../src/index.js"

const file = fileURLToPath(new URL("./fixtures/ec2-offer-us-east-1-sample.json", import.meta.url))
const text = readFileSync(file, "utf8")
const demoTypes = { instanceTypes: ["c5a.xlarge", "c5a.2xlarge"] }
const prices = (r: OnDemandOffer.OfferResult) => r.prices.map((p) => [p.instanceType, p.region, p.price, p.sku])

let server: Server
let base = ""
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url !== "/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json") {
      res.writeHead(404).end("not found")
      return
    }
    res.writeHead(200, { "content-type": "application/json" })
    // 512-byte chunks: tokens and strings split across chunks
    const bytes = Buffer.from(text)
    for (let i = 0; i < bytes.length; i += 512) res.write(bytes.subarray(i, i + 512))
    res.end()
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  base = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

describe("OnDemandOffer", () => {
  it.effect("keeps the Linux, shared, used-capacity, no-software hourly price of the types asked for", () =>
    Effect.gen(function*() {
      const result = yield* OnDemandOffer.read(file, demoTypes)
      assert.deepStrictEqual(prices(result), [
        ["c5a.2xlarge", "us-east-1", 0.308, "AAAA2XLARGELINUX"],
        ["c5a.xlarge", "us-east-1", 0.154, "AAAAXLARGELINUX1"]
      ])
      assert.strictEqual(result.publicationDate, "2026-01-01T00:00:00Z")
      assert.strictEqual(result.products, 8)
      assert.strictEqual(result.conflicts, 0)
      assert.strictEqual(result.withoutPrice, 0)
    }))

  it.effect("every type by default; other operating systems and tenancies on request", () =>
    Effect.gen(function*() {
      assert.deepStrictEqual(prices(yield* OnDemandOffer.read(file)).map((p) => p[0]), ["c5a.2xlarge", "c5a.xlarge", "m5.large"])
      assert.deepStrictEqual(prices(yield* OnDemandOffer.read(file, { operatingSystem: "Windows" })), [["c5a.xlarge", "us-east-1", 0.338, "AAAAXLARGEWINDOW"]])
      assert.deepStrictEqual(prices(yield* OnDemandOffer.read(file, { tenancy: "Dedicated" })), [["c5a.xlarge", "us-east-1", 0.17, "AAAAXLARGEDEDICA"]])
      assert.deepStrictEqual(prices(yield* OnDemandOffer.read(file, { regions: ["eu-west-1"] })), [])
    }))

  it.effect("reads a URL as a stream of small chunks", () =>
    Effect.gen(function*() {
      const result = yield* OnDemandOffer.read(`${base}/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json`, demoTypes)
      assert.deepStrictEqual(prices(result).map((p) => p[2]), [0.308, 0.154])
    }))

  it.effect("terms before products give the same prices", () =>
    Effect.gen(function*() {
      const doc = JSON.parse(text) as { products: unknown; terms: unknown }
      const reordered = JSON.stringify({ terms: doc.terms, products: doc.products })
      assert.deepStrictEqual(prices(yield* OnDemandOffer.parse(reordered, demoTypes)), prices(yield* OnDemandOffer.read(file, demoTypes)))
    }))

  it.effect("errors name the source and the reason", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(OnDemandOffer.read("/nonexistent/offer.json"))
      assert.strictEqual(missing.message, "offer file /nonexistent/offer.json: no such file")
      const notFound = yield* Effect.flip(OnDemandOffer.read(`${base}/nope.json`))
      assert.strictEqual(notFound.message, `offer file ${base}/nope.json: HTTP 404 Not Found`)
      const broken = yield* Effect.flip(OnDemandOffer.parse("{\"products\": {\"x\": [1,}"))
      assert.match(broken.reason, /^not an offer file: /)
      const other = yield* Effect.flip(OnDemandOffer.parse("{\"SpotPriceHistory\": []}"))
      assert.match(other.reason, /^no products/)
    }))

  it.effect("the sync job stores the offer file's prices where the engine keeps on-demand prices", () =>
    Effect.gen(function*() {
      const summary = yield* PriceSync.run({ spot: null, onDemand: { source: file, filter: demoTypes } })
      assert.deepStrictEqual(summary.onDemand, { source: file, publicationDate: "2026-01-01T00:00:00Z", stored: 2 })
      const stored = yield* Effect.flatMap(PriceStore.PriceStore, (s) => s.onDemandPrices)
      assert.deepStrictEqual(stored.map((p) => [p.instanceType, p.region, p.price]).sort(), [["c5a.2xlarge", "us-east-1", 0.308], ["c5a.xlarge", "us-east-1", 0.154]])
    }).pipe(Effect.provide(MemoryStore.layer)))

  it("the shipped table agrees with the demo's on-demand table (examples/server/demo)", () => {
    const demo = JSON.parse(readFileSync(new URL("../../../examples/server/demo/on-demand-prices.json", import.meta.url), "utf8")) as {
      readonly region: string
      readonly prices: ReadonlyArray<{ readonly instanceType: string; readonly price: number }>
    }
    assert.deepStrictEqual(
      OnDemandOffer.shipped.prices.map((p) => [p.instanceType, p.region, p.price]).sort(),
      demo.prices.map((p) => [p.instanceType, demo.region, p.price]).sort()
    )
  })
})
