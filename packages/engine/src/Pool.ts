/**
 * Capacity pools: one instance type in one availability zone, spot or on-demand.
 *
 * A spot pool id is `<type>.<az>` (for example `t3.medium.us-east-1a`); an on-demand pool id is
 * `ondemand:<type>.<az>`.
 *
 * @since 0.1.0
 */
import { Either, Schema } from "effect"

/** @since 0.1.0 @category models */
export const Lifecycle = Schema.Literal("spot", "on-demand")
/** @since 0.1.0 @category models */
export type Lifecycle = typeof Lifecycle.Type

const poolPattern = /^(ondemand:)?([a-z0-9-]+\.[a-z0-9-]+)\.([a-z]{2}(?:-[a-z]+)+-\d[a-z])$/

/**
 * A pool id string, validated against `<type>.<az>` or `ondemand:<type>.<az>`.
 *
 * @since 0.1.0
 * @category models
 */
export const PoolId = Schema.String.pipe(
  Schema.pattern(poolPattern, {
    message: () => "a pool id is <instance type>.<availability zone>, e.g. t3.medium.us-east-1a (prefix ondemand: for on-demand)"
  }),
  Schema.brand("PoolId")
)
/** @since 0.1.0 @category models */
export type PoolId = typeof PoolId.Type

/**
 * The parts of a pool id.
 *
 * @since 0.1.0
 * @category models
 */
export interface PoolParts {
  readonly instanceType: string
  readonly az: string
  readonly region: string
  readonly lifecycle: Lifecycle
}

/**
 * Splits a pool id into instance type, zone, region and lifecycle.
 *
 * @since 0.1.0
 * @category destructors
 */
export const parse = (pool: PoolId | string): Either.Either<PoolParts, string> => {
  const m = poolPattern.exec(pool)
  if (m === null) return Either.left(`not a pool id: ${pool}`)
  const az = m[3]!
  return Either.right({
    instanceType: m[2]!,
    az,
    region: az.slice(0, -1),
    lifecycle: m[1] === undefined ? "spot" : "on-demand"
  })
}

/**
 * Builds a pool id from its parts.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (instanceType: string, az: string, lifecycle: Lifecycle = "spot"): PoolId =>
  PoolId.make(`${lifecycle === "on-demand" ? "ondemand:" : ""}${instanceType}.${az}`)

/**
 * The on-demand pool of the same instance type and zone.
 *
 * @since 0.1.0
 * @category constructors
 */
export const onDemandOf = (pool: PoolId): PoolId => {
  const parts = parse(pool)
  return Either.isRight(parts) ? make(parts.right.instanceType, parts.right.az, "on-demand") : pool
}

/**
 * The lifecycle of a pool id.
 *
 * @since 0.1.0
 * @category destructors
 */
export const lifecycleOf = (pool: PoolId): Lifecycle => pool.startsWith("ondemand:") ? "on-demand" : "spot"
