/**
 * The event log: every state change appends typed events in the same commit as the change.
 * The audit trail, the SSE stream, notifications and several metrics read from it.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"
import { AgentId, TenantId } from "./Ids.js"

/**
 * Every event type the engine writes.
 *
 * @since 0.1.0
 * @category models
 */
export const EventType = Schema.Literal(
  "AgentRegistered",
  "AgentReregistered",
  "AgentOnline",
  "AgentOffline",
  "AgentDegraded",
  "AgentRecovered",
  "ConfigChanged",
  "RoleChanged",
  "InstanceLaunchRequested",
  "InstanceLaunched",
  "InstanceTerminated",
  /** A managed instance was missing from the agent's inventory (treated as terminated). */
  "InstanceMissing",
  /**
   * The cloud was seen no longer running an instance the engine had retired
   * (`data.how`: "terminate-succeeded" | "reported" | "inventory" | "launch-failed").
   */
  "TerminationConfirmed",
  /**
   * A retired instance still runs: a TERMINATE is queued again (`data.attempt`, `data.reason`,
   * `data.notBefore`).
   */
  "TerminationRetried",
  /**
   * An instance the cloud runs that the engine did not know (a lost launch report, a launch given
   * up on that arrived late) was taken into the aggregate (`data.as`: "replica" | "zombie",
   * `data.matchedBy`: "token" | "pool" | "tags").
   */
  "InstanceAdopted",
  "CommandQueued",
  "CommandDelivered",
  "CommandRedelivered",
  "CommandSucceeded",
  "CommandFailed",
  "CommandExpired",
  "CommandSuperseded",
  "FlowStarted",
  "FlowFinished",
  "NoticeReceived",
  "NoticeCleared",
  "EmergencyPromotion",
  "EmergencyLaunch",
  /** An agent reported the timings of a switch it carried out (downtime as it saw it). */
  "SwitchReported",
  "TenantCreated",
  "PriceReported"
)
/** @since 0.1.0 @category models */
export type EventType = typeof EventType.Type

/** @since 0.1.0 @category models */
export const ActorKind = Schema.Literal("agent", "user", "ml", "system")
/** @since 0.1.0 @category models */
export type ActorKind = typeof ActorKind.Type

/**
 * Who caused a change.
 *
 * @since 0.1.0
 * @category models
 */
export class Actor extends Schema.Class<Actor>("Actor")({
  kind: ActorKind,
  id: Schema.NullOr(Schema.String)
}) {}

/** @since 0.1.0 @category constructors */
export const system: Actor = Actor.make({ kind: "system", id: null })

/**
 * An event before the store assigns its id.
 *
 * @since 0.1.0
 * @category models
 */
export class EventDraft extends Schema.Class<EventDraft>("EventDraft")({
  tenantId: TenantId,
  agentId: Schema.NullOr(AgentId),
  type: EventType,
  at: Schema.Number,
  actor: Actor,
  data: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}

/**
 * A stored event. `id` increases strictly in commit order across the whole store, so a
 * reader can resume after the last id it saw.
 *
 * @since 0.1.0
 * @category models
 */
export class DomainEvent extends Schema.Class<DomainEvent>("DomainEvent")({
  id: Schema.Int.pipe(Schema.positive()),
  tenantId: TenantId,
  agentId: Schema.NullOr(AgentId),
  type: EventType,
  at: Schema.Number,
  actor: Actor,
  data: Schema.Record({ key: Schema.String, value: Schema.Unknown })
}) {}
