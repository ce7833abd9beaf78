/**
 * Typed errors of the engine. No transport concerns (status codes) and no driver details
 * (SQL) appear here: adapters map their own failures onto these.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

/** @since 0.1.0 @category errors */
export class AgentNotFound extends Schema.TaggedError<AgentNotFound>()("AgentNotFound", {
  agentId: Schema.String
}) {
  override get message() {
    return `agent ${this.agentId} not found`
  }
}

/** @since 0.1.0 @category errors */
export class TenantNotFound extends Schema.TaggedError<TenantNotFound>()("TenantNotFound", {
  tenantId: Schema.String
}) {
  override get message() {
    return `tenant ${this.tenantId} not found`
  }
}

/** @since 0.1.0 @category errors */
export class InstanceNotFound extends Schema.TaggedError<InstanceNotFound>()("InstanceNotFound", {
  instanceId: Schema.String
}) {
  override get message() {
    return `instance ${this.instanceId} not found`
  }
}

/** @since 0.1.0 @category errors */
export class CommandNotFound extends Schema.TaggedError<CommandNotFound>()("CommandNotFound", {
  commandId: Schema.String
}) {
  override get message() {
    return `command ${this.commandId} not found`
  }
}

/**
 * Bad input: names the field and the reason.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidInput extends Schema.TaggedError<InvalidInput>()("InvalidInput", {
  field: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `${this.field}: ${this.reason}`
  }
}

/**
 * A transition the state machine does not allow from the current state.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidTransition extends Schema.TaggedError<InvalidTransition>()("InvalidTransition", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/**
 * Another role-changing flow of equal or higher priority is open for the agent.
 *
 * @since 0.1.0
 * @category errors
 */
export class FlowConflict extends Schema.TaggedError<FlowConflict>()("FlowConflict", {
  agentId: Schema.String,
  openFlow: Schema.String,
  openPriority: Schema.Int,
  requestedPriority: Schema.Int
}) {
  override get message() {
    return `agent ${this.agentId} already has a ${this.openFlow} flow (priority ${this.openPriority}) in progress`
  }
}

/**
 * A write based on a stale version (optimistic locking). The engine retries these from a
 * fresh read a bounded number of times before surfacing them.
 *
 * @since 0.1.0
 * @category errors
 */
export class VersionConflict extends Schema.TaggedError<VersionConflict>()("VersionConflict", {
  agentId: Schema.String,
  expectedVersion: Schema.Int
}) {
  override get message() {
    return `agent ${this.agentId} changed concurrently (expected version ${this.expectedVersion})`
  }
}

/**
 * A unique key already exists (agent per tenant, tenant name, token, request id).
 *
 * @since 0.1.0
 * @category errors
 */
export class DuplicateKey extends Schema.TaggedError<DuplicateKey>()("DuplicateKey", {
  entity: Schema.String,
  key: Schema.String
}) {
  override get message() {
    return `${this.entity} ${this.key} already exists`
  }
}

/**
 * An idempotency key was reused for a different operation.
 *
 * @since 0.1.0
 * @category errors
 */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  key: Schema.String,
  operation: Schema.String
}) {
  override get message() {
    return `request id ${this.key} was already used for ${this.operation}`
  }
}

/**
 * A tenant limit would be exceeded.
 *
 * @since 0.1.0
 * @category errors
 */
export class LimitExceeded extends Schema.TaggedError<LimitExceeded>()("LimitExceeded", {
  limit: Schema.String,
  max: Schema.Int
}) {
  override get message() {
    return `tenant limit ${this.limit} (${this.max}) reached`
  }
}

/**
 * The store failed for a reason that is not a conflict (connection lost, timeout). The
 * message never contains SQL.
 *
 * @since 0.1.0
 * @category errors
 */
export class StoreError extends Schema.TaggedError<StoreError>()("StoreError", {
  operation: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `store ${this.operation} failed: ${this.reason}`
  }
}

/**
 * Rejections of the pure state machine.
 *
 * @since 0.1.0
 * @category errors
 */
export type Rejection =
  | InvalidInput
  | InvalidTransition
  | FlowConflict
  | InstanceNotFound
  | CommandNotFound
  | LimitExceeded
