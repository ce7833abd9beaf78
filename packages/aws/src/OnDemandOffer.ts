/**
 * On-demand prices from the AWS Price List offer file of EC2 (the "bulk API" JSON:
 * `https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/<region>/index.json`),
 * read from a file or a URL as a stream, keeping only the instance types and regions asked for,
 * plus {@link shipped}, a small table for the demo's instance types.
 *
 * A price is the hourly USD price of the product whose attributes match the filter: by default
 * Linux, shared tenancy, no pre-installed software, no license, capacity status `Used` (the
 * price of running an instance; `UnusedCapacityReservation` and `AllocatedCapacityReservation`
 * are the reservation rows), market option `OnDemand`. An attribute a file does not carry does
 * not exclude a product (older files have no `marketoption`).
 *
 * @since 0.1.0
 */
import { Effect, Schema } from "effect"
import * as internal from "./internal/offerFile.js"

/**
 * An offer file could not be read or is not one.
 *
 * @since 0.1.0
 * @category errors
 */
export class OfferFileError extends Schema.TaggedError<OfferFileError>()("OfferFileError", {
  /** The file path or URL. */
  source: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `offer file ${this.source}: ${this.reason}`
  }
}

/**
 * Which products to keep.
 *
 * @since 0.1.0
 * @category models
 */
export interface OfferFilter {
  /** Instance types (`c5a.xlarge`, …); default every type. */
  readonly instanceTypes?: ReadonlyArray<string> | undefined
  /** Region codes (`us-east-1`, …, the `regionCode` attribute); default every region of the file. */
  readonly regions?: ReadonlyArray<string> | undefined
  /** The `operatingSystem` attribute; default `Linux` (the on-demand price of `Linux/UNIX`). */
  readonly operatingSystem?: string | undefined
  /** The `tenancy` attribute; default `Shared`. */
  readonly tenancy?: string | undefined
  /** The `preInstalledSw` attribute; default `NA`. */
  readonly preInstalledSw?: string | undefined
}

/**
 * An on-demand price found in an offer file.
 *
 * @since 0.1.0
 * @category models
 */
export interface OfferPrice {
  readonly instanceType: string
  readonly region: string
  /** The `location` attribute (`US East (N. Virginia)`). */
  readonly location: string
  /** USD per instance-hour. */
  readonly price: number
  readonly sku: string
  /** The term's `effectiveDate`, as written. */
  readonly effectiveDate: string | null
}

/**
 * What an offer file gave.
 *
 * @since 0.1.0
 * @category models
 */
export interface OfferResult {
  readonly source: string
  /** The file's `publicationDate`. */
  readonly publicationDate: string | null
  /** Products in the file (all of them, before filtering). */
  readonly products: number
  /** One price per instance type and region, sorted by region then type. */
  readonly prices: ReadonlyArray<OfferPrice>
  /** Matching products of one type and region with different prices (the lowest is kept). */
  readonly conflicts: number
  /** Matching products without an hourly USD on-demand price. */
  readonly withoutPrice: number
}

const toError = (source: string) => (e: unknown): OfferFileError =>
  e instanceof OfferFileError
    ? e
    : new OfferFileError({ source, reason: ((e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "").slice(0, 500) })

/**
 * Reads an offer file from a path, a `file://` URL or an `http(s)://` URL, streaming.
 *
 * @since 0.1.0
 * @category constructors
 */
export const read = (source: string, filter: OfferFilter = {}): Effect.Effect<OfferResult, OfferFileError> =>
  Effect.tryPromise({
    try: async (signal) => internal.parseChunks(source, await internal.open(source, signal), filter),
    catch: toError(source)
  })

/**
 * Reads an offer file's text already in memory.
 *
 * @since 0.1.0
 * @category constructors
 */
export const parse = (text: string, filter: OfferFilter = {}, source = "text"): Effect.Effect<OfferResult, OfferFileError> =>
  Effect.tryPromise({
    try: () => internal.parseChunks(source, [text] as unknown as AsyncIterable<string>, filter),
    catch: toError(source)
  })

/**
 * The on-demand prices of the demo's instance types (`c5a.xlarge`, `c5a.2xlarge` in
 * `us-east-1`), for hosts without access to the price list.
 *
 * Source: the AWS EC2 on-demand price list for US East (N. Virginia), Linux, shared tenancy, no
 * pre-installed software (https://aws.amazon.com/ec2/pricing/on-demand/, the offer file
 * `https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/us-east-1/index.json`),
 * as published in 2025–2026 (unchanged since the c5a launch in 2020). Read the offer file with
 * {@link read} for current prices.
 *
 * @since 0.1.0
 * @category constants
 */
export const shipped: {
  readonly source: string
  readonly prices: ReadonlyArray<{ readonly instanceType: string; readonly region: string; readonly price: number }>
} = {
  source: "AWS EC2 on-demand price list, us-east-1, Linux, shared tenancy (https://aws.amazon.com/ec2/pricing/on-demand/)",
  prices: [
    { instanceType: "c5a.xlarge", region: "us-east-1", price: 0.154 },
    { instanceType: "c5a.2xlarge", region: "us-east-1", price: 0.308 }
  ]
}
