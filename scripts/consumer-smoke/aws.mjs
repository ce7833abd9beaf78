// @spotfleet/aws from its tarball: the AWS SDK loads and a call to an endpoint that refuses is an
// AwsError with its code (nothing reaches AWS: static dummy credentials, loopback endpoint, no
// instance metadata); an offer file text is read; the sync stores the shipped on-demand prices; the
// testing entry loads.
import { AwsSpotPriceSource, OnDemandOffer, PriceSync } from "@spotfleet/aws"
import { MotoServer } from "@spotfleet/aws/testing"
import { MemoryStore, PriceStore } from "@spotfleet/engine"
import { Effect } from "effect"

if (typeof MotoServer.start !== "function" || typeof MotoServer.available !== "function") throw new Error("@spotfleet/aws/testing: no MotoServer")
process.env.AWS_EC2_METADATA_DISABLED = "true"
const error = await Effect.runPromise(Effect.flip(AwsSpotPriceSource.fetch({
  region: "us-east-1",
  endpoint: "http://127.0.0.1:9",
  credentials: { accessKeyId: "AKIDSMOKE", secretAccessKey: "smoke" },
  from: 0,
  to: 1,
  maxAttempts: 1
})))
if (error._tag !== "AwsError" || error.code !== "ECONNREFUSED") throw new Error(`unexpected ${error.message}`)

const offer = JSON.stringify({
  publicationDate: "2026-01-01T00:00:00Z",
  products: { SKU1: { sku: "SKU1", attributes: { instanceType: "c5a.xlarge", regionCode: "us-east-1", operatingSystem: "Linux", tenancy: "Shared", capacitystatus: "Used", preInstalledSw: "NA" } } },
  terms: { OnDemand: { SKU1: { "SKU1.T": { priceDimensions: { "SKU1.T.R": { unit: "Hrs", pricePerUnit: { USD: "0.1540000000" } } } } } } }
})
const read = await Effect.runPromise(OnDemandOffer.parse(offer))
if (read.prices.length !== 1 || read.prices[0].price !== 0.154) throw new Error(`unexpected offer ${JSON.stringify(read)}`)

const stored = await Effect.runPromise(
  Effect.gen(function*() {
    yield* PriceSync.run({ spot: null, onDemand: "shipped" })
    return yield* Effect.flatMap(PriceStore.PriceStore, (s) => s.onDemandPrices)
  }).pipe(Effect.provide(MemoryStore.layer))
)
console.log(`aws: ${error.code} as AwsError, offer file ${read.prices.length} price, ${stored.length} shipped on-demand prices stored`)
