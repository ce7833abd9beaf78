/**
 * What an agent calls: heartbeats (one write, no version bump — a commit only when one brings
 * the agent back online), command polls and results, launch and termination reports,
 * interruption notices and the cloud inventory of the reconcile loop. Each state change goes
 * through `Core.execute`; the pools an emergency may launch in come from the pool ledger.
 */
import { Clock, Effect, Either, Hash, Metric, Option, Schema } from "effect"
import type { HeartbeatCall, HeartbeatTouch } from "../../AgentStore.js"
import { Command } from "../../Command.js"
import type { EngineFailure, EngineService } from "../../Engine.js"
import { AgentView, HeartbeatResult } from "../../Engine.js"
import { AgentNotFound, CommandNotFound, StoreError } from "../../EngineError.js"
import * as EngineMetrics from "../../EngineMetrics.js"
import type { AgentId, TenantId } from "../../Ids.js"
import type * as StateMachine from "../../StateMachine.js"
import * as Reconcile from "../flows/reconcile.js"
import { agentActor, type Core, viewAnswer, viewOf } from "./core.js"
import type { ReadModels } from "./readModels.js"

export const make = (core: Core, readModels: ReadModels) => {
  const { agents, execute, leaseMillis, loadOwned, pollLimit, simple } = core
  const { emergencyChain } = readModels

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

  const nothingToDeliver: Effect.Effect<ReadonlyArray<Command>> = Effect.succeed([])

  const pollCommands: EngineService["pollCommands"] = (tenantId, agentId, pollOptions = {}) => {
    const limit = pollOptions.limit ?? pollLimit
    const peek = agents.peekPoll
    // Most polls find nothing: a store that can tell so in one read spares the aggregate load
    // (the transition of such a poll changes nothing and delivers nothing).
    if (peek === undefined) return deliver(tenantId, agentId, limit)
    const key = core.agentKey(tenantId, agentId)
    // A poll that found nothing still stands (Timing.idlePollSeconds): no store read at all.
    return Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (core.inventories.isIdle(key, now)) return nothingToDeliver
      const since = core.inventories.begin()
      return Effect.flatMap(peek(tenantId, agentId), (busy) => {
        if (Option.isNone(busy)) return Effect.fail(new AgentNotFound({ agentId }))
        if (busy.value) return deliver(tenantId, agentId, limit)
        core.inventories.idle(key, since, now)
        return nothingToDeliver
      })
    })
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

  const confirmLaunch: EngineService["confirmLaunch"] = (tenantId, agentId, args, callOptions) =>
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
    }, agentActor(agentId))(tenantId, agentId, callOptions)

  const confirmTerminated: EngineService["confirmTerminated"] = (tenantId, agentId, args, callOptions) =>
    simple("confirm-terminated", (aggregate) =>
      Effect.gen(function*() {
        const instance = aggregate.instances.find((i) => i.cloudInstanceId === args.cloudInstanceId)
        // Only the loss of the PRIMARY needs a replacement pool.
        const launchPools = instance?.role === "PRIMARY"
          ? yield* emergencyChain(instance.pool, yield* Clock.currentTimeMillis)
          : []
        return { _tag: "ConfirmTerminated" as const, cloudInstanceId: args.cloudInstanceId, launchPools }
      }), agentActor(agentId))(tenantId, agentId, callOptions)

  const notice: EngineService["notice"] = (tenantId, agentId, args, callOptions) =>
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
      }), agentActor(agentId))(tenantId, agentId, callOptions)

  const ownersOf = (tenantId: TenantId, cloudInstanceIds: ReadonlyArray<string>): Effect.Effect<ReadonlyMap<string, AgentId>, EngineFailure> =>
    agents.ownersOf !== undefined
      ? agents.ownersOf(tenantId, cloudInstanceIds)
      : Effect.map(
        Effect.forEach(cloudInstanceIds, (id) => Effect.map(agents.findByCloudInstanceId(tenantId, id), (owner) => [id, owner] as const)),
        (found) => new Map(found.flatMap(([id, owner]) => (Option.isSome(owner) ? [[id, owner.value] as const] : [])))
      )

  /**
   * The input of a reconcile of `instances`; `adoptable` hears whether the inventory lists
   * instances of ours this agent does not know (what is done about them depends on other agents).
   */
  const reconcileInput = (
    tenantId: TenantId,
    instances: ReadonlyArray<StateMachine.InventoryItem>,
    adoptable: (found: boolean) => void = () => {}
  ) =>
  (aggregate: StateMachine.AgentAggregate) =>
    Effect.gen(function*() {
      const listed = new Set(instances.map((i) => i.cloudInstanceId))
      const primary = aggregate.instances.find((i) => i.role === "PRIMARY")
      const launchPools = primary !== undefined && primary.cloudInstanceId !== null && !listed.has(primary.cloudInstanceId)
        ? yield* emergencyChain(primary.pool, yield* Clock.currentTimeMillis)
        : []
      // Instances with our tags this agent does not know: the ones no agent of the tenant
      // knows are candidates for adoption (in a shared account most belong to others).
      const known = new Set(aggregate.instances.flatMap((i) => (i.cloudInstanceId === null ? [] : [i.cloudInstanceId])))
      const unknown = instances
        .filter((i) => !known.has(i.cloudInstanceId) && Reconcile.isManaged(i.tags) && !Reconcile.isGone(i))
        .map((i) => i.cloudInstanceId)
      adoptable(unknown.length > 0)
      const owners = unknown.length === 0 ? new Map<string, AgentId>() : yield* ownersOf(tenantId, unknown)
      const unowned = unknown.filter((id) => !owners.has(id))
      return { _tag: "Reconcile" as const, inventory: instances, launchPools, unowned }
    })

  const reconcileInventory: EngineService["reconcileInventory"] = (tenantId, agentId, args) =>
    args.error !== undefined && args.error !== null || args.instances.length === 0
      // A cloud error, or an empty list (a reconnect sends one), says nothing about what runs.
      ? Effect.map(loadOwned(tenantId, agentId), viewOf)
      : simple("reconcile", reconcileInput(tenantId, args.instances), agentActor(agentId))(tenantId, agentId)

  /**
   * An inventory's identity: the length and hash of its JSON (a few bytes per agent, whatever the
   * inventory's size; kept while the caller hands the same list again).
   */
  const fingerprints = new WeakMap<ReadonlyArray<StateMachine.InventoryItem>, string>()
  const fingerprintOf = (instances: ReadonlyArray<StateMachine.InventoryItem>) => {
    let fingerprint = fingerprints.get(instances)
    if (fingerprint === undefined) {
      const json = JSON.stringify(instances)
      fingerprints.set(instances, fingerprint = `${json.length}:${Hash.string(json)}`)
    }
    return fingerprint
  }

  const observeOne = (
    call: Parameters<EngineService["observeInventories"]>[0][number],
    now: number,
    timeoutMillis: number | undefined
  ): Effect.Effect<EngineFailure | undefined> | undefined => {
    const { agentId, instances, tenantId } = call
    if (call.error !== undefined && call.error !== null || instances.length === 0) return undefined
    const key = core.agentKey(tenantId, agentId)
    const fingerprint = fingerprintOf(instances)
    if (core.inventories.quiet(key, fingerprint, now)) return undefined
    let adoptable = false
    const reconcile = execute({
      tenantId,
      agentId,
      input: reconcileInput(tenantId, instances, (found) => (adoptable = found)),
      actor: agentActor(agentId),
      operation: "reconcile",
      schema: Schema.Unknown,
      answer: (t) => (t.changed ? null : t.aggregate.agent.version)
    })
    const bounded = timeoutMillis === undefined ? reconcile : Effect.timeoutFail(reconcile, {
      duration: timeoutMillis,
      onTimeout: () => new StoreError({ operation: "reconcile", reason: `timed out after ${timeoutMillis} ms` })
    })
    return Effect.match(bounded, {
      onFailure: (e) => e,
      onSuccess: (unchangedAt) => {
        // Unknown instances of ours depend on other agents too: those are looked at every time.
        if (typeof unchangedAt === "number" && !adoptable) core.inventories.remember(key, fingerprint, unchangedAt, now)
        return undefined
      }
    })
  }

  const observeInventories: EngineService["observeInventories"] = (calls, observeOptions = {}) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) => {
      const outcomes: Array<EngineFailure | undefined> = new Array(calls.length).fill(undefined)
      const running: Array<Effect.Effect<void>> = []
      for (let i = 0; i < calls.length; i++) {
        const one = observeOne(calls[i]!, now, observeOptions.timeoutMillis)
        if (one !== undefined) running.push(Effect.map(one, (outcome) => void (outcomes[i] = outcome)))
      }
      return running.length === 0 ? Effect.succeed(outcomes) : Effect.as(Effect.all(running, { concurrency: "unbounded", discard: true }), outcomes)
    })

  return { heartbeat, heartbeats, pollCommands, reportResult, confirmLaunch, confirmTerminated, notice, reconcileInventory, observeInventories }
}
