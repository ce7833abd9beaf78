/**
 * Port: persistence of agent aggregates (agent + instances + commands) with optimistic
 * versioning. Every commit writes the aggregate change, its events and an optional
 * idempotency record atomically.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Option } from "effect"
import type { Agent, Liveness } from "./Agent.js"
import type { DomainEvent, EventDraft } from "./DomainEvent.js"
import type { DuplicateKey, StoreError, VersionConflict } from "./EngineError.js"
import type { IdempotencyRecord } from "./IdempotencyStore.js"
import type { AgentId, InstanceId, TenantId } from "./Ids.js"
import type { Instance, Role } from "./Instance.js"
import type { PoolId } from "./Pool.js"
import type { AgentAggregate } from "./StateMachine.js"

/**
 * One atomic write.
 *
 * - `before` is the aggregate as loaded (null when the agent is created); the write succeeds
 *   only while the stored version still equals `before.agent.version`, otherwise it fails with
 *   `VersionConflict` and writes nothing.
 * - `after` is the new aggregate; its `agent.version` is the new version. Adapters may write only
 *   the instances and commands that differ from `before` (compare by reference).
 * - `events` are appended in the same transaction; `idempotency` is inserted in the same
 *   transaction and fails the whole commit with `DuplicateKey` if the key exists. The key is
 *   checked before the version: a commit with a stale version AND a key that exists fails with
 *   `DuplicateKey` (the engine then replays the first answer instead of retrying).
 * - `lastHeartbeatAt` never moves backwards through a commit (heartbeats are written apart).
 *
 * @since 0.1.0
 * @category models
 */
export interface Commit {
  readonly before: AgentAggregate | null
  readonly after: AgentAggregate
  readonly events: ReadonlyArray<EventDraft>
  readonly idempotency?: IdempotencyRecord | undefined
}

/**
 * What a heartbeat write saw: the agent's liveness before the heartbeat (an `offline` agent is
 * brought back online by the engine through a commit) and its current config version (so the
 * heartbeat's answer needs no aggregate load).
 *
 * @since 0.1.0
 * @category models
 */
export interface HeartbeatTouch {
  readonly liveness: Liveness
  readonly configVersion: number
}

/**
 * One heartbeat of a batch ({@link AgentStoreService.touchHeartbeats}).
 *
 * @since 0.1.0
 * @category models
 */
export interface HeartbeatCall {
  readonly tenantId: TenantId
  readonly agentId: AgentId
}

/**
 * Filter for listing agents.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListAgentsOptions {
  readonly liveness?: Liveness | undefined
  /** Agents whose last heartbeat is older than this (for liveness checks). */
  readonly heartbeatBefore?: number | undefined
  /**
   * Agents whose `config.autoSwitch` is this (for the automatic-switch loop, which still checks
   * every agent it gets). A filter like the others: the conformance suite checks it.
   */
  readonly autoSwitch?: boolean | undefined
  readonly limit?: number | undefined
  /** Keyset pagination: agents with an id greater than this. */
  readonly afterId?: AgentId | undefined
}

/**
 * Filter for listing instances across agents ({@link AgentStoreService.listInstances}).
 *
 * @since 0.1.0
 * @category models
 */
export interface ListInstancesOptions {
  /** Only instances in one of these roles. */
  readonly roles?: ReadonlyArray<Role> | undefined
  /** Leaves out instances terminated at or before this time (`terminatedAt ≤ it`). */
  readonly notTerminatedBy?: number | undefined
  /**
   * Only instances that may have run after this time (what the savings accrual reads): launched
   * (`launchConfirmedAt` and a cloud id set) and not seen gone at or before it
   * (`terminationConfirmedAt` null or after it). Retired instances whose end is not observed are
   * kept: they may still run (`Instance.isUnreconciled`).
   *
   * @since 0.2.0
   */
  readonly runningAfter?: number | undefined
  /**
   * `true`: only unreconciled instances (`Instance.isUnreconciled`: TERMINATED, with a cloud id,
   * end not observed); `false`: all but those. Adapters should answer `true` from an index: the
   * `unreconciled-instances` job reads it every minute and there are normally few.
   *
   * @since 0.2.0
   */
  readonly unreconciled?: boolean | undefined
  readonly limit?: number | undefined
  /** Keyset pagination: instances with an id greater than this. */
  readonly afterId?: InstanceId | undefined
}

/**
 * Filter for {@link AgentStoreService.busyAgents}.
 *
 * @since 0.1.0
 * @category models
 */
export interface BusyAgentsOptions {
  readonly limit?: number | undefined
  /** Keyset pagination: agents with an id greater than this. */
  readonly afterId?: AgentId | undefined
}

/**
 * An instance with the tenant of its agent, as {@link AgentStoreService.listInstances} answers it.
 *
 * @since 0.1.0
 * @category models
 */
export interface TenantInstance {
  readonly tenantId: TenantId
  readonly instance: Instance
}

