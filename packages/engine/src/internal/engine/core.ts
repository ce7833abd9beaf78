/**
 * The engine's one write path for an existing agent and what every call shares: the stores,
 * the transition options an `EngineOptions` sets, tenant and ownership checks, idempotent
 * replays, and `execute` (load → pure transition → commit, retried from a fresh read on a
 * version conflict).
 */
import { Clock, Effect, Either, Metric, Option, type Schema } from "effect"
import { AgentStore } from "../../AgentStore.js"
import { Actor } from "../../DomainEvent.js"
import type { AgentView as AgentViewType, EngineFailure, EngineOptions } from "../../Engine.js"
import { AgentView } from "../../Engine.js"
import { AgentNotFound, TenantNotFound } from "../../EngineError.js"
import * as EngineMetrics from "../../EngineMetrics.js"
import { EventLog } from "../../EventLog.js"
import { IdempotencyStore } from "../../IdempotencyStore.js"
import { type AgentId, randomIds, type TenantId } from "../../Ids.js"
import * as StateMachine from "../../StateMachine.js"
import * as Timing from "../../Timing.js"
import { TenantStore } from "../../TenantStore.js"
import * as Idempotent from "../idempotent.js"
import * as InventoryMemo from "./inventoryMemo.js"

export const agentActor = (agentId: string) => Actor.make({ kind: "agent", id: agentId })
export const userActor = Actor.make({ kind: "user", id: null })
export const systemActor = Actor.make({ kind: "system", id: null })

// The parts of an aggregate are schema instances the engine built or the store decoded: checking
// them again on every answer cost as much as the transition itself.
export const viewOf = (aggregate: StateMachine.AgentAggregate): AgentViewType =>
  AgentView.make({ agent: aggregate.agent, instances: [...aggregate.instances], commands: [...aggregate.commands] }, { disableValidation: true })

export const viewAnswer = (t: StateMachine.Transition) => viewOf(t.aggregate)

/** What an agent call passes besides the transition's input: its idempotency key, and who acts. */
export interface CallOptions {
  readonly idempotencyKey?: string | undefined
  readonly actor?: Actor | undefined
}

