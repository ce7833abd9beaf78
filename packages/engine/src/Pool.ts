/**
 * Capacity pools: one instance type in one availability zone under one product (operating
 * system), spot or on-demand.
 *
 * The grammar of a pool id is
 *
 * ```text
 * [ondemand:]<instance type>.<zone>[~<product>]
 * ```
 *
 * - `<instance type>` is `<family>.<size>` (`t3.medium`);
 * - `<zone>` is an AZ **name** (`us-east-1a`) or an AZ **ID** (`use1-az1`, the account-independent
 *   form public datasets and multi-account tools use), stored as given: an ID and a name of the
 *   same physical zone are different pools unless the host maps one to the other (see
 *   {@link resolveZone});
 * - `~<product>` is a {@link Product.Product} slug other than `linux`: Linux/UNIX has no suffix, so
 *   every id written before products existed keeps its meaning (`t3.medium.us-east-1a` is the
 *   Linux/UNIX pool, `t3.medium.us-east-1a~suse` the SUSE Linux one). `~` is an unreserved URL
 *   character (RFC 3986), so ids travel unencoded in query strings and path segments.
 *
 * Examples: `t3.medium.us-east-1a`, `ondemand:t3.medium.us-east-1a`, `m5.large.use1-az4~windows`.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"
import * as Product from "./Product.js"

/** @since 0.1.0 @category models */
export const Lifecycle = Schema.Literal("spot", "on-demand")
/** @since 0.1.0 @category models */
export type Lifecycle = typeof Lifecycle.Type

const zoneName = "[a-z]{2}(?:-[a-z]+)+-\\d[a-z]"
const zoneId = "[a-z]{2,5}\\d+(?:-[a-z]+\\d+)?-az\\d+"
const poolPattern = new RegExp(
  `^(ondemand:)?([a-z0-9-]+\\.[a-z0-9-]+)\\.(${zoneName}|${zoneId})(?:~(${Product.all.filter((p) => p !== "linux").join("|")}))?$`
)
const zoneNamePattern = new RegExp(`^${zoneName}$`)
const zoneIdPattern = new RegExp(`^${zoneId}$`)

/**
 * A pool id string, validated against `[ondemand:]<type>.<zone>[~<product>]`.
 *
 * @since 0.1.0
 * @category models
 */
export const PoolId = Schema.String.pipe(
  Schema.pattern(poolPattern, {
    description:
      "A capacity pool: [ondemand:]<instance type>.<zone>[~<product>] — zone an AZ name (us-east-1a) or AZ ID (use1-az1); " +
      "product suffix absent for Linux/UNIX, else one of " + Product.all.filter((p) => p !== "linux").join(", "),
    message: () =>
      "a pool id is <instance type>.<zone>[~<product>], e.g. t3.medium.us-east-1a or t3.medium.use1-az1~suse " +
      `(zone: AZ name or AZ ID; product: one of ${Product.all.filter((p) => p !== "linux").join(", ")}, none for Linux/UNIX; ` +
      "prefix ondemand: for on-demand)"
  }),
  Schema.brand("PoolId")
)
/** @since 0.1.0 @category models */
export type PoolId = typeof PoolId.Type

/**
 * Which form a zone is written in: an AZ name (`us-east-1a`) or an AZ ID (`use1-az1`).
 *
 * @since 0.2.0
 * @category models
 */
export type ZoneKind = "name" | "id"

/**
 * The parts of a pool id.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolParts {
  readonly instanceType: string
  /** The zone as written in the id: an AZ name or an AZ ID (see `zoneKind`). */
  readonly az: string
  /** @since 0.2.0 */
  readonly zoneKind: ZoneKind
  /**
   * The region: the name without its letter for an AZ name; for an AZ ID the region of its
   * prefix in {@link regionOfZoneIdPrefix}, null when the prefix is not in the table.
   */
  readonly region: string | null
  readonly lifecycle: Lifecycle
  /** @since 0.2.0 */
  readonly product: Product.Product
}

/**
 * The AZ ID prefix of each region (`use1-az1` is in `us-east-1`), as AWS documents them. An AZ ID
 * whose prefix is not listed has no known region.
 *
 * @since 0.2.0
 * @category constants
 */
export const regionOfZoneIdPrefix: Readonly<Record<string, string>> = {
  use1: "us-east-1",
  use2: "us-east-2",
  usw1: "us-west-1",
  usw2: "us-west-2",
  usge1: "us-gov-east-1",
  usgw1: "us-gov-west-1",
  cac1: "ca-central-1",
  caw1: "ca-west-1",
  mxc1: "mx-central-1",
  sae1: "sa-east-1",
  euc1: "eu-central-1",
  euc2: "eu-central-2",
  euw1: "eu-west-1",
  euw2: "eu-west-2",
  euw3: "eu-west-3",
  eun1: "eu-north-1",
  eus1: "eu-south-1",
  eus2: "eu-south-2",
  ilc1: "il-central-1",
  mec1: "me-central-1",
  mes1: "me-south-1",
  afs1: "af-south-1",
  ape1: "ap-east-1",
  ape2: "ap-east-2",
  aps1: "ap-south-1",
  aps2: "ap-south-2",
  apne1: "ap-northeast-1",
  apne2: "ap-northeast-2",
  apne3: "ap-northeast-3",
  apse1: "ap-southeast-1",
  apse2: "ap-southeast-2",
  apse3: "ap-southeast-3",
  apse4: "ap-southeast-4",
  apse5: "ap-southeast-5",
  apse7: "ap-southeast-7",
  cnn1: "cn-north-1",
  cnnw1: "cn-northwest-1"
}