/**
 * An agent by its keys and its version when read, as {@link AgentStoreService.busyAgents}
 * answers it.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentRef {
  readonly tenantId: TenantId
  readonly agentId: AgentId
  readonly version: number
}

/**
 * The agent store port.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentStoreService {
  readonly load: (agentId: AgentId) => Effect.Effect<Option.Option<AgentAggregate>, StoreError>
  readonly findByLogicalId: (
    tenantId: TenantId,
    logicalAgentId: string
  ) => Effect.Effect<Option.Option<AgentAggregate>, StoreError>
  /** The agent owning a cloud instance id within a tenant. */
  readonly findByCloudInstanceId: (
    tenantId: TenantId,
    cloudInstanceId: string
  ) => Effect.Effect<Option.Option<AgentId>, StoreError>
  /** Agents of one tenant (or of all tenants when `tenantId` is null), ordered by id. */
  readonly list: (tenantId: TenantId | null, options?: ListAgentsOptions) => Effect.Effect<ReadonlyArray<Agent>, StoreError>
  readonly countAgents: (tenantId: TenantId) => Effect.Effect<number, StoreError>
  readonly commit: (commit: Commit) => Effect.Effect<ReadonlyArray<DomainEvent>, VersionConflict | DuplicateKey | StoreError>
  /**
   * Records a heartbeat without touching the version (heartbeats must not conflict with
   * flows). Ownership is part of the write: an agent that does not exist or belongs to another
   * tenant is left untouched and answered with None. Never moves the timestamp backwards.
   * This is the hottest write of the system: adapters should make it one statement.
   */
  readonly touchHeartbeat: (
    tenantId: TenantId,
    agentId: AgentId,
    at: number
  ) => Effect.Effect<Option.Option<HeartbeatTouch>, StoreError>
  /**
   * Heartbeats of many agents at `at`, answered in order as {@link AgentStoreService.touchHeartbeat}
   * answers each (an agent may appear more than once). Optional: without it the engine touches
   * them one by one. Adapters should write a batch in one statement or a few.
   */
  readonly touchHeartbeats?: (
    beats: ReadonlyArray<HeartbeatCall>,
    at: number
  ) => Effect.Effect<ReadonlyArray<Option.Option<HeartbeatTouch>>, StoreError>
  /**
   * Whether a command poll could have anything to do for this agent: `Some(false)` only when
   * it has no open command (pending or delivered), no notice, no open flow and is not DEGRADED —
   * a poll would then deliver nothing and change nothing — and `None` when the agent does not
   * exist for this tenant.
   * Optional: without it every poll loads the aggregate. Adapters should make it one read
   * (most polls of a fleet find nothing to do).
   */
  readonly peekPoll?: (tenantId: TenantId, agentId: AgentId) => Effect.Effect<Option.Option<boolean>, StoreError>
  /**
   * The agent's live instances (PRIMARY and REPLICA) with their pools, `None` when the agent
   * does not exist for this tenant: what a price report needs to know about its reporter.
   * Optional: without it the aggregate is loaded. Adapters should make it one read.
   */
  readonly liveInstances?: (tenantId: TenantId, agentId: AgentId) => Effect.Effect<Option.Option<ReadonlyArray<LiveInstance>>, StoreError>
  /**
   * Instances of one tenant's agents (of all tenants when `tenantId` is null), ordered by
   * instance id: what the jobs that look at instances only (savings accrual, zombie retention)
   * read in bulk instead of loading every aggregate. Optional: without it those jobs load every
   * agent's aggregate. Adapters should make a page one read.
   */
  readonly listInstances?: (
    tenantId: TenantId | null,
    options?: ListInstancesOptions
  ) => Effect.Effect<ReadonlyArray<TenantInstance>, StoreError>
  /**
   * The agents (of one tenant, or of all when `tenantId` is null) that have a notice, an open
   * command (pending or delivered), an open flow, or are DEGRADED, ordered by id: the ones the
   * command sweep has work for (expiry, flow TTL, recovery), in
   * the sense of {@link AgentStoreService.peekPoll}. Optional: without it the sweep loads every
   * agent's aggregate. Adapters should make a page one read.
   */
  readonly busyAgents?: (tenantId: TenantId | null, options?: BusyAgentsOptions) => Effect.Effect<ReadonlyArray<AgentRef>, StoreError>
  /**
   * The agents owning any of these cloud instance ids within a tenant (ids nobody owns are left
   * out): what reconciling an inventory of a shared account needs, where most listed instances
   * belong to other agents. Optional: without it each id is looked up with
   * {@link AgentStoreService.findByCloudInstanceId}. Adapters should make it one read.
   */
  readonly ownersOf?: (
    tenantId: TenantId,
    cloudInstanceIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyMap<string, AgentId>, StoreError>
}

/**
 * A PRIMARY or REPLICA instance as {@link AgentStoreService.liveInstances} answers it.
 *
 * @since 0.1.0
 * @category models
 */
export interface LiveInstance {
  readonly role: "PRIMARY" | "REPLICA"
  readonly cloudInstanceId: string | null
  readonly pool: PoolId
}

/**
 * The agent store tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class AgentStore extends Context.Tag("@spotfleet/engine/AgentStore")<AgentStore, AgentStoreService>() {}