export const make = (options: EngineOptions) =>
  Effect.gen(function*() {
    const agents = yield* AgentStore
    const eventLog = yield* EventLog
    const idempotency = yield* IdempotencyStore
    const tenants = yield* TenantStore
    const ids = options.ids ?? randomIds
    const maxRetries = options.maxConflictRetries ?? 16
    const seconds = (s: number | undefined) => (s === undefined ? undefined : s * 1000)
    const commandTtlMillis = options.commandTtlSeconds === undefined
      ? undefined
      : Object.fromEntries(Object.entries(options.commandTtlSeconds).map(([type, s]) => [type, s * 1000]))
    /** What every transition of this engine is given besides the time, the actor and the tenant's limits. */
    const transitionOptions = {
      ids,
      maxDeliveries: options.maxDeliveries,
      promoteMarginMillis: seconds(options.promoteMarginSeconds),
      commandTtlMillis,
      flowTtlMillis: seconds(options.flowTtlSeconds),
      orphanGraceMillis: seconds(options.orphanGraceSeconds)
    }

    const getTenant = (tenantId: TenantId) =>
      Effect.flatMap(tenants.get(tenantId), Option.match({
        onNone: () => Effect.fail(new TenantNotFound({ tenantId })),
        onSome: Effect.succeed
      }))

    const loadOwned = (tenantId: TenantId, agentId: AgentId) =>
      Effect.flatMap(agents.load(agentId), (found) =>
        Option.isSome(found) && found.value.agent.tenantId === tenantId
          ? Effect.succeed(found.value)
          // Another tenant's agent is reported exactly like a missing one.
          : Effect.fail(new AgentNotFound({ agentId })))

    /** Inventories reconciled without a change, polls that found nothing (internal/engine/inventoryMemo.ts). */
    const inventories = InventoryMemo.make(100_000, Timing.reconcile.unchangedInventorySeconds * 1000, (options.idlePollSeconds ?? 0) * 1000)
    const agentKey = (tenantId: TenantId, agentId: AgentId) => `${tenantId}/${agentId}`

    /** Replays the first answer for a key, or runs `fresh` with the record to write (internal/idempotent.ts). */
    const idempotent = Idempotent.make(idempotency)

    const retryConflicts = <A, E extends { readonly _tag: string }, R>(effect: Effect.Effect<A, E, R>) =>
      effect.pipe(
        Effect.tapError((e) => e._tag === "VersionConflict" ? Metric.increment(EngineMetrics.optimisticConflicts) : Effect.void),
        Effect.retry({ times: maxRetries, while: (e) => e._tag === "VersionConflict" })
      )

    /**
     * The one write path for an existing agent: load → transition → commit, retried from a
     * fresh read on a version conflict.
     */
    const execute = <A, I>(args: {
      readonly tenantId: TenantId
      readonly agentId: AgentId
      readonly input: (aggregate: StateMachine.AgentAggregate) => StateMachine.Input | Effect.Effect<StateMachine.Input, EngineFailure>
      readonly actor: Actor
      readonly operation: string
      readonly idempotencyKey?: string | undefined
      readonly schema: Schema.Schema<A, I>
      readonly answer: (transition: StateMachine.Transition) => A
    }): Effect.Effect<A, EngineFailure> =>
      // A key names one request: the same key for another agent (or another kind of call) is a
      // reuse, answered with IdempotencyKeyReused rather than with the first call's answer.
      idempotent(args.tenantId, args.idempotencyKey, `${args.operation} ${args.agentId}`, args.schema, (record) =>
        retryConflicts(Effect.gen(function*() {
          const before = yield* loadOwned(args.tenantId, args.agentId)
          const tenant = yield* getTenant(args.tenantId)
          const now = yield* Clock.currentTimeMillis
          const made = args.input(before)
          const input = Effect.isEffect(made) ? yield* made : made
          const result = StateMachine.transition(before, input, { ...transitionOptions, now, actor: args.actor, limits: tenant.limits })
          if (Either.isLeft(result)) return yield* Effect.fail(result.left)
          const transition = result.right
          const answer = args.answer(transition)
          const idem = record(answer, now)
          if (transition.changed) {
            const written = yield* agents.commit({ before, after: transition.aggregate, events: transition.events, idempotency: idem })
            inventories.committed(agentKey(args.tenantId, args.agentId), transition.aggregate.agent.version)
            yield* EngineMetrics.recordEvents(written)
          } else if (idem !== undefined) {
            yield* idempotency.put(idem)
          }
          return answer
        })))

    /** A call whose answer is the agent's view after the transition of `input`. */
    const simple = (
      operation: string,
      input: (aggregate: StateMachine.AgentAggregate) => StateMachine.Input | Effect.Effect<StateMachine.Input, EngineFailure>,
      defaultActor: Actor
    ) =>
    (tenantId: TenantId, agentId: AgentId, callOptions: CallOptions = {}) =>
      execute({
        tenantId,
        agentId,
        input,
        actor: callOptions.actor ?? defaultActor,
        operation,
        idempotencyKey: callOptions.idempotencyKey,
        schema: AgentView,
        answer: viewAnswer
      })

    return {
      agents,
      eventLog,
      idempotency,
      tenants,
      ids,
      options,
      transitionOptions,
      leaseMillis: (options.leaseSeconds ?? Timing.leaseSeconds) * 1000,
      pollLimit: options.pollLimit ?? 5,
      getTenant,
      loadOwned,
      inventories,
      agentKey,
      idempotent,
      retryConflicts,
      execute,
      simple
    }
  })

/** What every part of the engine shares (`make`'s result). */
export type Core = Effect.Effect.Success<ReturnType<typeof make>>
