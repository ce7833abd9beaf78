/**
 * Instances and their roles.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AgentId, CommandId, InstanceId } from "./Ids.js"
import { Lifecycle, PoolId } from "./Pool.js"

/**
 * The roles of DESIGN.md §3. LAUNCHING is an instance whose launch command is in flight.
 *
 * @since 0.1.0
 * @category models
 */
export const Role = Schema.Literal("LAUNCHING", "PRIMARY", "REPLICA", "ZOMBIE", "TERMINATED")
/** @since 0.1.0 @category models */
export type Role = typeof Role.Type

/** @since 0.1.0 @category models */
export const RoleHint = Schema.Literal("replica", "primary")
/** @since 0.1.0 @category models */
export type RoleHint = typeof RoleHint.Type

/**
 * An instance of an agent.
 *
 * @since 0.1.0
 * @category models
 */
export class Instance extends Schema.Class<Instance>("Instance")({
  id: InstanceId,
  agentId: AgentId,
  /** The cloud's instance id (`i-...`); null while the launch is in flight. */
  cloudInstanceId: Schema.NullOr(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))),
  pool: PoolId,
  lifecycle: Lifecycle,
  role: Role,
  roleHint: Schema.NullOr(RoleHint),
  launchCommandId: Schema.NullOr(CommandId),
  launchRequestedAt: Schema.NullOr(Schema.Number),
  launchConfirmedAt: Schema.NullOr(Schema.Number),
  promotedAt: Schema.NullOr(Schema.Number),
  demotedAt: Schema.NullOr(Schema.Number),
  terminatedAt: Schema.NullOr(Schema.Number),
  /** Spot or on-demand price per hour while running, when known. */
  hourlyPrice: Schema.NullOr(Schema.Number),
  createdAt: Schema.Number
}) {}

/**
 * Whether the instance is running and usable as a replica right now.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isReadyReplica = (i: Instance): boolean => i.role === "REPLICA"

/**
 * Whether the instance can never serve again (ZOMBIE or TERMINATED).
 *
 * @since 0.1.0
 * @category predicates
 */
export const isRetired = (i: Instance): boolean => i.role === "ZOMBIE" || i.role === "TERMINATED"
