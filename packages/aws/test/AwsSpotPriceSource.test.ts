/**
 * The AWS spot price source and the sync job against moto_server (a real AWS API emulator):
 * stock moto, and moto seeded with a multi-product, multi-page history (test/moto/seeded_moto.py).
 * Nothing here can reach AWS or the instance metadata service: endpoint, region and static dummy
 * credentials are explicit, and AWS_EC2_METADATA_DISABLED is set.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DescribeSpotPriceHistoryCommand, EC2Client, type SpotPrice } from "@aws-sdk/client-ec2"
import { assert, describe, it } from "@effect/vitest"
import { MemoryStore, Pool, PriceHistorySource, PriceStore } from "@spotfleet/engine"
import { Context, Effect, Either, Layer } from "effect"
import { afterAll, beforeAll } from "vitest"
import { AwsSpotPriceSource, PriceSync } from "../src/index.js"
import { MotoServer } from "../src/testing.js"

process.env.AWS_EC2_METADATA_DISABLED = "true"
const credentials = { accessKeyId: "AKIDTESTTESTTESTTEST", secretAccessKey: "test-secret-not-a-real-key" }
const SLOT = 300_000
const python = MotoServer.available()

/** Every record of a direct SDK call, all pages (NextToken chained by hand). */
const direct = async (endpoint: string, region: string, input: ConstructorParameters<typeof DescribeSpotPriceHistoryCommand>[0]) => {
  const client = new EC2Client({ region, endpoint, credentials, maxAttempts: 1 })
  const out: Array<SpotPrice> = []
  let token: string | undefined
  do {
    const page = await client.send(new DescribeSpotPriceHistoryCommand({ ...input, NextToken: token }))
    out.push(...(page.SpotPriceHistory ?? []))
    token = page.NextToken
  } while (token !== undefined && token !== "")
  client.destroy()
  return out
}

const key = (r: { readonly instanceType: string; readonly availabilityZone: string; readonly productDescription: string; readonly price: number; readonly observedAt: number }) =>
  `${r.productDescription}|${r.instanceType}|${r.availabilityZone}|${r.price}|${r.observedAt}`
const sdkKey = (r: SpotPrice) => `${r.ProductDescription}|${r.InstanceType}|${r.AvailabilityZone}|${Number(r.SpotPrice)}|${r.Timestamp!.getTime()}`

/** The pool the engine gives a record (pool identity is the engine's rule: its own export parser). */
const enginePool = (r: SpotPrice): string => {
  const parsed = PriceHistorySource.parseJson(JSON.stringify({ SpotPriceHistory: [r] }), { productDescription: null })
  if (Either.isLeft(parsed) || parsed.right.length !== 1) throw new Error(`the engine does not parse ${JSON.stringify(r)}`)
  return parsed.right[0]!.pool
}

/** The price each pool's slot must hold: the last record in the slot. */
const expectedSlots = (records: ReadonlyArray<SpotPrice>, poolOf: (r: SpotPrice) => string) => {
  const out = new Map<string, { readonly at: number; readonly price: number }>()
  for (const r of records) {
    const at = r.Timestamp!.getTime()
    const k = `${poolOf(r)}@${Math.floor(at / SLOT) * SLOT}`
    const seen = out.get(k)
    if (seen === undefined || seen.at <= at) out.set(k, { at, price: Number(r.SpotPrice) })
  }
  return out
}

/** Checks that the consolidated and canonical tiers hold the expected slot prices as backfilled points. */
const checkStored = (expected: Map<string, { readonly price: number }>, from: number, to: number) =>
  Effect.gen(function*() {
    const store = yield* PriceStore.PriceStore
    let checked = 0
    for (const [k, { price }] of expected) {
      const [pool, slot] = k.split("@") as [Pool.PoolId, string]
      const at = Number(slot)
      if (at < from || at >= to) continue
      const consolidated = yield* store.consolidated({ pool, from: at, to: at + SLOT })
      assert.strictEqual(consolidated.length, 1, `consolidated point of ${k}`)
      assert.strictEqual(consolidated[0]!.price, price, `consolidated price of ${k}`)
      assert.strictEqual(consolidated[0]!.source, "backfilled")
      const canonical = yield* store.canonical({ pool, from: at, to: at + SLOT })
      assert.strictEqual(canonical.length, 1, `canonical point of ${k}`)
      assert.strictEqual(canonical[0]!.price, price, `canonical price of ${k}`)
      checked++
    }
    return checked
  })

