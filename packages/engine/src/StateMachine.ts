/**
 * The instance role state machine of DESIGN.md §3 as a pure function: an agent aggregate and an
 * input go in; the new aggregate and the events describing the change come out, or a typed
 * rejection. Nothing here reads the clock or a store: the caller passes `now` and an id
 * generator, and persists the result atomically.
 *
 * @since 0.1.0
 */
import type { Either } from "effect"
import type { Agent, AgentConfigPatch, NoticeKind } from "./Agent.js"
import type { Command, CommandResult, CommandType } from "./Command.js"
import type { Actor, EventDraft } from "./DomainEvent.js"
import type { Rejection } from "./EngineError.js"
import type { CommandId, IdGenerator, InstanceId } from "./Ids.js"
import type { Instance, Role } from "./Instance.js"
import * as internal from "./internal/stateMachine.js"
import type { PoolId } from "./Pool.js"
import type { TenantLimits } from "./Tenant.js"

/**
 * One agent with its instances and commands: the unit of consistency. Every change to any of
 * them is committed together, guarded by `agent.version`.
 *
 * @since 0.1.0
 * @category models
 */
export interface AgentAggregate {
  readonly agent: Agent
  readonly instances: ReadonlyArray<Instance>
  readonly commands: ReadonlyArray<Command>
}

/**
 * What a transition needs from the outside world.
 *
 * @since 0.1.0
 * @category models
 */
export interface TransitionContext {
  readonly now: number
  readonly ids: IdGenerator
  readonly actor: Actor
  readonly limits?: TenantLimits | undefined
  /** Deliveries of one command before a lease that ran out fails it (default 5). */
  readonly maxDeliveries?: number | undefined
  /**
   * A replica still launching when a termination deadline is this close gets its PROMOTE
   * queued anyway, so the agent promotes it the moment it runs (default
   * `Timing.promoteMarginSeconds`).
   */
  readonly promoteMarginMillis?: number | undefined
  /** Overrides of `Timing.commandTtlSeconds`, per command type, in milliseconds. */
  readonly commandTtlMillis?: Partial<Record<CommandType, number>> | undefined
  /** Override of `Timing.flowTtlSeconds`, in milliseconds. */
  readonly flowTtlMillis?: number | undefined
  /** Override of `Timing.reconcile.orphanGraceSeconds`, in milliseconds. */
  readonly orphanGraceMillis?: number | undefined
}

/**
 * One instance as an agent's cloud inventory lists it. The inventory lists every instance of the
 * region the agent can see, managed or not.
 *
 * @since 0.2.0
 * @category models
 */
export interface InventoryItem {
  readonly cloudInstanceId: string
  /** The cloud's state name (`pending`, `running`, `stopping`, `stopped`, `shutting-down`, `terminated`), when given. */
  readonly state: string | null
  /** `<instance type>.<availability zone>`, when the agent could tell. */
  readonly pool?: string | null | undefined
  /** The instance's tags (management tags, a launch token). */
  readonly tags?: Readonly<Record<string, string>> | undefined
  /** When the cloud started it (epoch milliseconds), when given. */
  readonly launchedAt?: number | null | undefined
}

/**
 * Inputs to the state machine. `cloudInstanceId` is the cloud's id (`i-...`); `instanceId` is
 * the engine's id of an instance record.
 *
 * @since 0.1.0
 * @category models
 */
