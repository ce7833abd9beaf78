import { Clock, Effect, Either, Metric, Option, Ref, Schema } from "effect"
import type { AgentConfigPatch } from "../Agent.js"
import { AgentStore, type Commit, type HeartbeatCall, type HeartbeatTouch } from "../AgentStore.js"
import { Command } from "../Command.js"
import { Actor, type DomainEvent, EventDraft, type EventType } from "../DomainEvent.js"
import type { AgentView as AgentViewType, EngineFailure, EngineOptions, EngineService } from "../Engine.js"
import { AgentView, HeartbeatResult, RegisterResult } from "../Engine.js"
import {
  AgentNotFound,
  CommandNotFound,
  DuplicateKey,
  InvalidInput,
  TenantNotFound,
  VersionConflict
} from "../EngineError.js"
import * as EngineMetrics from "../EngineMetrics.js"
import { EventLog } from "../EventLog.js"
import { IdempotencyStore } from "../IdempotencyStore.js"
import { type AgentId, randomIds, TenantId } from "../Ids.js"
import type { PoolId } from "../Pool.js"
import * as PoolLedger from "../PoolLedger.js"
import * as StateMachine from "../StateMachine.js"
import * as SwitchHistory from "../SwitchHistory.js"
import * as Timing from "../Timing.js"
import * as Reconcile from "./flows/reconcile.js"
import { defaultLimits, Tenant, TenantToken } from "../Tenant.js"
import { TenantStore } from "../TenantStore.js"
import * as Idempotent from "./idempotent.js"


const agentActor = (agentId: string) => Actor.make({ kind: "agent", id: agentId })
const userActor = Actor.make({ kind: "user", id: null })
const systemActor = Actor.make({ kind: "system", id: null })

/** A switch report's answer as its idempotency record keeps it (the store sets `eventIds`: `EventLog.LogCommit`). */
const SwitchReportAnswer = Schema.Struct({ flowId: Schema.String, eventIds: Schema.Array(Schema.Int) })

// The parts of an aggregate are schema instances the engine built or the store decoded: checking
// them again on every answer cost as much as the transition itself.
const viewOf = (aggregate: StateMachine.AgentAggregate): AgentViewType =>
  AgentView.make({ agent: aggregate.agent, instances: [...aggregate.instances], commands: [...aggregate.commands] }, { disableValidation: true })

