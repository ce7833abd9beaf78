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
  /** Taken out of service by the engine (demoted, removed, retired, launch given up). */
  terminatedAt: Schema.NullOr(Schema.Number),
  /**
   * When the cloud was seen no longer running it: a successful TERMINATE, an instance-terminated
   * report, an inventory that no longer lists it, or a launch the agent reported as failed. Null
   * while it may still run — a TERMINATED instance with a cloud id and no confirmation is still
   * costing money and is terminated again until it is confirmed (docs/STATE_MACHINE.md,
   * "Reconciliation").
   */
  terminationConfirmedAt: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
  /**
   * The termination time of the termination notice received for this instance (the reported
   * time, or the default deadline when none was reported): a notice that repeats it is the same
   * notice, whenever it arrives.
   */
  terminationNoticeAt: Schema.optionalWith(Schema.NullOr(Schema.Number), { default: () => null }),
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

/**
 * Whether the engine no longer wants the instance but the cloud may still run it: TERMINATED, with
 * a cloud id, and its end not yet observed. Such an instance is "unreconciled": it keeps costing
 * money, and the engine terminates it again until an observation confirms it is gone.
 *
 * @since 0.2.0
 * @category predicates
 */
export const isUnreconciled = (i: Instance): boolean =>
  i.role === "TERMINATED" && i.cloudInstanceId !== null && i.terminationConfirmedAt === null