export type Input =
  | {
    readonly _tag: "Register"
    readonly cloudInstanceId: string
    readonly pool: PoolId
    readonly metadata: Readonly<Record<string, unknown>>
  }
  | { readonly _tag: "MarkOnline" }
  | { readonly _tag: "MarkOffline" }
  | { readonly _tag: "Deliver"; readonly limit: number; readonly leaseMillis: number }
  | { readonly _tag: "ReportResult"; readonly commandId: CommandId; readonly result: CommandResult }
  | {
    readonly _tag: "ConfirmLaunch"
    readonly commandId: CommandId | null
    readonly tempInstanceId: string | null
    readonly cloudInstanceId: string
  }
  | {
    readonly _tag: "ConfirmTerminated"
    readonly cloudInstanceId: string
    /** Where a replacement is launched if the PRIMARY is gone and no replica exists (best first). */
    readonly launchPools?: ReadonlyArray<PoolId> | undefined
  }
  | {
    readonly _tag: "Reconcile"
    /** Every instance the agent's cloud inventory lists, managed or not. */
    readonly inventory: ReadonlyArray<InventoryItem>
    /** Where a replacement is launched if the PRIMARY turns out to be gone (best first). */
    readonly launchPools: ReadonlyArray<PoolId>
    /**
     * Listed instances carrying our management tags that no agent of the tenant knows (the
     * caller looked them up across the tenant): the candidates for adoption. Default: none.
     */
    readonly unowned?: ReadonlyArray<string> | undefined
  }
  | { readonly _tag: "RequestReplica"; readonly pool: PoolId | null; readonly priority: number }
  | { readonly _tag: "RemoveReplica"; readonly instanceId: InstanceId }
  | { readonly _tag: "Promote"; readonly instanceId: InstanceId; readonly priority: number }
  | {
    readonly _tag: "Switch"
    readonly pool: PoolId
    readonly priority: number
    readonly trigger: "manual" | "ml"
    /** The ML decision that caused an automatic switch. */
    readonly decisionId?: string | null | undefined
  }
  | { readonly _tag: "CancelSwitch" }
  | { readonly _tag: "UpdateConfig"; readonly patch: AgentConfigPatch }
  | {
    readonly _tag: "Notice"
    readonly kind: NoticeKind
    readonly cloudInstanceId: string
    /**
     * The termination (or action) time as the agent reported it, possibly already past; absent
     * when none was reported. The notice's identity is (instance, this time); its budget runs to
     * this time when it is ahead, else for `Timing.noticeDeadlineSeconds` from now.
     */
    readonly deadline?: number | undefined
    /**
     * Where an emergency replica is launched if one is needed, best first (see
     * `PoolLedger.emergencyChain`); a failed launch moves to the next. Empty: the instance's pool.
     */
    readonly launchPools: ReadonlyArray<PoolId>
  }
  | { readonly _tag: "RetireZombie"; readonly instanceId: InstanceId }
  | {
    readonly _tag: "Maintain"
    /** Where a DEGRADED agent's recovery launches when it must (best first); default: its lost PRIMARY's pool. */
    readonly launchPools?: ReadonlyArray<PoolId> | undefined
  }

/**
 * The result of a transition. `changed` is false when the input was a no-op (a duplicate,
 * nothing to deliver): nothing needs to be written then.
 *
 * @since 0.1.0
 * @category models
 */
export interface Transition {
  readonly aggregate: AgentAggregate
  readonly events: ReadonlyArray<EventDraft>
  readonly changed: boolean
  /** Commands handed to the agent by a `Deliver` input, in delivery order. */
  readonly delivered: ReadonlyArray<Command>
}

/**
 * Applies one input to an aggregate.
 *
 * @since 0.1.0
 * @category transitions
 */
export const transition: (
  aggregate: AgentAggregate,
  input: Input,
  context: TransitionContext
) => Either.Either<Transition, Rejection> = internal.transition

/**
 * Creates a new agent with its first instance as PRIMARY.
 *
 * @since 0.1.0
 * @category transitions
 */
export const register: (
  args: {
    readonly tenantId: Agent["tenantId"]
    readonly logicalAgentId: string
    readonly cloudInstanceId: string
    readonly pool: PoolId
    readonly metadata: Readonly<Record<string, unknown>>
    readonly config?: AgentConfigPatch | undefined
  },
  context: TransitionContext
) => Either.Either<Transition, Rejection> = internal.register

/**
 * One allowed role change: the transitions table of DESIGN.md §3. The code can only change a
 * role through an entry of this table; docs/STATE_MACHINE.md is checked against it.
 *
 * @since 0.1.0
 * @category models
 */
export interface RoleTransition {
  readonly from: Role | "NONE"
  readonly to: Role
  readonly trigger: string
}

/**
 * Every role change the state machine can make.
 *
 * @since 0.1.0
 * @category models
 */
export const roleTransitions: ReadonlyArray<RoleTransition> = internal.roleTransitions

/**
 * The command status changes the state machine can make.
 *
 * @since 0.1.0
 * @category models
 */
export const commandTransitions: ReadonlyArray<{ readonly from: string; readonly to: string; readonly trigger: string }> =
  internal.commandTransitions

/**
 * Checks the invariants of DESIGN.md §3 on one aggregate and returns every violation found
 * (empty when the aggregate is consistent).
 *
 * @since 0.1.0
 * @category invariants
 */
export const checkInvariants: (aggregate: AgentAggregate) => ReadonlyArray<string> = internal.checkInvariants
