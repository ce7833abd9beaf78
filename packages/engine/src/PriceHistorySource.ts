/**
 * Port: where the consolidation job backfills prices from when no agent reported them, plus
 * a pure parser for AWS `DescribeSpotPriceHistory` exports (CSV as written by the console or
 * by `aws ec2 describe-spot-price-history --output text`-to-CSV scripts, and the CLI's JSON).
 *
 * The parser only takes strings: reading files belongs to the host (the example server).
 *
 * @since 0.1.0
 */
import { Context, Effect, type Either, Layer, Schema } from "effect"
import type { HistoryRecord } from "./Consolidation.js"
import * as internal from "./internal/priceHistorySource.js"
import type { PoolId } from "./Pool.js"
import type * as Product from "./Product.js"
import { SnapshotDraft } from "./Pricing.js"

/**
 * Why a row of an export was skipped: a field is empty or missing, the timestamp is not a
 * time, the price is not a positive number, or the instance type and zone do not make a pool
 * (`Pool`'s own validation decides).
 *
 * @since 0.2.0
 * @category models
 */
export const SkipReason = Schema.Literal("missing-field", "bad-product", "bad-timestamp", "bad-price", "bad-pool")
/** @since 0.2.0 @category models */
export type SkipReason = typeof SkipReason.Type

/**
 * Each skip reason in words.
 *
 * @since 0.2.0
 * @category models
 */
export const skipReasons: Readonly<Record<SkipReason, string>> = {
  "missing-field": "missing field",
  "bad-product": "unknown product description",
  "bad-timestamp": "unparsable timestamp",
  "bad-price": "bad price",
  "bad-pool": "invalid instance type or availability zone"
}

/**
 * A row that was skipped: where (`line 7` of a CSV, `SpotPriceHistory[3]` of a JSON export), its
 * line number (CSV only), why, and the offending value.
 *
 * @since 0.2.0
 * @category models
 */
export const SkippedRow = Schema.Struct({
  where: Schema.String,
  line: Schema.NullOr(Schema.Number),
  reason: SkipReason,
  detail: Schema.String
})
/** @since 0.2.0 @category models */
export interface SkippedRow extends Schema.Schema.Type<typeof SkippedRow> {}

/**
 * A price history could not be read or parsed. `skipped` is the bad row that stopped a strict
 * parse.
 *
 * @since 0.1.0
 * @category errors
 */
export class PriceHistoryError extends Schema.TaggedError<PriceHistoryError>()("PriceHistoryError", {
  reason: Schema.String,
  skipped: Schema.optional(SkippedRow)
}) {
  override get message() {
    return `price history: ${this.reason}`
  }
}

/**
 * One parsed row of a spot price history export.
 *
 * @since 0.1.0
 * @category models
 */
export interface HistoryRow {
  readonly pool: PoolId
  readonly instanceType: string
  /** The zone as the pool has it: the row's AZ, or its name from `ParseOptions.zoneNames`. */
  readonly availabilityZone: string
  /** The product description as written in the export. */
  readonly productDescription: string
  /**
   * The product of `productDescription`; the row's pool is that product's pool.
   *
   * @since 0.2.0
   */
  readonly product: Product.Product
  readonly price: number
  readonly observedAt: number
}

/**
 * Options of the parsers.
 *
 * @since 0.1.0
 * @category models
 */
export interface ParseOptions {
  /**
   * Keep rows of this product only: an AWS product description (`SUSE Linux`) or a product slug
   * (`suse`). By default (undefined or null) every product is kept, each row in its product's
   * pool (`m5.large.us-east-1a~suse`), so products never share price points.
   */
  readonly productDescription?: string | null | undefined
  /**
   * AZ ID → AZ name (`{ "use1-az1": "us-east-1b" }`): rows of a listed AZ ID go to the pool of
   * that name, so they meet the pools agents report. Unlisted zones are kept as given (an AZ ID
   * makes its own pool, `m5.large.use1-az1`).
   *
   * @since 0.2.0
   */
  readonly zoneNames?: Readonly<Record<string, string>> | undefined
  /** Fail at the first bad row instead of skipping it (default false for `report*`; `parse*` are always strict). */
  readonly strict?: boolean | undefined
}

/**
 * What a parse read: the rows kept, how many data rows there were (CSV lines after the header,
 * blank lines aside; JSON items), how many were of another product (left out, not bad), and the
 * bad rows skipped, in file order.
 *
 * @since 0.2.0
 * @category models
 */
export interface ParseReport {
  readonly rows: ReadonlyArray<HistoryRow>
  readonly read: number
  readonly otherProducts: number
  readonly skipped: ReadonlyArray<SkippedRow>
}

/**
 * The price history source port.
 *
 * @since 0.1.0
 * @category models
 */