export const make = (options: EngineOptions = {}) =>
  Effect.gen(function*() {
    const agents = yield* AgentStore
    const eventLog = yield* EventLog
    const idempotency = yield* IdempotencyStore
    const tenants = yield* TenantStore
    const ids = options.ids ?? randomIds
    const leaseMillis = (options.leaseSeconds ?? Timing.leaseSeconds) * 1000
    const pollLimit = options.pollLimit ?? 5
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
            yield* EngineMetrics.recordEvents(written)
          } else if (idem !== undefined) {
            yield* idempotency.put(idem)
          }
          return answer
        })))

    const viewAnswer = (t: StateMachine.Transition) => viewOf(t.aggregate)

    /**
     * A read model folded over the whole event log and caught up on demand (one catch-up at a
     * time). Every process folds the same log, so every process answers the same.
     */
    const readModel = <S extends { readonly lastEventId: number }>(
      empty: S,
      fold: (s: S, events: ReadonlyArray<DomainEvent>) => S,
      /** The event types the fold uses: only those are read (the log is mostly price reports). */
      types: ReadonlyArray<EventType>
    ) =>
      Effect.gen(function*() {
        const ref = yield* Ref.make(empty)
        const lock = yield* Effect.makeSemaphore(1)
        // Catch-ups completed so far. A caller that queued behind a catch-up which started after
        // it asked takes that result instead of reading again: under a burst (1,000 notices at
        // once) one read serves every waiter rather than one read each, in turn.
        let started = 0
        let finished = 0
        return Effect.suspend(() => {
          const asked = started
          return lock.withPermits(1)(Effect.gen(function*() {
            if (finished > asked) return yield* Ref.get(ref)
            started++
            let state = yield* Ref.get(ref)
            while (true) {
              const page = yield* eventLog.read({ tenantId: null, afterId: state.lastEventId, limit: 1000, types })
              if (page.length === 0) break
              state = fold(state, page)
            }
            yield* Ref.set(ref, state)
            finished = started
            return state
          }))
        })
      })
    const poolLedger = yield* readModel(PoolLedger.empty, PoolLedger.fold, PoolLedger.foldedTypes)
    const switchHistory = yield* readModel(SwitchHistory.empty, SwitchHistory.fold, SwitchHistory.foldedTypes)
    const quarantineMillis = options.quarantineSeconds === undefined ? undefined : options.quarantineSeconds * 1000
    const emergencyChain = (pool: PoolId, now: number) =>
      Effect.map(poolLedger, (ledger) => PoolLedger.emergencyChain(ledger, { interrupted: pool, now, quarantineMillis }))

    const register: EngineService["register"] = (tenantId, args, callOptions = {}) =>
      idempotent(tenantId, callOptions.idempotencyKey, "register", RegisterResult, (record) =>
        retryConflicts(Effect.gen(function*() {
          const tenant = yield* getTenant(tenantId)
          const now = yield* Clock.currentTimeMillis
          const actor = callOptions.actor ?? agentActor(args.logicalAgentId)
          const existing = yield* agents.findByLogicalId(tenantId, args.logicalAgentId)
          const context = { ...transitionOptions, now, actor, limits: tenant.limits }
          let commit: Commit | null
          let answer: RegisterResult
          if (Option.isSome(existing)) {
            const before = existing.value
            const result = StateMachine.transition(before, {
              _tag: "Register",
              cloudInstanceId: args.cloudInstanceId,
              pool: args.pool,
              metadata: args.metadata ?? {}
            }, context)
            if (Either.isLeft(result)) return yield* Effect.fail(result.left)
            const after = result.right.aggregate
            const instance = after.instances.find((i) => i.cloudInstanceId === args.cloudInstanceId)!
            answer = RegisterResult.make({ agent: after.agent, instance, created: false })
            commit = result.right.changed ? { before, after, events: result.right.events, idempotency: record(answer, now) } : null
          } else {
            const count = yield* agents.countAgents(tenantId)
            if (count >= tenant.limits.maxAgents) {
              return yield* Effect.fail(new InvalidInput({ field: "logicalAgentId", reason: `tenant limit of ${tenant.limits.maxAgents} agents reached` }))
            }
            const owner = yield* agents.findByCloudInstanceId(tenantId, args.cloudInstanceId)
            if (Option.isSome(owner)) {
              return yield* Effect.fail(new InvalidInput({ field: "instanceId", reason: `instance ${args.cloudInstanceId} belongs to another agent` }))
            }
            const result = StateMachine.register({
              tenantId,
              logicalAgentId: args.logicalAgentId,
              cloudInstanceId: args.cloudInstanceId,
              pool: args.pool,
              metadata: args.metadata ?? {},
              config: args.config
            }, context)
            if (Either.isLeft(result)) return yield* Effect.fail(result.left)
            const after = result.right.aggregate
            answer = RegisterResult.make({ agent: after.agent, instance: after.instances[0]!, created: true })
            commit = { before: null, after, events: result.right.events, idempotency: record(answer, now) }
          }
          if (commit !== null) {
            yield* agents.commit(commit).pipe(
              Effect.tap(EngineMetrics.recordEvents),
              // Two first registrations raced: retry, which now finds the winner's agent.
              Effect.catchIf(
                (e): e is DuplicateKey => e._tag === "DuplicateKey" && e.entity === "agent",
                (e) => Effect.fail(new VersionConflict({ agentId: e.key, expectedVersion: -1 }))
              )
            )
          } else {
            const idem = record(answer, now)
            if (idem !== undefined) yield* idempotency.put(idem)
          }
          return answer
        })))

    /** A written heartbeat's answer; an offline agent comes back online through a commit. */
    const heartbeatAnswer = (tenantId: TenantId, agentId: AgentId, touched: HeartbeatTouch) =>
      // Only an offline → online change is a state change (an event, a commit).
      touched.liveness === "offline"
        ? Effect.map(
          execute({
            tenantId,
            agentId,
            input: () => ({ _tag: "MarkOnline" }),
            actor: agentActor(agentId),
            operation: "heartbeat",
            schema: AgentView,
            answer: viewAnswer
          }),
          (view) => new HeartbeatResult({ agentId, liveness: "online", configVersion: view.agent.configVersion }, true)
        )
        // Built from trusted values: skip the constructor's validation on the hot path.
        : Effect.succeed(new HeartbeatResult({ agentId, liveness: "online", configVersion: touched.configVersion }, true))

    const heartbeat: EngineService["heartbeat"] = (tenantId, agentId) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        // One write, ownership included: another tenant's agent is answered 404 and not written.
        const touched = yield* agents.touchHeartbeat(tenantId, agentId, now)
        if (Option.isNone(touched)) return yield* Effect.fail(new AgentNotFound({ agentId }))
        yield* Metric.increment(EngineMetrics.heartbeatsReceived)
        return yield* heartbeatAnswer(tenantId, agentId, touched.value)
      })

    const touchAll = (calls: ReadonlyArray<HeartbeatCall>, now: number) =>
      agents.touchHeartbeats !== undefined
        ? agents.touchHeartbeats(calls, now)
        : Effect.forEach(calls, (c) => agents.touchHeartbeat(c.tenantId, c.agentId, now))

    const heartbeats: EngineService["heartbeats"] = (calls) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const touched = yield* Effect.either(touchAll(calls, now))
        if (Either.isLeft(touched)) return calls.map(() => Either.left<EngineFailure>(touched.left))
        let found = 0
        const answers: Array<Either.Either<HeartbeatResult, EngineFailure>> = []
        for (let i = 0; i < calls.length; i++) {
          const { agentId, tenantId } = calls[i]!
          const one = touched.right[i]
          if (one === undefined || Option.isNone(one)) {
            answers.push(Either.left(new AgentNotFound({ agentId })))
            continue
          }
          found++
          answers.push(
            one.value.liveness === "online"
              ? Either.right(new HeartbeatResult({ agentId, liveness: "online", configVersion: one.value.configVersion }, true))
              : yield* Effect.either(heartbeatAnswer(tenantId, agentId, one.value))
          )
        }
        if (found > 0) yield* Metric.incrementBy(EngineMetrics.heartbeatsReceived, found)
        return answers
      })

    const deliver = (tenantId: TenantId, agentId: AgentId, limit: number) =>
      execute({
        tenantId,
        agentId,
        input: () => ({ _tag: "Deliver", limit, leaseMillis }),
        actor: agentActor(agentId),
        operation: "poll",
        schema: Schema.Array(Command),
        answer: (t) => t.delivered
      })

    const ownersOf = (tenantId: TenantId, cloudInstanceIds: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, AgentId>, EngineFailure> =>
      agents.ownersOf !== undefined
        ? agents.ownersOf(tenantId, cloudInstanceIds)
        : Effect.map(
          Effect.forEach(cloudInstanceIds, (id) => Effect.map(agents.findByCloudInstanceId(tenantId, id), (owner) => [id, owner] as const)),
          (found) => new Map(found.flatMap(([id, owner]) => (Option.isSome(owner) ? [[id, owner.value] as const] : [])))
        )

    const nothingToDeliver: Effect.Effect<ReadonlyArray<Command>> = Effect.succeed([])

    const pollCommands: EngineService["pollCommands"] = (tenantId, agentId, pollOptions = {}) => {
      const limit = pollOptions.limit ?? pollLimit
      const peek = agents.peekPoll
      // Most polls find nothing: a store that can tell so in one read spares the aggregate load
      // (the transition of such a poll changes nothing and delivers nothing).
      if (peek === undefined) return deliver(tenantId, agentId, limit)
      return Effect.flatMap(peek(tenantId, agentId), (busy) =>
        Option.isNone(busy)
          ? Effect.fail(new AgentNotFound({ agentId }))
          : busy.value
          ? deliver(tenantId, agentId, limit)
          : nothingToDeliver)
    }

    const findCommand = (aggregate: StateMachine.AgentAggregate, commandId: string | undefined, requestId: string | undefined) => {
      const found = aggregate.commands.find((c) =>
        (commandId !== undefined && c.id === commandId) || (requestId !== undefined && c.requestId === requestId)
      )
      return found === undefined
        ? Effect.fail(new CommandNotFound({ commandId: commandId ?? requestId ?? "(none)" }))
        : Effect.succeed(found)
    }

    const reportResult: EngineService["reportResult"] = (tenantId, agentId, args, callOptions = {}) =>
      Effect.flatMap(
        execute({
          tenantId,
          agentId,
          input: (aggregate) =>
            Effect.map(findCommand(aggregate, args.commandId, args.requestId), (command) => ({
              _tag: "ReportResult" as const,
              commandId: command.id,
              result: args.result
            })),
          actor: callOptions.actor ?? agentActor(agentId),
          operation: "report-result",
          idempotencyKey: callOptions.idempotencyKey,
          schema: AgentView,
          answer: viewAnswer
        }),
        (view) => findCommand(view, args.commandId, args.requestId)
      )

    const simple = (
      operation: string,
      input: (aggregate: StateMachine.AgentAggregate) => StateMachine.Input | Effect.Effect<StateMachine.Input, EngineFailure>,
      defaultActor: Actor
    ) =>
    (tenantId: TenantId, agentId: AgentId, callOptions: { readonly idempotencyKey?: string | undefined; readonly actor?: Actor | undefined } = {}) =>
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

    const service: EngineService = {
      createTenant: ({ name, tokenHash }) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          const tenant = Tenant.make({
            id: TenantId.make(ids.next("tenant")),
            name,
            limits: defaultLimits,
            dryRun: false,
            createdAt: now
          })
          yield* tenants.create(tenant)
          yield* tenants.addToken(TenantToken.make({ tenantId: tenant.id, tokenHash, label: "initial", createdAt: now }))
          yield* eventLog.append([
            EventDraft.make({ tenantId: tenant.id, agentId: null, type: "TenantCreated", at: now, actor: userActor, data: { name } })
          ])
          return tenant
        }),
      getTenant,
      listTenants: tenants.list,
      addTenantToken: (tenantId, tokenHash, label) =>
        Effect.gen(function*() {
          yield* getTenant(tenantId)
          const now = yield* Clock.currentTimeMillis
          yield* tenants.addToken(TenantToken.make({ tenantId, tokenHash, label, createdAt: now }))
        }),
      authenticate: (tokenHash) => Effect.map(tenants.findByTokenHash(tokenHash), Option.getOrNull),

      register,
      heartbeat,
      heartbeats,
      pollCommands,
      reportResult,
      confirmLaunch: (tenantId, agentId, args, callOptions) =>
        simple("confirm-launch", (aggregate) => {
          const command = aggregate.commands.find((c) =>
            c.type === "LAUNCH_INSTANCE" &&
            ((args.commandId !== undefined && c.id === args.commandId) || (args.requestId !== undefined && c.requestId === args.requestId))
          )
          return {
            _tag: "ConfirmLaunch",
            commandId: command?.id ?? null,
            tempInstanceId: args.tempInstanceId ?? null,
            cloudInstanceId: args.cloudInstanceId
          }
        }, agentActor(agentId))(tenantId, agentId, callOptions),
      confirmTerminated: (tenantId, agentId, args, callOptions) =>
        simple("confirm-terminated", (aggregate) =>
          Effect.gen(function*() {
            const instance = aggregate.instances.find((i) => i.cloudInstanceId === args.cloudInstanceId)
            // Only the loss of the PRIMARY needs a replacement pool.
            const launchPools = instance?.role === "PRIMARY"
              ? yield* emergencyChain(instance.pool, yield* Clock.currentTimeMillis)
              : []
            return { _tag: "ConfirmTerminated" as const, cloudInstanceId: args.cloudInstanceId, launchPools }
          }), agentActor(agentId))(
          tenantId,
          agentId,
          callOptions
        ),
      notice: (tenantId, agentId, args, callOptions) =>
        simple(`notice:${args.kind}`, (aggregate) =>
          Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            const instance = aggregate.instances.find((i) => i.cloudInstanceId === args.cloudInstanceId)
            return {
              _tag: "Notice" as const,
              kind: args.kind,
              cloudInstanceId: args.cloudInstanceId,
              // As reported: the state machine owns the deadline rule and the notice's identity.
              deadline: args.deadline,
              launchPools: instance?.role === "PRIMARY" ? yield* emergencyChain(instance.pool, now) : []
            }
          }), agentActor(agentId))(tenantId, agentId, callOptions),

      getAgent: (tenantId, agentId) => Effect.map(loadOwned(tenantId, agentId), viewOf),
      listAgents: (tenantId) => agents.list(tenantId),
      updateConfig: (tenantId, agentId, patch: AgentConfigPatch, callOptions) =>
        simple("update-config", () => ({ _tag: "UpdateConfig", patch }), userActor)(tenantId, agentId, callOptions),
      requestReplica: (tenantId, agentId, args, callOptions) =>
        simple("request-replica", () => ({ _tag: "RequestReplica", pool: args.pool ?? null, priority: 75 }), userActor)(
          tenantId,
          agentId,
          callOptions
        ),
      removeReplica: (tenantId, agentId, instanceId, callOptions) =>
        simple("remove-replica", () => ({ _tag: "RemoveReplica", instanceId }), userActor)(tenantId, agentId, callOptions),
      promote: (tenantId, agentId, instanceId, callOptions) =>
        simple("promote", () => ({ _tag: "Promote", instanceId, priority: 75 }), userActor)(tenantId, agentId, callOptions),
      switchPool: (tenantId, agentId, args, callOptions) =>
        simple("switch", () => ({
          _tag: "Switch",
          pool: args.pool,
          trigger: args.trigger ?? "manual",
          priority: args.priority ?? (args.trigger === "ml" ? 25 : 75)
        }), args.trigger === "ml" ? Actor.make({ kind: "ml", id: null }) : userActor)(tenantId, agentId, callOptions),

      retireZombie: (tenantId, agentId, instanceId) =>
        simple("retire-zombie", () => ({ _tag: "RetireZombie", instanceId }), systemActor)(tenantId, agentId),
      maintain: (tenantId, agentId) =>
        simple("maintain", (aggregate) =>
          Effect.gen(function*() {
            // A DEGRADED agent may have to launch again: where, best first, from the lost PRIMARY's pool.
            const lost = aggregate.agent.degraded
              ? [...aggregate.instances].filter((i) => i.demotedAt !== null).sort((a, b) => (b.demotedAt ?? 0) - (a.demotedAt ?? 0))[0]
              : undefined
            const launchPools = lost === undefined ? [] : yield* emergencyChain(lost.pool, yield* Clock.currentTimeMillis)
            return { _tag: "Maintain" as const, launchPools }
          }), systemActor)(tenantId, agentId),
      markOffline: (tenantId, agentId) => simple("mark-offline", () => ({ _tag: "MarkOffline" }), systemActor)(tenantId, agentId),

      events: (tenantId, { afterId, agentId, limit }) => eventLog.read({ tenantId, afterId, limit: limit ?? 100, agentId }),
      poolLedger,
      switches: (tenantId, filter = {}) =>
        Effect.map(switchHistory, (h) =>
          [...h.switches.values()].filter((r) =>
            r.tenantId === tenantId && (filter.agentId === undefined || r.agentId === filter.agentId) &&
            (filter.since === undefined || r.initiatedAt >= filter.since)
          ).sort((a, b) => a.initiatedAt - b.initiatedAt)),
      reconcileInventory: (tenantId, agentId, args) =>
        args.error !== undefined && args.error !== null || args.instances.length === 0
          // A cloud error, or an empty list (a reconnect sends one), says nothing about what runs.
          ? Effect.map(loadOwned(tenantId, agentId), viewOf)
          : simple("reconcile", (aggregate) =>
            Effect.gen(function*() {
              const listed = new Set(args.instances.map((i) => i.cloudInstanceId))
              const primary = aggregate.instances.find((i) => i.role === "PRIMARY")
              const launchPools = primary !== undefined && primary.cloudInstanceId !== null && !listed.has(primary.cloudInstanceId)
                ? yield* emergencyChain(primary.pool, yield* Clock.currentTimeMillis)
                : []
              // Instances with our tags this agent does not know: the ones no agent of the tenant
              // knows are candidates for adoption (in a shared account most belong to others).
              const known = new Set(aggregate.instances.flatMap((i) => (i.cloudInstanceId === null ? [] : [i.cloudInstanceId])))
              const unknown = args.instances
                .filter((i) => !known.has(i.cloudInstanceId) && Reconcile.isManaged(i.tags) && !Reconcile.isGone(i))
                .map((i) => i.cloudInstanceId)
              const owners = unknown.length === 0 ? new Map<string, AgentId>() : yield* ownersOf(tenantId, unknown)
              const unowned = unknown.filter((id) => !owners.has(id))
              return { _tag: "Reconcile" as const, inventory: args.instances, launchPools, unowned }
            }), agentActor(agentId))(tenantId, agentId),
      cancelSwitch: (tenantId, agentId, callOptions) =>
        simple("cancel-switch", () => ({ _tag: "CancelSwitch" }), userActor)(tenantId, agentId, callOptions),
      reportSwitch: (tenantId, agentId, args, callOptions = {}) =>
        Effect.map(
          idempotent(tenantId, callOptions.idempotencyKey, Idempotent.agentOperation("switch-report", agentId), SwitchReportAnswer, (record) =>
            Effect.gen(function*() {
              const aggregate = yield* loadOwned(tenantId, agentId)
              const downtimeSeconds = SwitchHistory.reportedDowntime(args)
              if (downtimeSeconds === undefined) {
                return yield* Effect.fail(new InvalidInput({ field: "downtimeSeconds", reason: "give downtimeSeconds, or startedAt and completedAt" }))
              }
              const promote = args.requestId === undefined
                ? undefined
                : aggregate.commands.find((c) => c.requestId === args.requestId || c.id === args.requestId)
              // Without a command reference the report is about the agent's latest switch.
              const flowId = promote?.flowId ??
                (yield* Effect.map(switchHistory, (h) =>
                  [...h.switches.values()].filter((r) => r.agentId === agentId).sort((a, b) => b.initiatedAt - a.initiatedAt)[0]?.flowId ?? null))
              if (flowId === null) return yield* Effect.fail(new InvalidInput({ field: "request_id", reason: "no switch of this agent to report on" }))
              const now = yield* Clock.currentTimeMillis
              const answer = { flowId, eventIds: [] }
              // The event and the key's record in one commit: a failure leaves neither.
              const written = yield* eventLog.commit({
                events: [EventDraft.make({
                  tenantId,
                  agentId,
                  type: "SwitchReported",
                  at: now,
                  actor: callOptions.actor ?? agentActor(agentId),
                  data: {
                    flowId,
                    downtimeSeconds,
                    details: {
                      ...args.details,
                      ...(args.startedAt === undefined ? {} : { startedAt: args.startedAt }),
                      ...(args.completedAt === undefined ? {} : { completedAt: args.completedAt })
                    }
                  }
                })],
                idempotency: record(answer, now)
              }).pipe(Effect.tap(EngineMetrics.recordEvents))
              return { flowId, eventIds: written.map((e) => e.id) }
            })),
          (answer) => ({ flowId: answer.flowId, eventId: answer.eventIds[0] ?? 0 })
        ),
      quarantinedPools: Effect.gen(function*() {
        const ledger = yield* poolLedger
        const now = yield* Clock.currentTimeMillis
        const pools = new Set<PoolId>()
        for (const record of ledger.pools.values()) if (PoolLedger.isQuarantined(record, now, quarantineMillis)) pools.add(record.pool)
        return pools
      })
    }
    return service
  })

