/**
 * The engine: the operations agents, users and jobs perform, over the store ports. Each
 * operation loads the agent aggregate, applies the pure state machine, and commits the result
 * with its events (and idempotency record) atomically; a version conflict is retried from a
 * fresh read a bounded number of times.
 *
 * @since 0.1.0
 */
import { Context, type Effect, type Either, Layer, Schema } from "effect"
import { Agent, type AgentConfigPatch, type NoticeKind } from "./Agent.js"
import type { AgentStore } from "./AgentStore.js"
import { Command, type CommandResult, type CommandType } from "./Command.js"
import type { Actor, DomainEvent } from "./DomainEvent.js"
import type * as EngineError from "./EngineError.js"
import type { EventLog } from "./EventLog.js"
import type { IdempotencyStore } from "./IdempotencyStore.js"
import type { AgentId, CommandId, IdGenerator, InstanceId, TenantId } from "./Ids.js"
import { Instance } from "./Instance.js"
import * as internal from "./internal/engine.js"
import type { PoolId } from "./Pool.js"
import type * as PoolLedger from "./PoolLedger.js"
import type { InventoryItem } from "./StateMachine.js"
import type * as SwitchHistory from "./SwitchHistory.js"
import type { Tenant } from "./Tenant.js"
import type { TenantStore } from "./TenantStore.js"

/**
 * Options of the engine.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineOptions {
  /** How long a delivered command is leased to the agent before it is handed out again (default 10 minutes: a launch may take 5). */
  readonly leaseSeconds?: number | undefined
  /** Deliveries of one command before it fails (default 5). */
  readonly maxDeliveries?: number | undefined
  /** Commands handed out per poll (default 5: the legacy agent runs them one after another). */
  readonly pollLimit?: number | undefined
  /** Attempts of one operation on version conflicts before the conflict is surfaced (default 16). */
  readonly maxConflictRetries?: number | undefined
  /** Id generator (default: random UUIDs). */
  readonly ids?: IdGenerator | undefined
  /** Pools interrupted more recently than this are not chosen for emergency launches (default 300 s). */
  readonly quarantineSeconds?: number | undefined
  /** A replica still launching this close to a termination deadline gets its PROMOTE anyway (default 20 s). */
  readonly promoteMarginSeconds?: number | undefined
  /** Per command type, how long a command may stay open (defaults: `Timing.commandTtlSeconds`). */
  readonly commandTtlSeconds?: Partial<Record<CommandType, number>> | undefined
  /** The longest a flow may stay open (default `Timing.flowTtlSeconds`, 1 hour). */
  readonly flowTtlSeconds?: number | undefined
  /** How long an unknown instance with our tags runs before it is adopted and terminated (default `Timing.reconcile.orphanGraceSeconds`, 10 minutes). */
  readonly orphanGraceSeconds?: number | undefined
  /**
   * How long a poll that found nothing stands for the agent's next polls, answered without the
   * store while no commit of the agent went through this engine (default 0: off). Only for a
   * store that no other engine writes (the in-memory store, or one server process): a command
   * queued by another process would wait up to this long. `Timing.idlePollSeconds` (20 s) suits
   * the v5 agent's 5-s polls.
   *
   * @since 0.2.0
   */
  readonly idlePollSeconds?: number | undefined
}

/**
 * Per-call options of mutating operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface CallOptions {
  /** A repeat of the same key for the same tenant returns the first answer and changes nothing. */
  readonly idempotencyKey?: string | undefined
  /** Who is acting (default: the agent for agent calls, the system otherwise). */
  readonly actor?: Actor | undefined
}

/**
 * The answer to a registration.
 *
 * @since 0.1.0
 * @category models
 */
export class RegisterResult extends Schema.Class<RegisterResult>("RegisterResult")({
  agent: Agent,
  instance: Instance,
  created: Schema.Boolean
}) {}

/**
 * The answer to a heartbeat. It carries what the heartbeat write itself returns (no aggregate
 * load on the hot path): commands are fetched by polling, and a changed `configVersion` tells
 * the agent to fetch its config.
 *
 * @since 0.1.0
 * @category models
 */
export class HeartbeatResult extends Schema.Class<HeartbeatResult>("HeartbeatResult")({
  agentId: Schema.String,
  liveness: Schema.Literal("online", "offline"),
  configVersion: Schema.Int
}) {}

/**
 * An agent with its instances and commands, as returned by operations that change it.
 *
 * @since 0.1.0
 * @category models
 */
export class AgentView extends Schema.Class<AgentView>("AgentView")({
  agent: Agent,
  instances: Schema.Array(Instance),
  commands: Schema.Array(Command)
}) {}

/**
 * Everything an operation can fail with.
 *
 * @since 0.1.0
 * @category errors
 */
export type EngineFailure =
  | EngineError.Rejection
  | EngineError.AgentNotFound
  | EngineError.TenantNotFound
  | EngineError.VersionConflict
  | EngineError.DuplicateKey
  | EngineError.IdempotencyKeyReused
  | EngineError.StoreError