export interface PriceHistorySourceService {
  /** The pools this source knows. */
  readonly pools: Effect.Effect<ReadonlyArray<PoolId>, PriceHistoryError>
  /**
   * The records of a pool with `observedAt` in `[from, to)`, plus the last record before
   * `from` (the price in effect at `from`), ordered by time.
   */
  readonly history: (pool: PoolId, from: number, to: number) => Effect.Effect<ReadonlyArray<HistoryRecord>, PriceHistoryError>
}

/**
 * The price history source tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class PriceHistorySource extends Context.Tag("@spotfleet/engine/PriceHistorySource")<
  PriceHistorySource,
  PriceHistorySourceService
>() {}

/**
 * Reads an AWS spot price history CSV export (header `Timestamp,InstanceType,
 * ProductDescription,SpotPrice,AvailabilityZone`, columns in any order): bad rows are skipped
 * and listed with their line and reason (with `strict`, the first one fails the parse). Fails
 * only when the header lacks a column.
 *
 * @since 0.2.0
 * @category parsers
 */
export const reportCsv: (text: string, options?: ParseOptions) => Either.Either<ParseReport, PriceHistoryError> = internal.reportCsv

/**
 * Reads the JSON of `aws ec2 describe-spot-price-history` like {@link reportCsv}: bad items
 * are skipped and listed (`SpotPriceHistory[i]`). Fails when the text is not such a document.
 *
 * @since 0.2.0
 * @category parsers
 */
export const reportJson: (text: string, options?: ParseOptions) => Either.Either<ParseReport, PriceHistoryError> =
  internal.reportJson

/**
 * {@link reportCsv} or {@link reportJson}, whichever the text is.
 *
 * @since 0.2.0
 * @category parsers
 */
export const report: (text: string, options?: ParseOptions) => Either.Either<ParseReport, PriceHistoryError> = internal.report

/**
 * Parses an AWS spot price history CSV export (header `Timestamp,InstanceType,
 * ProductDescription,SpotPrice,AvailabilityZone`, columns in any order); the first bad row
 * fails the parse with its line and reason ({@link reportCsv} skips and counts them instead).
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseCsv: (text: string, options?: ParseOptions) => Either.Either<Array<HistoryRow>, PriceHistoryError> =
  internal.parseCsv

/**
 * Parses the JSON of `aws ec2 describe-spot-price-history` (`{"SpotPriceHistory": [...]}` or
 * a bare array of its items); the first bad item fails the parse.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseJson: (text: string, options?: ParseOptions) => Either.Either<Array<HistoryRow>, PriceHistoryError> =
  internal.parseJson

/**
 * Parses CSV or JSON, whichever the text is.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parse: (text: string, options?: ParseOptions) => Either.Either<Array<HistoryRow>, PriceHistoryError> =
  internal.parse

/**
 * Parses an AWS timestamp (`2023-12-30 21:17:02+00:00`, `2023-12-30T21:17:02.000Z`) to epoch
 * milliseconds; null when it is not one.
 *
 * @since 0.1.0
 * @category parsers
 */
export const parseTimestamp: (text: string) => number | null = internal.parseTimestamp

/**
 * Parsed rows as backfill snapshots for the snapshot tier.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toSnapshotDrafts = (rows: ReadonlyArray<HistoryRow>, receivedAt: number): Array<SnapshotDraft> =>
  rows.map((r) =>
    new SnapshotDraft({
      tenantId: null,
      pool: r.pool,
      price: r.price,
      observedAt: r.observedAt,
      reporterAgentId: null,
      reporterRole: null,
      source: "backfill",
      receivedAt
    }, true)
  )

/**
 * An in-memory source over parsed rows.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeMemory = (rows: ReadonlyArray<HistoryRow>): PriceHistorySourceService => {
  const byPool = internal.index(rows)
  const pools = [...byPool.keys()].sort()
  return {
    pools: Effect.succeed(pools),
    history: (pool, from, to) => Effect.sync(() => internal.window(byPool.get(pool) ?? [], from, to))
  }
}

/**
 * A layer of the in-memory source over parsed rows.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (rows: ReadonlyArray<HistoryRow>): Layer.Layer<PriceHistorySource> =>
  Layer.succeed(PriceHistorySource, makeMemory(rows))

/**
 * A layer of the in-memory source over export texts (CSV or JSON), parsed once at build time
 * (strictly: a bad row fails the layer; read with {@link report} and use {@link layerMemory} to
 * skip bad rows).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerText = (
  texts: ReadonlyArray<string>,
  options?: ParseOptions
): Layer.Layer<PriceHistorySource, PriceHistoryError> =>
  Layer.effect(
    PriceHistorySource,
    Effect.map(Effect.all(texts.map((t) => Effect.suspend(() => internal.parse(t, options)))), (parts) => makeMemory(parts.flat()))
  )

/**
 * A source that knows nothing (no backfill).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerEmpty: Layer.Layer<PriceHistorySource> = Layer.succeed(PriceHistorySource, makeMemory([]))
