/**
 * The engine's `PriceHistorySource` port on AWS EC2 `DescribeSpotPriceHistory` (AWS SDK for
 * JavaScript v3): every page of the price history of the regions, instance types and products
 * asked for, over a time window, read once when the layer is built and served from memory.
 *
 * Credentials and region come from the SDK's standard chain (environment, shared config and
 * credentials files, SSO, container and instance roles) unless the options give them; the
 * endpoint can be pointed at an emulator or a VPC endpoint.
 *
 * Pool identity belongs to the engine: the records go through the engine's own
 * `PriceHistorySource.parseJson`, as an export of `aws ec2 describe-spot-price-history` would.
 *
 * @since 0.1.0
 */
import type { EC2ClientConfig } from "@aws-sdk/client-ec2"
import { PriceHistorySource } from "@spotfleet/engine"
import { Effect, Layer } from "effect"
import type { AwsError } from "./AwsError.js"
import * as internal from "./internal/spotHistory.js"

/**
 * Progress of the reading: one call per page received.
 *
 * @since 0.1.0
 * @category models
 */
export interface PageProgress {
  readonly region: string
  /** The page's number in its region, from 1. */
  readonly page: number
  /** Records on this page (all products). */
  readonly records: number
  /** Records of the products asked for, read so far in this region. */
  readonly total: number
}

/**
 * What to read.
 *
 * @since 0.1.0
 * @category models
 */
export interface FetchOptions {
  /**
   * One region or several (read side by side); default: the region of the SDK's standard chain
   * (`AWS_REGION`, the shared config file's profile).
   */
  readonly region?: string | ReadonlyArray<string> | undefined
  /** The endpoint instead of the region's public one (an emulator, a VPC endpoint). */
  readonly endpoint?: string | undefined
  /** Credentials instead of the SDK's standard chain. */
  readonly credentials?: EC2ClientConfig["credentials"] | undefined
  /** Window start, epoch milliseconds (AWS also returns the last price change before it: the price in effect at the start). */
  readonly from: number
  /** Window end, epoch milliseconds. */
  readonly to: number
  /** Instance types to read (`m5.large`, …); default every type. */
  readonly instanceTypes?: ReadonlyArray<string> | undefined
  /**
   * Product descriptions to read, as AWS writes them (`Linux/UNIX`, `SUSE Linux`, `Windows`,
   * `Linux/UNIX (Amazon VPC)`, …); default `["Linux/UNIX"]`, `[]` for every product.
   */
  readonly productDescriptions?: ReadonlyArray<string> | undefined
  /** One availability zone only. */
  readonly availabilityZone?: string | undefined
  /** Records per page (`MaxResults`, 5–1000 on AWS); default the SDK's (AWS: 1000). */
  readonly pageSize?: number | undefined
  /** Attempts per call, retries included (SDK default retry strategy); default 3. */
  readonly maxAttempts?: number | undefined
  /** Called after every page. */
  readonly onPage?: ((progress: PageProgress) => Effect.Effect<void>) | undefined
}

/**
 * What was read: the engine's rows and, per region, pages and records.
 *
 * @since 0.1.0
 * @category models
 */
export interface FetchResult {
  readonly rows: ReadonlyArray<PriceHistorySource.HistoryRow>
  readonly regions: ReadonlyArray<{
    readonly region: string
    readonly pages: number
    /** Records of the products asked for. */
    readonly records: number
    /** Records of other products the endpoint sent although they were not asked for (dropped). */
    readonly otherProducts: number
  }>
}

/**
 * Reads the price history: every page of every region, as the engine's rows.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fetch: (options: FetchOptions) => Effect.Effect<FetchResult, AwsError> = internal.fetchHistory

/**
 * Reads the price history and serves it as a `PriceHistorySource` (with what was read).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: FetchOptions
): Effect.Effect<{ readonly source: PriceHistorySource.PriceHistorySourceService; readonly result: FetchResult }, AwsError> =>
  Effect.map(internal.fetchHistory(options), (result) => ({ source: PriceHistorySource.makeMemory(result.rows), result }))

/**
 * The engine's `PriceHistorySource` on `DescribeSpotPriceHistory`: the history is read when the
 * layer is built (failing the build with an {@link AwsError}).
 *
 * ```ts
 * const source = AwsSpotPriceSource.layer({
 *   region: ["us-east-1", "eu-west-1"],
 *   instanceTypes: ["c5a.xlarge", "c5a.2xlarge"],
 *   from: Date.parse("2026-01-01"),
 *   to: Date.parse("2026-01-02")
 * })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: FetchOptions): Layer.Layer<PriceHistorySource.PriceHistorySource, AwsError> =>
  Layer.effect(PriceHistorySource.PriceHistorySource, Effect.map(make(options), (m) => m.source))