/**
 * The form of a zone string, or null when it is neither an AZ name nor an AZ ID.
 *
 * @since 0.2.0
 * @category destructors
 */
export const zoneKindOf = (zone: string): ZoneKind | null =>
  zoneNamePattern.test(zone) ? "name" : zoneIdPattern.test(zone) ? "id" : null

/**
 * The region of a zone (AZ name or AZ ID); null when unknown.
 *
 * @since 0.2.0
 * @category destructors
 */
export const regionOfZone = (zone: string): string | null => {
  const kind = zoneKindOf(zone)
  if (kind === "name") return zone.slice(0, -1)
  if (kind === "id") return regionOfZoneIdPrefix[zone.slice(0, zone.indexOf("-"))] ?? null
  return null
}

/**
 * Splits a pool id into instance type, zone, region, lifecycle and product.
 *
 * @since 0.1.0
 * @category destructors
 */
export const parse = (pool: PoolId | string): Either.Either<PoolParts, string> => {
  const m = poolPattern.exec(pool)
  if (m === null) return Either.left(`not a pool id: ${pool}`)
  const az = m[3]!
  const zoneKind: ZoneKind = zoneNamePattern.test(az) ? "name" : "id"
  return Either.right({
    instanceType: m[2]!,
    az,
    zoneKind,
    region: regionOfZone(az),
    lifecycle: m[1] === undefined ? "spot" : "on-demand",
    product: (m[4] as Product.Product | undefined) ?? Product.defaultProduct
  })
}

/**
 * Builds a pool id from its parts; the product defaults to Linux/UNIX (no suffix). Throws when
 * the result is not a pool id (use {@link parse} on untrusted input).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  instanceType: string,
  zone: string,
  lifecycle: Lifecycle = "spot",
  product: Product.Product = Product.defaultProduct
): PoolId =>
  PoolId.make(
    `${lifecycle === "on-demand" ? "ondemand:" : ""}${instanceType}.${zone}${product === Product.defaultProduct ? "" : `~${product}`}`
  )

/**
 * The on-demand pool of the same instance type, zone and product.
 *
 * @since 0.1.0
 * @category constructors
 */
export const onDemandOf = (pool: PoolId): PoolId => {
  const parts = parse(pool)
  return Either.isRight(parts) ? make(parts.right.instanceType, parts.right.az, "on-demand", parts.right.product) : pool
}

/**
 * The lifecycle of a pool id.
 *
 * @since 0.1.0
 * @category destructors
 */
export const lifecycleOf = (pool: PoolId): Lifecycle => pool.startsWith("ondemand:") ? "on-demand" : "spot"

/**
 * The product of a pool id (Linux/UNIX when it has no suffix).
 *
 * @since 0.2.0
 * @category destructors
 */
export const productOf = (pool: PoolId): Product.Product => {
  const i = pool.lastIndexOf("~")
  return i < 0 ? Product.defaultProduct : pool.slice(i + 1) as Product.Product
}

/**
 * The same pool with its AZ ID replaced by the AZ name the mapping gives it (`use1-az1` →
 * `us-east-1b` for one account). Pools named by AZ name, and IDs the mapping does not know, are
 * returned unchanged. AZ IDs map to different names in different accounts, so the mapping is
 * the host's to supply (for example from `aws ec2 describe-availability-zones`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const resolveZone = (pool: PoolId, zoneNames: Readonly<Record<string, string>>): PoolId => {
  const parts = parse(pool)
  if (Either.isLeft(parts) || parts.right.zoneKind !== "id") return pool
  const name = Object.hasOwn(zoneNames, parts.right.az) ? zoneNames[parts.right.az] : undefined
  if (name === undefined || zoneKindOf(name) !== "name") return pool
  return make(parts.right.instanceType, name, parts.right.lifecycle, parts.right.product)
}

/**
 * Whether an instance in pool `from` may be moved to pool `to` by a switch or an emergency: the
 * same region and the same product (the product is the instance image's operating system, which
 * no switch changes), and `to`'s zone written in the same form as `from`'s (an agent launches in
 * the zone form it reports, normally AZ names; a pool under an AZ ID, as exports give them, is
 * price data for such an agent until the host maps it with {@link resolveZone}). Instance type
 * and lifecycle are the caller's to choose.
 *
 * @since 0.2.0
 * @category predicates
 */
export const canMoveTo = (from: PoolParts, to: PoolParts): boolean =>
  from.region !== null && to.region === from.region && to.product === from.product && to.zoneKind === from.zoneKind