/**
 * The engine service.
 *
 * @since 0.1.0
 * @category models
 */
export interface EngineService {
  // -- tenants --
  readonly createTenant: (args: { readonly name: string; readonly tokenHash: string }) => Effect.Effect<Tenant, EngineFailure>
  readonly getTenant: (tenantId: TenantId) => Effect.Effect<Tenant, EngineFailure>
  readonly listTenants: Effect.Effect<ReadonlyArray<Tenant>, EngineFailure>
  readonly addTenantToken: (tenantId: TenantId, tokenHash: string, label: string) => Effect.Effect<void, EngineFailure>
  /** The tenant owning a token hash, if any. */
  readonly authenticate: (tokenHash: string) => Effect.Effect<Tenant | null, EngineFailure>

  // -- agent calls --
  readonly register: (
    tenantId: TenantId,
    args: {
      readonly logicalAgentId: string
      readonly cloudInstanceId: string
      readonly pool: PoolId
      readonly metadata?: Readonly<Record<string, unknown>> | undefined
      readonly config?: AgentConfigPatch | undefined
    },
    options?: CallOptions
  ) => Effect.Effect<RegisterResult, EngineFailure>
  readonly heartbeat: (tenantId: TenantId, agentId: AgentId) => Effect.Effect<HeartbeatResult, EngineFailure>
  /**
   * Many heartbeats at once, each answered (in order) exactly as `heartbeat` answers it: one
   * clock read and one store write for the batch (`AgentStore.touchHeartbeats` when the store
   * has it). A store failure fails every heartbeat of the batch.
   */
  readonly heartbeats: (
    calls: ReadonlyArray<{ readonly tenantId: TenantId; readonly agentId: AgentId }>
  ) => Effect.Effect<ReadonlyArray<Either.Either<HeartbeatResult, EngineFailure>>>
  readonly pollCommands: (
    tenantId: TenantId,
    agentId: AgentId,
    options?: { readonly limit?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<Command>, EngineFailure>
  readonly reportResult: (
    tenantId: TenantId,
    agentId: AgentId,
    args: { readonly commandId?: CommandId | undefined; readonly requestId?: string | undefined; readonly result: CommandResult },
    options?: CallOptions
  ) => Effect.Effect<Command, EngineFailure>
  readonly confirmLaunch: (
    tenantId: TenantId,
    agentId: AgentId,
    args: { readonly commandId?: CommandId | undefined; readonly requestId?: string | undefined; readonly tempInstanceId?: string | undefined; readonly cloudInstanceId: string },
    options?: CallOptions
  ) => Effect.Effect<AgentView, EngineFailure>
  readonly confirmTerminated: (
    tenantId: TenantId,
    agentId: AgentId,
    args: { readonly cloudInstanceId: string },
    options?: CallOptions
  ) => Effect.Effect<AgentView, EngineFailure>
  /**
   * An interruption notice for one of the agent's instances. `deadline` is the termination (or
   * action) time as the cloud announced it, passed as reported — already past or absent included:
   * the engine decides the budget (`Timing.noticeDeadlineSeconds`) and de-duplicates by
   * (instance, time), whenever a repeat arrives.
   */
  readonly notice: (
    tenantId: TenantId,
    agentId: AgentId,
    args: { readonly kind: NoticeKind; readonly cloudInstanceId: string; readonly deadline?: number | undefined },
    options?: CallOptions
  ) => Effect.Effect<AgentView, EngineFailure>

  // -- user calls --
  readonly getAgent: (tenantId: TenantId, agentId: AgentId) => Effect.Effect<AgentView, EngineFailure>
  readonly listAgents: (tenantId: TenantId) => Effect.Effect<ReadonlyArray<Agent>, EngineFailure>
  readonly updateConfig: (tenantId: TenantId, agentId: AgentId, patch: AgentConfigPatch, options?: CallOptions) => Effect.Effect<AgentView, EngineFailure>
  readonly requestReplica: (tenantId: TenantId, agentId: AgentId, args: { readonly pool?: PoolId | undefined }, options?: CallOptions) => Effect.Effect<AgentView, EngineFailure>
  readonly removeReplica: (tenantId: TenantId, agentId: AgentId, instanceId: InstanceId, options?: CallOptions) => Effect.Effect<AgentView, EngineFailure>
  readonly promote: (tenantId: TenantId, agentId: AgentId, instanceId: InstanceId, options?: CallOptions) => Effect.Effect<AgentView, EngineFailure>
  readonly switchPool: (
    tenantId: TenantId,
    agentId: AgentId,
    args: { readonly pool: PoolId; readonly trigger?: "manual" | "ml" | undefined; readonly priority?: number | undefined },
    options?: CallOptions
  ) => Effect.Effect<AgentView, EngineFailure>

  // -- jobs --
  readonly retireZombie: (tenantId: TenantId, agentId: AgentId, instanceId: InstanceId) => Effect.Effect<AgentView, EngineFailure>
  /**
   * Time-driven housekeeping of one agent: expires commands (every kind has a TTL), returns
   * leases that ran out, clears passed notice deadlines, closes a flow open past its TTL, and
   * starts another recovery attempt for a DEGRADED agent.
   */
  readonly maintain: (tenantId: TenantId, agentId: AgentId) => Effect.Effect<AgentView, EngineFailure>
  readonly markOffline: (tenantId: TenantId, agentId: AgentId) => Effect.Effect<AgentView, EngineFailure>

  /** Switch records of a tenant (manual, ML and emergency), oldest first. */
  readonly switches: (
    tenantId: TenantId,
    filter?: { readonly agentId?: AgentId | undefined; readonly since?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<SwitchHistory.SwitchRecord>, EngineFailure>
  /**
   * Reconciles the agent's cloud inventory with the engine's view: managed instances that
   * vanished (or are listed as terminated) are marked terminated; unmanaged ones are ignored.
   * An inventory with an error, or an empty one (as sent on reconnect), changes nothing.
   */
  readonly reconcileInventory: (
    tenantId: TenantId,
    agentId: AgentId,
    args: {
      readonly instances: ReadonlyArray<InventoryItem>
      readonly error?: string | null | undefined
    }
  ) => Effect.Effect<AgentView, EngineFailure>
  /**
   * `reconcileInventory` for inventories that come with heartbeats, many at once, without the
   * views: an inventory reconciled without a change before is not reconciled again (no aggregate
   * load) while the agent has not changed through this engine since, for
   * `Timing.reconcile.unchangedInventorySeconds`. An inventory with an error, or an empty one,
   * changes nothing. The reconciles that run, run side by side; each outcome (in order) is
   * `undefined` or its failure. `timeoutMillis` bounds each reconcile that runs (a `StoreError`
   * past it: the caller is waiting), without the cost of a timer when none runs.
   */
  readonly observeInventories: (
    calls: ReadonlyArray<{
      readonly tenantId: TenantId
      readonly agentId: AgentId
      readonly instances: ReadonlyArray<InventoryItem>
      readonly error?: string | null | undefined
    }>,
    options?: { readonly timeoutMillis?: number | undefined }
  ) => Effect.Effect<ReadonlyArray<EngineFailure | undefined>>
  /** Cancels a switch in progress, as long as its PROMOTE has not been handed out. */
  readonly cancelSwitch: (tenantId: TenantId, agentId: AgentId, options?: CallOptions) => Effect.Effect<AgentView, EngineFailure>
  /**
   * The agent's account of a switch (downtime as it measured it). `requestId` names the PROMOTE
   * command; without it the report is about the agent's latest switch. The downtime is
   * `downtimeSeconds`, else `completedAt − startedAt` ({@link SwitchHistory.reportedDowntime}).
   * With `options.idempotencyKey` the `SwitchReported` event and the key's record are one commit
   * (`EventLog.commit`); the key is scoped by tenant and agent, and a repeat answers the first
   * answer.
   */
  readonly reportSwitch: (
    tenantId: TenantId,
    agentId: AgentId,
    args: {
      readonly requestId?: string | undefined
      readonly downtimeSeconds?: number | undefined
      /** When the switch started and completed as the agent saw it (epoch milliseconds). */
      readonly startedAt?: number | undefined
      readonly completedAt?: number | undefined
      readonly details?: Readonly<Record<string, unknown>> | undefined
    },
    options?: CallOptions
  ) => Effect.Effect<{ readonly flowId: string; /** The `SwitchReported` event. */ readonly eventId: number }, EngineFailure>
  /** Per-pool boot times and interruption history, caught up with the event log. */
  readonly poolLedger: Effect.Effect<PoolLedger.Ledger, EngineFailure>
  /**
   * The pools quarantined now: interrupted within the engine's quarantine period
   * (`EngineOptions.quarantineSeconds`, see {@link PoolLedger.isQuarantined}), so emergency
   * launches do not go there.
   */
  readonly quarantinedPools: Effect.Effect<ReadonlySet<PoolId>, EngineFailure>

  // -- events --
  readonly events: (
    tenantId: TenantId | null,
    options: { readonly afterId: number; readonly limit?: number | undefined; readonly agentId?: AgentId | undefined }
  ) => Effect.Effect<ReadonlyArray<DomainEvent>, EngineFailure>
}

/**
 * The engine tag.
 *
 * @since 0.1.0
 * @category tags
 */
export class Engine extends Context.Tag("@spotfleet/engine/Engine")<Engine, EngineService>() {}

/**
 * Builds the engine over the store ports.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: (
  options?: EngineOptions
) => Effect.Effect<EngineService, never, AgentStore | EventLog | IdempotencyStore | TenantStore> = internal.make

/**
 * The engine as a layer; provide a store layer (e.g. `MemoryStore.layer`) underneath.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: EngineOptions
): Layer.Layer<Engine, never, AgentStore | EventLog | IdempotencyStore | TenantStore> => Layer.effect(Engine, make(options))
