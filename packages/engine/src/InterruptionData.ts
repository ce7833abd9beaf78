/**
 * Port: how often the cloud interrupts spot capacity, per region, operating system and instance
 * type (docs/DESIGN.md, "Interruption data"). The AWS Spot Instance Advisor publishes, for every
 * (region, OS, instance type), an interruption-frequency band — the share of spot instances
 * interrupted over the last month: 0 `<5%`, 1 `5-10%`, 2 `10-15%`, 3 `15-20%`, 4 `>20%` — and the
 * savings over on-demand in percent.
 *
 * This module holds the feed's format as a Schema (`decode`), an in-memory table (`make`,
 * `layer`), `layerEmpty` (nothing known: every band is `null`) and the lookup by pool. Reading the
 * feed from a file or a URL needs Node.js and lives outside the engine (`@spotfleet/ml-onnx`,
 * `SpotAdvisor`). How a band turns into risk is `DecisionModel.riskOf`, the one rule.
 *
 * @since 0.2.0
 */
import { Context, Effect, Either, Layer, Option, ParseResult, Schema } from "effect"
import * as Pool from "./Pool.js"
import * as Product from "./Product.js"

/**
 * An interruption-frequency band: 0 (least interrupted) … 4 (most).
 *
 * @since 0.2.0
 * @category models
 */
export const Band = Schema.Int.pipe(Schema.between(0, 4))

/**
 * @since 0.2.0
 * @category models
 */
export type Band = typeof Band.Type

/**
 * The bands' labels as the Spot Instance Advisor prints them, when a feed gives none.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_LABELS: ReadonlyArray<string> = ["<5%", "5-10%", "10-15%", "15-20%", ">20%"]

/**
 * The operating systems the feed distinguishes.
 *
 * @since 0.2.0
 * @category models
 */
export type OperatingSystem = "Linux" | "Windows"

/**
 * The product (AWS product description) a pool without one is priced as.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_PRODUCT = "Linux/UNIX"

/**
 * The feed's OS for an AWS product description: `Windows` for every Windows product, `Linux` for
 * the rest (Linux/UNIX, Red Hat Enterprise Linux, SUSE Linux, …: the feed has no separate row for
 * them, and interruptions follow the capacity pool, not the licence).
 *
 * @since 0.2.0
 * @category destructors
 */
export const operatingSystemOf = (product: string): OperatingSystem => /windows/i.test(product) ? "Windows" : "Linux"

/**
 * What the feed says about one (region, OS, instance type).
 *
 * @since 0.2.0
 * @category models
 */
export interface Interruption {
  readonly region: string
  readonly os: OperatingSystem
  readonly instanceType: string
  readonly band: Band
  /** The band's label, e.g. `>20%`. */
  readonly label: string
  /** Savings over the on-demand price in percent, as the feed states them. */
  readonly savingsPercent: number
}

/**
 * What a lookup is keyed on. `product` is an AWS product description (default `Linux/UNIX`).
 *
 * @since 0.2.0
 * @category models
 */
export interface Key {
  readonly region: string
  readonly instanceType: string
  readonly product?: string | undefined
}

const Cell = Schema.Struct({ r: Band, s: Schema.Number })
const Range = Schema.Struct({ index: Band, label: Schema.String })

/**
 * The Spot Instance Advisor feed (`spot-advisor-data.json`): `ranges` (band index and label) and
 * `spot_advisor[region][os][instanceType] = { r: band, s: savings % }`. Other keys
 * (`instance_types`, `global_rate`, …) are ignored.
 *
 * @since 0.2.0
 * @category schemas
 */
export const Feed = Schema.Struct({
  ranges: Schema.optional(Schema.Array(Range)),
  spot_advisor: Schema.Record({
    key: Schema.String,
    value: Schema.Record({ key: Schema.String, value: Schema.Record({ key: Schema.String, value: Cell }) })
  })
})

/**
 * @since 0.2.0
 * @category schemas
 */
export type Feed = typeof Feed.Type

/**
 * The feed could not be read or decoded.
 *
 * @since 0.2.0
 * @category errors
 */
export class InterruptionDataError extends Schema.TaggedError<InterruptionDataError>()("InterruptionDataError", {
  source: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `interruption data from ${this.source}: ${this.reason}`
  }
}

/**
 * A decoded feed, indexed for lookups.
 *
 * @since 0.2.0
 * @category models
 */
export interface Table {
  readonly entries: ReadonlyMap<string, Interruption>
  readonly labels: ReadonlyArray<string>
}

const keyOf = (region: string, os: OperatingSystem, instanceType: string) => `${region}|${os}|${instanceType}`

