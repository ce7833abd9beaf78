import { Either, ParseResult } from "effect"
import { Agent, defaultConfig, type AgentConfigPatch } from "../Agent.js"
import type { Rejection } from "../EngineError.js"
import { AgentId, type TenantId } from "../Ids.js"
import * as Pool from "../Pool.js"
import type { AgentAggregate, Input, Transition, TransitionContext } from "../StateMachine.js"
import { InvalidInput } from "../EngineError.js"
import { Draft, invalidInput, Reject } from "./draft.js"
import * as AgentFlow from "./flows/agent.js"
import * as Commands from "./flows/commands.js"
import * as Emergency from "./flows/emergency.js"
import * as Promotion from "./flows/promotion.js"
import * as Reconcile from "./flows/reconcile.js"
import * as Replica from "./flows/replica.js"

export { commandTransitions, roleTransitions } from "./draft.js"

const run = (draft: () => Draft, step: (d: Draft) => void): Either.Either<Transition, Rejection> => {
  try {
    const d = draft()
    step(d)
    return Either.right(d.finish())
  } catch (e) {
    if (e instanceof Reject) return Either.left(e.error)
    if (ParseResult.isParseError(e)) return Either.left(invalidInput(e))
    throw e
  }
}

const apply = (d: Draft, input: Input): void => {
  switch (input._tag) {
    case "Register":
      return AgentFlow.reRegister(d, input)
    case "MarkOnline":
    case "MarkOffline":
      return AgentFlow.markLiveness(d, input)
    case "Deliver":
      return Commands.deliver(d, input)
    case "ReportResult":
      return Commands.reportResult(d, input)
    case "ConfirmLaunch":
      return Replica.confirmLaunchReport(d, input)
    case "ConfirmTerminated":
      return Emergency.confirmTerminated(d, input)
    case "Reconcile":
      return Reconcile.reconcileCase(d, input)
    case "RequestReplica":
      return Replica.requestReplica(d, input)
    case "RemoveReplica":
      return Replica.removeReplica(d, input)
    case "Promote":
      return Promotion.promote(d, input)
    case "Switch":
      return Promotion.startSwitch(d, input)
    case "CancelSwitch":
      return Promotion.cancelSwitch(d)
    case "UpdateConfig":
      return AgentFlow.updateConfig(d, input)
    case "Notice":
      return Emergency.notice(d, input)
    case "RetireZombie":
      return Reconcile.retireZombie(d, input)
    case "Maintain":
      return Commands.maintainCase(d, input)
  }
}

export const transition = (
  aggregate: AgentAggregate,
  input: Input,
  context: TransitionContext
): Either.Either<Transition, Rejection> =>
  run(() => new Draft(aggregate, context), (d) => {
    apply(d, input)
    Replica.ensureManualReplica(d)
  })

export const register = (
  args: {
    readonly tenantId: TenantId
    readonly logicalAgentId: string
    readonly cloudInstanceId: string
    readonly pool: Pool.PoolId
    readonly metadata: Readonly<Record<string, unknown>>
    readonly config?: AgentConfigPatch | undefined
  },
  context: TransitionContext
): Either.Either<Transition, Rejection> => {
  return run(() => {
    const pool = Pool.parse(args.pool)
    if (Either.isLeft(pool)) throw new Reject(new InvalidInput({ field: "pool", reason: pool.left }))
    const agent = Agent.make({
      id: AgentId.make(context.ids.next("agent")),
      tenantId: args.tenantId,
      logicalAgentId: args.logicalAgentId,
      config: defaultConfig,
      configVersion: 1,
      liveness: "online",
      lastHeartbeatAt: context.now,
      notice: null,
      degraded: false,
      flow: null,
      metadata: { ...args.metadata },
      createdAt: context.now,
      version: 0
    })
    return new Draft({ agent, instances: [], commands: [] }, context)
  }, (d) => {
    if (args.config !== undefined) d.setAgent({ config: AgentFlow.mergeConfig(defaultConfig, args.config) })
    d.emit("AgentRegistered", { logicalAgentId: args.logicalAgentId, cloudInstanceId: args.cloudInstanceId, pool: args.pool })
    d.addInstance({ role: "PRIMARY", pool: args.pool, cloudInstanceId: args.cloudInstanceId, roleHint: null, trigger: "registration" })
    Replica.ensureManualReplica(d)
  })
}

export const checkInvariants = (aggregate: AgentAggregate): ReadonlyArray<string> => {
  const problems: Array<string> = []
  const { agent, commands, instances } = aggregate
  const primaries = instances.filter((i) => i.role === "PRIMARY").length
  if (primaries > 1) problems.push(`agent ${agent.id} has ${primaries} PRIMARY instances`)
  if (primaries === 0 && !agent.degraded) problems.push(`agent ${agent.id} has no PRIMARY and is not DEGRADED`)
  if (primaries === 1 && agent.degraded) problems.push(`agent ${agent.id} is DEGRADED with a PRIMARY`)
  if (agent.config.autoSwitch && agent.config.manualReplica) problems.push(`agent ${agent.id} has autoSwitch and manualReplica on`)
  const requestIds = new Set<string>()
  for (const c of commands) {
    if (requestIds.has(c.requestId)) problems.push(`duplicate requestId ${c.requestId}`)
    requestIds.add(c.requestId)
  }
  const cloudIds = new Set<string>()
  for (const i of instances) {
    if (i.cloudInstanceId === null) continue
    if (cloudIds.has(i.cloudInstanceId)) problems.push(`cloud instance ${i.cloudInstanceId} recorded twice`)
    cloudIds.add(i.cloudInstanceId)
  }
  const openFlows = new Set(commands.filter((c) => c.status === "pending" && c.flowId !== null).map((c) => c.flowId))
  for (const flowId of openFlows) {
    if (agent.flow?.id !== flowId) problems.push(`pending command of closed flow ${flowId}`)
  }
  return problems
}
