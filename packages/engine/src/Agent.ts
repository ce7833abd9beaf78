/**
 * The agent: the logical identity of one managed workload, unique per tenant by
 * `logicalAgentId`.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AgentId, FlowId, InstanceId, TenantId } from "./Ids.js"
import { PoolId } from "./Pool.js"

const Percent = Schema.Number.pipe(Schema.between(0, 100))
const NonNegativeInt = Schema.Int.pipe(Schema.nonNegative())

/**
 * An agent's configuration. `autoSwitch` and `manualReplica` are never both on.
 *
 * @since 0.1.0
 * @category models
 */
export class AgentConfig extends Schema.Class<AgentConfig>("AgentConfig")({
  /** Let the ML decision loop move the workload to cheaper pools. */
  autoSwitch: Schema.Boolean,
  /** Keep exactly one warm REPLICA at all times. */
  manualReplica: Schema.Boolean,
  /** Terminate a demoted PRIMARY (after `terminateWaitSeconds`) instead of keeping it as a ZOMBIE. */
  autoTerminate: Schema.Boolean,
  terminateWaitSeconds: NonNegativeInt,
  /** Disabled agents get no new launches or switches. */
  enabled: Schema.Boolean,
  minSavingsPercent: Percent,
  riskThreshold: Schema.Number.pipe(Schema.between(0, 1)),
  maxSwitchesPerDay: NonNegativeInt,
  maxSwitchesPerWeek: NonNegativeInt,
  minPoolDurationHours: Schema.Number.pipe(Schema.nonNegative())
}) {}

/**
 * The defaults of DESIGN.md §2.
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultConfig: AgentConfig = AgentConfig.make({
  autoSwitch: false,
  manualReplica: false,
  autoTerminate: true,
  terminateWaitSeconds: 300,
  enabled: true,
  minSavingsPercent: 15,
  riskThreshold: 0.3,
  maxSwitchesPerDay: 3,
  maxSwitchesPerWeek: 10,
  minPoolDurationHours: 2
})

/**
 * A partial update of the configuration.
 *
 * @since 0.1.0
 * @category models
 */
export const AgentConfigPatch = Schema.partialWith(Schema.Struct(AgentConfig.fields), { exact: true })
/** @since 0.1.0 @category models */
export type AgentConfigPatch = typeof AgentConfigPatch.Type

/** @since 0.1.0 @category models */
export const NoticeKind = Schema.Literal("rebalance", "termination")
/** @since 0.1.0 @category models */
export type NoticeKind = typeof NoticeKind.Type

/**
 * An interruption notice in progress.
 *
 * @since 0.1.0
 * @category models
 */
export class Notice extends Schema.Class<Notice>("Notice")({
  kind: NoticeKind,
  instanceId: InstanceId,
  receivedAt: Schema.Number,
  deadline: Schema.Number
}) {}

/** @since 0.1.0 @category models */
export const FlowKind = Schema.Literal("replica", "promotion", "switch", "emergency")
/** @since 0.1.0 @category models */
export type FlowKind = typeof FlowKind.Type

/**
 * The single open role-changing flow of an agent (at most one at a time).
 *
 * @since 0.1.0
 * @category models
 */
export class Flow extends Schema.Class<Flow>("Flow")({
  id: FlowId,
  kind: FlowKind,
  priority: Schema.Int,
  startedAt: Schema.Number,
  /** The instance this flow brings up or promotes, once known. */
  targetInstanceId: Schema.NullOr(InstanceId),
  /** Promote the target as soon as it is running (switch and termination flows). */
  promoteOnArrival: Schema.Boolean,
  /** Emergency launches: the pools still to try, in order, if the current launch fails. */
  fallbackPools: Schema.Array(PoolId)
}) {}

/** @since 0.1.0 @category models */
export const Liveness = Schema.Literal("online", "offline")
/** @since 0.1.0 @category models */
export type Liveness = typeof Liveness.Type

/**
 * Facts the agent reported about itself at registration.
 *
 * @since 0.1.0
 * @category models
 */
export const AgentMetadata = Schema.Record({ key: Schema.String, value: Schema.Unknown })
/** @since 0.1.0 @category models */
export type AgentMetadata = typeof AgentMetadata.Type

/**
 * What an agent's software can do, as it declared at registration under the metadata key
 * `capabilities` (an adapter translates its dialect into it). Absent keys mean the v1 agent's
 * defaults.
 *
 * @since 0.2.0
 * @category models
 */
export interface AgentCapabilities {
  /**
   * It can carry out a PROMOTE that names a replica by its temporary id before the replica runs
   * (the v1 agent can; the v5 agent needs a cloud instance id, so it never gets such a PROMOTE).
   */
  readonly promoteByTempId: boolean
}

/**
 * The metadata key under which an agent declares its {@link AgentCapabilities}.
 *
 * @since 0.2.0
 * @category constants
 */
export const capabilitiesKey = "capabilities"

/**
 * The capabilities an agent declared (v1 defaults for what it left out).
 *
 * @since 0.2.0
 * @category getters
 */
export const capabilitiesOf = (metadata: AgentMetadata): AgentCapabilities => {
  const declared = metadata[capabilitiesKey]
  const promoteByTempId = typeof declared === "object" && declared !== null && "promoteByTempId" in declared
    ? (declared as { promoteByTempId: unknown }).promoteByTempId !== false
    : true
  return { promoteByTempId }
}

/**
 * An agent.
 *
 * @since 0.1.0
 * @category models
 */
export class Agent extends Schema.Class<Agent>("Agent")({
  id: AgentId,
  tenantId: TenantId,
  logicalAgentId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)),
  config: AgentConfig,
  /** Bumped on every configuration change. */
  configVersion: Schema.Int,
  liveness: Liveness,
  lastHeartbeatAt: Schema.NullOr(Schema.Number),
  notice: Schema.NullOr(Notice),
  /** The cloud took the PRIMARY and no replica was ready: an emergency launch is under way. */
  degraded: Schema.Boolean,
  flow: Schema.NullOr(Flow),
  metadata: AgentMetadata,
  createdAt: Schema.Number,
  /** Optimistic-locking version, bumped by every committed change. */
  version: Schema.Int
}) {}
