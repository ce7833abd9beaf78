import {
  type DescribeSpotPriceHistoryCommandInput,
  EC2Client,
  type EC2ClientConfig,
  paginateDescribeSpotPriceHistory,
  type SpotPrice
} from "@aws-sdk/client-ec2"
import { PriceHistorySource } from "@spotfleet/engine"
import { Effect, Either } from "effect"
import type { FetchOptions, FetchResult, PageProgress } from "../AwsSpotPriceSource.js"
import { AwsError } from "../AwsError.js"

/** The client of one region: the SDK's standard chain for whatever the options leave out. */
export const clientFor = (options: FetchOptions, region: string | undefined): EC2Client => {
  const config: EC2ClientConfig = { maxAttempts: options.maxAttempts ?? 3 }
  if (region !== undefined) config.region = region
  if (options.endpoint !== undefined) config.endpoint = options.endpoint
  if (options.credentials !== undefined) config.credentials = options.credentials
  return new EC2Client(config)
}

/** One region's records in the window, all pages, filtered to the products asked for. */
const fetchRegion = (
  options: FetchOptions,
  region: string | undefined,
  onPage: (page: PageProgress) => Effect.Effect<void>
): Effect.Effect<{ readonly region: string; readonly items: Array<SpotPrice>; readonly pages: number; readonly dropped: number }, AwsError> =>
  Effect.acquireUseRelease(
    Effect.sync(() => clientFor(options, region)),
    (client) =>
      Effect.gen(function*() {
        const resolvedRegion = yield* Effect.tryPromise({
          try: () => client.config.region(),
          catch: (e) => AwsError.fromUnknown(e, "DescribeSpotPriceHistory", region ?? null)
        })
        const products = options.productDescriptions ?? ["Linux/UNIX"]
        const wanted = new Set(products)
        const items: Array<SpotPrice> = []
        let pages = 0
        let dropped = 0
        const iterate = (signal: AbortSignal) =>
          paginateDescribeSpotPriceHistory(
            { client, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) },
            {
              StartTime: new Date(options.from),
              EndTime: new Date(options.to),
              ...(options.instanceTypes === undefined || options.instanceTypes.length === 0
                ? {}
                : { InstanceTypes: [...options.instanceTypes] as DescribeSpotPriceHistoryCommandInput["InstanceTypes"] }),
              ...(products.length === 0 ? {} : { ProductDescriptions: [...products] }),
              ...(options.availabilityZone === undefined ? {} : { AvailabilityZone: options.availabilityZone })
            },
            { abortSignal: signal }
          )[Symbol.asyncIterator]()
        const iterator = yield* Effect.sync(() => {
          const controller = new AbortController()
          return { controller, it: iterate(controller.signal) }
        })
        while (true) {
          const next = yield* Effect.tryPromise({
            try: () => iterator.it.next(),
            catch: (e) => AwsError.fromUnknown(e, "DescribeSpotPriceHistory", resolvedRegion)
          }).pipe(Effect.onInterrupt(() => Effect.sync(() => iterator.controller.abort())))
          if (next.done === true) break
          pages++
          const page = next.value.SpotPriceHistory ?? []
          for (const item of page) {
            // The API filters by product already; an emulator or proxy that ignores the filter
            // must not let another product's prices in.
            if (products.length > 0 && !wanted.has(item.ProductDescription ?? "")) dropped++
            else items.push(item)
          }
          yield* onPage({ region: resolvedRegion, page: pages, records: page.length, total: items.length })
        }
        return { region: resolvedRegion, items, pages, dropped }
      }),
    (client) => Effect.sync(() => client.destroy())
  )

/** Every region's records, parsed into the engine's rows (the engine owns pool identity). */
export const fetchHistory = (
  options: FetchOptions
): Effect.Effect<FetchResult, AwsError> =>
  Effect.gen(function*() {
    const regions: ReadonlyArray<string | undefined> = options.region === undefined
      ? [undefined]
      : typeof options.region === "string"
      ? [options.region]
      : options.region
    const onPage = options.onPage ?? (() => Effect.void)
    const perRegion = yield* Effect.forEach(regions, (r) => fetchRegion(options, r, onPage), { concurrency: 4 })
    const items = perRegion.flatMap((r) => r.items)
    const parsed = PriceHistorySource.parseJson(
      JSON.stringify({ SpotPriceHistory: items }),
      { productDescription: null }
    )
    if (Either.isLeft(parsed)) {
      return yield* Effect.fail(new AwsError({ operation: "DescribeSpotPriceHistory", code: "InvalidResponse", region: null, httpStatus: null, reason: parsed.left.reason }))
    }
    // A pool id that several products map to would mix their prices: refuse (one product per run).
    const productOf = new Map<string, string>()
    for (const row of parsed.right) {
      const seen = productOf.get(row.pool)
      if (seen === undefined) productOf.set(row.pool, row.productDescription)
      else if (seen !== row.productDescription) {
        return yield* Effect.fail(
          new AwsError({
            operation: "DescribeSpotPriceHistory",
            code: "ProductsShareAPool",
            region: null,
            httpStatus: null,
            reason: `"${seen}" and "${row.productDescription}" both map to pool ${row.pool}: this engine's pool ids carry no product, sync one product at a time`
          })
        )
      }
    }
    return {
      rows: parsed.right,
      regions: perRegion.map((r) => ({ region: r.region, pages: r.pages, records: r.items.length, otherProducts: r.dropped }))
    }
  })