/**
 * Indexes a decoded feed. OS keys other than `Linux` and `Windows` are skipped.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromFeed = (feed: Feed): Table => {
  const labels = [...DEFAULT_LABELS]
  for (const r of feed.ranges ?? []) labels[r.index] = r.label
  const entries = new Map<string, Interruption>()
  for (const [region, byOs] of Object.entries(feed.spot_advisor)) {
    for (const [os, byType] of Object.entries(byOs)) {
      if (os !== "Linux" && os !== "Windows") continue
      for (const [instanceType, cell] of Object.entries(byType)) {
        entries.set(keyOf(region, os, instanceType), { region, os, instanceType, band: cell.r, label: labels[cell.r]!, savingsPercent: cell.s })
      }
    }
  }
  return { entries, labels }
}

/**
 * Decodes a feed (parsed JSON) into a table; `source` names it in the error.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decode = (input: unknown, source = "input"): Either.Either<Table, InterruptionDataError> =>
  Schema.decodeUnknownEither(Feed)(input, { errors: "first" }).pipe(
    Either.mapBoth({
      onLeft: (e) => new InterruptionDataError({ source, reason: ParseResult.TreeFormatter.formatErrorSync(e) }),
      onRight: fromFeed
    })
  )

/**
 * Decodes a feed from JSON text.
 *
 * @since 0.2.0
 * @category decoding
 */
export const decodeText = (text: string, source = "input"): Either.Either<Table, InterruptionDataError> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return Either.left(new InterruptionDataError({ source, reason: `not JSON: ${e instanceof Error ? e.message : String(e)}` }))
  }
  return decode(json, source)
}

/**
 * Looks a key up in a table (pure).
 *
 * @since 0.2.0
 * @category lookups
 */
export const lookupIn = (table: Table, key: Key): Option.Option<Interruption> =>
  Option.fromNullable(table.entries.get(keyOf(key.region, operatingSystemOf(key.product ?? DEFAULT_PRODUCT), key.instanceType)))

/**
 * The product (AWS product description) of parsed pool parts (`Linux/UNIX` for ids without a
 * product suffix).
 *
 * @since 0.2.0
 * @category lookups
 */
export const productOfParts = (parts: Pool.PoolParts): string => Product.toDescription(parts.product)

/**
 * The key of a pool id: its region and instance type, and its product.
 *
 * @since 0.2.0
 * @category lookups
 */
export const keyOfPool = (pool: Pool.PoolId | string): Option.Option<Key> => {
  const parts = Pool.parse(pool)
  // an AZ ID of an unknown region prefix names no region: no feed row can be found for it
  if (Either.isLeft(parts) || parts.right.region === null) return Option.none()
  return Option.some({ region: parts.right.region, instanceType: parts.right.instanceType, product: productOfParts(parts.right) })
}

/**
 * The interruption data service.
 *
 * @since 0.2.0
 * @category models
 */
export interface InterruptionDataService {
  /** What the feed says about a (region, product, instance type); none when it says nothing. */
  readonly lookup: (key: Key) => Effect.Effect<Option.Option<Interruption>>
  /** The band of a pool; none for an unknown pool or an id that is not a pool. */
  readonly forPool: (pool: Pool.PoolId | string) => Effect.Effect<Option.Option<Interruption>>
}

/**
 * @since 0.2.0
 * @category tags
 */
export class InterruptionData extends Context.Tag("@spotfleet/engine/InterruptionData")<InterruptionData, InterruptionDataService>() {}

/**
 * The service over an in-memory table.
 *
 * @since 0.2.0
 * @category constructors
 */
export const make = (table: Table): InterruptionDataService => ({
  lookup: (key) => Effect.sync(() => lookupIn(table, key)),
  forPool: (pool) => Effect.sync(() => Option.flatMap(keyOfPool(pool), (key) => lookupIn(table, key)))
})

/**
 * A layer over an in-memory table.
 *
 * @since 0.2.0
 * @category layers
 */
export const layer = (table: Table): Layer.Layer<InterruptionData> => Layer.succeed(InterruptionData, make(table))

/**
 * Nothing known: every lookup answers none.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerEmpty: Layer.Layer<InterruptionData> = layer({ entries: new Map(), labels: DEFAULT_LABELS })

/**
 * The band of a pool from the service when one is provided, none otherwise (callers that work
 * without interruption data use this).
 *
 * @since 0.2.0
 * @category lookups
 */
export const bandOfPool = (pool: Pool.PoolId | string): Effect.Effect<Option.Option<Interruption>> =>
  Effect.serviceOption(InterruptionData).pipe(
    Effect.flatMap(Option.match({ onNone: () => Effect.succeedNone, onSome: (s) => s.forPool(pool) }))
  )
