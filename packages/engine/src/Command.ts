/**
 * Commands: what an agent must do next.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AgentId, CommandId, FlowId, InstanceId, TenantId } from "./Ids.js"

/** @since 0.1.0 @category models */
export const CommandType = Schema.Literal(
  "LAUNCH_INSTANCE",
  "PROMOTE_REPLICA_TO_PRIMARY",
  "TERMINATE_INSTANCE",
  "APPLY_CONFIG",
  "SELF_DESTRUCT"
)
/** @since 0.1.0 @category models */
export type CommandType = typeof CommandType.Type

/** @since 0.1.0 @category models */
export const CommandStatus = Schema.Literal("pending", "delivered", "succeeded", "failed", "expired", "superseded")
/** @since 0.1.0 @category models */
export type CommandStatus = typeof CommandStatus.Type

/**
 * Priorities of docs/DESIGN.md, "Domain": higher is delivered first.
 *
 * @since 0.1.0
 * @category constants
 */
export const Priority = {
  emergency: 100,
  manual: 75,
  mlUrgent: 50,
  mlNormal: 25,
  maintenance: 10
} as const

/**
 * What the agent reported back.
 *
 * @since 0.1.0
 * @category models
 */
export class CommandResult extends Schema.Class<CommandResult>("CommandResult")({
  success: Schema.Boolean,
  message: Schema.NullOr(Schema.String),
  cloudInstanceId: Schema.NullOr(Schema.String),
  data: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

/**
 * A command.
 *
 * @since 0.1.0
 * @category models
 */
export class Command extends Schema.Class<Command>("Command")({
  id: CommandId,
  /** Unique across all commands; the agent de-duplicates by it. */
  requestId: Schema.String,
  tenantId: TenantId,
  agentId: AgentId,
  type: CommandType,
  status: CommandStatus,
  priority: Schema.Int,
  flowId: Schema.NullOr(FlowId),
  /** The instance the command is about (launch target, promoted replica, terminated instance). */
  instanceId: Schema.NullOr(InstanceId),
  params: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  createdAt: Schema.Number,
  /** Not deliverable before this time (e.g. a TERMINATE after `terminateWaitSeconds`). */
  notBefore: Schema.Number,
  /** Undelivered or unfinished at this time → expired (emergency commands: the notice deadline). */
  expiresAt: Schema.NullOr(Schema.Number),
  deliveredAt: Schema.NullOr(Schema.Number),
  leaseExpiresAt: Schema.NullOr(Schema.Number),
  deliveries: Schema.Int,
  completedAt: Schema.NullOr(Schema.Number),
  result: Schema.NullOr(CommandResult),
  /** Creation order within the store, used to break ties between equal `createdAt`. */
  seq: Schema.Int
}) {}

/**
 * Open commands still have to reach or be finished by the agent.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isOpen = (c: Command): boolean => c.status === "pending" || c.status === "delivered"

/**
 * Delivery order: priority first (high to low), then age (old to new).
 *
 * @since 0.1.0
 * @category ordering
 */
export const deliveryOrder = (a: Command, b: Command): number =>
  b.priority - a.priority || a.createdAt - b.createdAt || a.seq - b.seq
