/**
 * Branded identifiers of the spotfleet domain.
 *
 * Every id is a non-empty string with a brand, so an `AgentId` can never be passed where an
 * `InstanceId` is expected.
 *
 * @since 0.1.0
 */
import { Schema } from "effect"

const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

/** Id of a tenant (client). @since 0.1.0 @category ids */
export const TenantId = Id.pipe(Schema.brand("TenantId"))
/** @since 0.1.0 @category ids */
export type TenantId = typeof TenantId.Type

/** Engine-assigned id of an agent (one managed workload). @since 0.1.0 @category ids */
export const AgentId = Id.pipe(Schema.brand("AgentId"))
/** @since 0.1.0 @category ids */
export type AgentId = typeof AgentId.Type

/** Engine-assigned id of an instance record (stable while the cloud id is still unknown). @since 0.1.0 @category ids */
export const InstanceId = Id.pipe(Schema.brand("InstanceId"))
/** @since 0.1.0 @category ids */
export type InstanceId = typeof InstanceId.Type

/** Id of a command. @since 0.1.0 @category ids */
export const CommandId = Id.pipe(Schema.brand("CommandId"))
/** @since 0.1.0 @category ids */
export type CommandId = typeof CommandId.Type

/** Id of a role-changing flow (a group of commands). @since 0.1.0 @category ids */
export const FlowId = Id.pipe(Schema.brand("FlowId"))
/** @since 0.1.0 @category ids */
export type FlowId = typeof FlowId.Type

/**
 * Generates fresh ids. The default uses `crypto.randomUUID` (available in Node 20 and browsers
 * without an import); tests may provide a deterministic generator.
 *
 * @since 0.1.0
 * @category models
 */
export interface IdGenerator {
  readonly next: (prefix: string) => string
}

/** @since 0.1.0 @category constructors */
export const randomIds: IdGenerator = {
  next: (prefix) => `${prefix}-${globalThis.crypto.randomUUID()}`
}

/**
 * A deterministic generator: `prefix-1`, `prefix-2`, ... (for tests and property runs).
 *
 * @since 0.1.0
 * @category constructors
 */
export const sequentialIds = (): IdGenerator => {
  let n = 0
  return { next: (prefix) => `${prefix}-${++n}` }
}