describe.skipIf(python === null)("stock moto_server", () => {
  let moto: MotoServer.Moto
  beforeAll(async () => {
    moto = await MotoServer.start(python!)
  })
  afterAll(async () => {
    await moto?.stop()
  })

  // moto answers with one record per offering of the region, product "Linux/UNIX (Amazon VPC)",
  // price 0.00001, at 2006-01-02T15:04:05.999Z, in one page whatever MaxResults says.
  const from = Date.parse("2006-01-02T00:00:00Z")
  const to = Date.parse("2006-01-03T00:00:00Z")
  const types = ["m5.large", "t3.micro", "c5a.xlarge"]
  const product = "Linux/UNIX (Amazon VPC)"

  it.effect("reads what DescribeSpotPriceHistory returns, as a direct SDK call sees it", () =>
    Effect.gen(function*() {
      const pages: Array<AwsSpotPriceSource.PageProgress> = []
      const result = yield* AwsSpotPriceSource.fetch({
        region: "us-east-1",
        endpoint: moto.endpoint,
        credentials,
        from,
        to,
        instanceTypes: types,
        productDescriptions: [product],
        pageSize: 5,
        onPage: (p) => Effect.sync(() => void pages.push(p))
      })
      const sdk = yield* Effect.promise(() => direct(moto.endpoint, "us-east-1", { InstanceTypes: types as never, StartTime: new Date(from), EndTime: new Date(to) }))
      assert.isAbove(sdk.length, 5)
      assert.deepStrictEqual(result.rows.map(key).sort(), sdk.map(sdkKey).sort())
      assert.deepStrictEqual(result.regions, [{ region: "us-east-1", pages: pages.length, records: sdk.length, otherProducts: 0 }])
      assert.strictEqual(pages.at(-1)!.total, sdk.length)
    }))

  it.effect("as a layer: the engine's PriceHistorySource with a pool per record and the records as history", () =>
    Effect.gen(function*() {
      const context = yield* Layer.build(AwsSpotPriceSource.layer({ region: "us-east-1", endpoint: moto.endpoint, credentials, from, to, instanceTypes: types, productDescriptions: [product] }))
      const source = Context.get(context, PriceHistorySource.PriceHistorySource)
      const sdk = yield* Effect.promise(() => direct(moto.endpoint, "us-east-1", { InstanceTypes: types as never, StartTime: new Date(from), EndTime: new Date(to) }))
      const pools = yield* source.pools
      assert.deepStrictEqual([...pools].sort(), [...new Set(sdk.map(enginePool))].sort())
      for (const r of sdk) {
        const history = yield* source.history(enginePool(r) as Pool.PoolId, from, to)
        assert.deepStrictEqual(history, [{ observedAt: r.Timestamp!.getTime(), price: Number(r.SpotPrice) }])
      }
    }).pipe(Effect.scoped))

  it.effect("the sync job stores what moto returns in both price tiers", () =>
    Effect.gen(function*() {
      const summary = yield* PriceSync.run({
        spot: { region: "us-east-1", endpoint: moto.endpoint, credentials, from, to, instanceTypes: types, productDescriptions: [product] },
        onDemand: "shipped"
      })
      const sdk = yield* Effect.promise(() => direct(moto.endpoint, "us-east-1", { InstanceTypes: types as never, StartTime: new Date(from), EndTime: new Date(to) }))
      const expected = expectedSlots(sdk, enginePool)
      const checked = yield* checkStored(expected, from, to)
      assert.strictEqual(checked, sdk.length)
      assert.strictEqual(summary.spot!.records[product], sdk.length)
      assert.strictEqual(summary.spot!.run.status, "succeeded")
      assert.isAtLeast(summary.spot!.run.backfilled, sdk.length)
      const store = yield* PriceStore.PriceStore
      assert.deepStrictEqual((yield* store.onDemandPrices).map((p) => [p.instanceType, p.region, p.price]).sort(), [["c5a.2xlarge", "us-east-1", 0.308], ["c5a.xlarge", "us-east-1", 0.154]])
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("an AWS error answer is an AwsError with the AWS code (moto with IAM authentication on)", () =>
    Effect.gen(function*() {
      const strict = yield* Effect.acquireRelease(
        Effect.promise(() => MotoServer.start(python!, { env: { INITIAL_NO_AUTH_ACTION_COUNT: "0" } })),
        (m) => Effect.promise(m.stop)
      )
      const error = yield* Effect.flip(AwsSpotPriceSource.fetch({ region: "us-east-1", endpoint: strict.endpoint, credentials, from, to, maxAttempts: 1 }))
      assert.strictEqual(error.code, "AuthFailure")
      assert.strictEqual(error.httpStatus, 401)
      assert.strictEqual(error.message, "DescribeSpotPriceHistory (us-east-1): AuthFailure: AWS was not able to validate the provided access credentials")
    }).pipe(Effect.scoped))

  it.effect("an unreachable endpoint is an AwsError with a code, no stack trace", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(AwsSpotPriceSource.fetch({ region: "us-east-1", endpoint: "http://127.0.0.1:9", credentials, from, to, maxAttempts: 1 }))
      assert.strictEqual(error._tag, "AwsError")
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.notInclude(error.message, "\n")
      assert.match(error.message, /^DescribeSpotPriceHistory \(us-east-1\): ECONNREFUSED: /)
    }))
})

describe.skipIf(python === null)("moto_server seeded with a multi-product history", () => {
  const T0 = Date.parse("2026-03-01T00:00:00Z")
  const HOUR = 3_600_000
  const linux = "Linux/UNIX"
  const windows = "Windows"
  // 2 types × 2 zones × 2 products, a price change every 17 minutes for 6 hours, in each of two
  // regions; Windows prices are far from Linux ones so a mix-up cannot go unseen.
  const seed: Record<string, Array<Record<string, string>>> = {}
  for (const region of ["us-east-1", "eu-west-1"]) {
    const rows: Array<Record<string, string>> = (seed[region] = [])
    let n = 0
    for (const type of ["m5.large", "c5a.xlarge"]) {
      for (const zone of ["a", "b"]) {
        for (const product of [linux, windows]) {
          for (let t = T0; t < T0 + 6 * HOUR; t += 17 * 60_000) {
            n++
            const base = product === linux ? 0.03 : 0.4
            rows.push({
              InstanceType: type,
              ProductDescription: product,
              SpotPrice: (base + (n % 37) / 10_000).toFixed(6),
              AvailabilityZone: `${region}${zone}`,
              Timestamp: new Date(t + (n % 13) * 1000).toISOString()
            })
          }
        }
      }
    }
  }
  let moto: MotoServer.Moto
  beforeAll(async () => {
    const file = join(tmpdir(), `spotfleet-moto-seed-${process.pid}.json`)
    writeFileSync(file, JSON.stringify(seed))
    moto = await MotoServer.start(python!, { seedFile: file })
  })
  afterAll(async () => {
    await moto?.stop()
  })
  const from = T0 + HOUR
  const to = T0 + 5 * HOUR

  it.effect("pages through DescribeSpotPriceHistory (MaxResults 5), per region, per product", () =>
    Effect.gen(function*() {
      for (const product of [linux, windows]) {
        const pages: Array<AwsSpotPriceSource.PageProgress> = []
        const result = yield* AwsSpotPriceSource.fetch({
          region: ["us-east-1", "eu-west-1"],
          endpoint: moto.endpoint,
          credentials,
          from,
          to,
          productDescriptions: [product],
          pageSize: 5,
          onPage: (p) => Effect.sync(() => void pages.push(p))
        })
        for (const region of ["us-east-1", "eu-west-1"]) {
          const sdk = yield* Effect.promise(() => direct(moto.endpoint, region, { ProductDescriptions: [product], StartTime: new Date(from), EndTime: new Date(to), MaxResults: 50 }))
          assert.isAbove(sdk.length, 50)
          const mine = result.rows.filter((r) => r.availabilityZone.startsWith(region))
          assert.deepStrictEqual(mine.map(key).sort(), sdk.map(sdkKey).sort(), `${product} in ${region}`)
          const regionPages = pages.filter((p) => p.region === region)
          assert.strictEqual(regionPages.length, Math.ceil(sdk.length / 5))
          assert.isTrue(regionPages.every((p) => p.records <= 5))
        }
        assert.isTrue(result.rows.every((r) => r.productDescription === product))
      }
    }))

  it.effect("the sync job stores what moto returns, Linux/UNIX apart from Windows", () =>
    Effect.gen(function*() {
      const summary = yield* PriceSync.run({
        spot: { region: ["us-east-1", "eu-west-1"], endpoint: moto.endpoint, credentials, from, to, productDescriptions: [linux], pageSize: 7 },
        onDemand: null
      })
      const sdk = yield* Effect.promise(async () => [
        ...(await direct(moto.endpoint, "us-east-1", { ProductDescriptions: [linux], StartTime: new Date(from), EndTime: new Date(to) })),
        ...(await direct(moto.endpoint, "eu-west-1", { ProductDescriptions: [linux], StartTime: new Date(from), EndTime: new Date(to) }))
      ])
      assert.deepStrictEqual(summary.spot!.records, { [linux]: sdk.length })
      assert.deepStrictEqual(summary.spot!.pools, { [linux]: 8 })
      const expected = expectedSlots(sdk, enginePool)
      const checked = yield* checkStored(expected, from, to)
      // moto also sent each pool's last change before `from` (the price in effect at the start)
      const before = sdk.filter((r) => r.Timestamp!.getTime() < from)
      assert.strictEqual(before.length, 8)
      assert.strictEqual(checked, expected.size - before.length)
      // No stored point carries a Windows price (Windows ≥ 0.4, Linux < 0.04).
      const store = yield* PriceStore.PriceStore
      for (const pool of new Set([...expected.keys()].map((k) => k.split("@")[0] as Pool.PoolId))) {
        const points = yield* store.consolidated({ pool, from, to })
        assert.isAbove(points.length, 0)
        assert.isTrue(points.every((p) => p.price < 0.1), `${pool} holds only Linux/UNIX prices`)
      }
      // A repeat over the same window changes nothing.
      const again = yield* PriceSync.run({
        spot: { region: ["us-east-1", "eu-west-1"], endpoint: moto.endpoint, credentials, from, to, productDescriptions: [linux] },
        onDemand: null
      })
      assert.strictEqual(again.spot!.run.backfilled, summary.spot!.run.backfilled)
      assert.strictEqual(again.spot!.run.written, 0)
      assert.strictEqual(again.spot!.run.canonical, 0)
    }).pipe(Effect.provide(MemoryStore.layer)))

  it.effect("two products in one sync: each in its own pools, or refused when pool ids carry no product", () =>
    Effect.gen(function*() {
      const outcome = yield* Effect.either(PriceSync.run({
        spot: { region: "us-east-1", endpoint: moto.endpoint, credentials, from, to, productDescriptions: [linux, windows] },
        onDemand: null
      }))
      const sample = Pool.make("m5.large", "us-east-1a")
      const fetched = yield* AwsSpotPriceSource.fetch({ region: "us-east-1", endpoint: moto.endpoint, credentials, from, to, productDescriptions: [windows] })
      const productsShareIds = fetched.rows.some((r) => r.pool === sample)
      if (productsShareIds) {
        // This engine's pool ids have no product: mixing would overwrite, so the sync refuses.
        assert.isTrue(Either.isLeft(outcome))
        if (Either.isLeft(outcome)) {
          assert.strictEqual(outcome.left._tag, "AwsError")
          assert.include(outcome.left.message, "ProductsShareAPool")
        }
      } else {
        // Pool ids carry the product: each product's pools hold that product's prices only.
        assert.isTrue(Either.isRight(outcome))
        const store = yield* PriceStore.PriceStore
        for (const r of fetched.rows) {
          const points = yield* store.consolidated({ pool: r.pool, from, to })
          assert.isTrue(points.length > 0 && points.every((p) => p.price >= 0.4), `${r.pool} holds only Windows prices`)
        }
        const linuxPoints = yield* store.consolidated({ pool: sample, from, to })
        assert.isTrue(linuxPoints.length > 0 && linuxPoints.every((p) => p.price < 0.1))
      }
    }).pipe(Effect.provide(MemoryStore.layer)))
})
