/**
 * The working copy of one agent aggregate during one transition, and the mechanics every flow
 * uses: events, instances and their allowed role changes, commands and their allowed status
 * changes, the single open flow. The rules of what happens when live in `flows/`; the dispatcher
 * is `stateMachine.ts`.
 */
import { ParseResult } from "effect"
import { Agent, Flow, type FlowKind } from "../Agent.js"
import { Command, type CommandStatus, type CommandType } from "../Command.js"
import { EventDraft, type EventType } from "../DomainEvent.js"
import { CommandNotFound, FlowConflict, InstanceNotFound, InvalidInput, InvalidTransition, LimitExceeded, type Rejection } from "../EngineError.js"
import { type CommandId, FlowId, InstanceId } from "../Ids.js"
import { Instance, type Role, type RoleHint } from "../Instance.js"
import * as Pool from "../Pool.js"
import type { AgentAggregate, Input, RoleTransition, Transition, TransitionContext } from "../StateMachine.js"
import * as Timing from "../Timing.js"
import * as Commands from "./flows/commands.js"

// The transitions table of DESIGN.md §3. `setRole` refuses anything not listed here, which
// is what lets docs/STATE_MACHINE.md be checked against the code.
export const roleTransitions: ReadonlyArray<RoleTransition> = [
  { from: "NONE", to: "PRIMARY", trigger: "registration" },
  { from: "NONE", to: "LAUNCHING", trigger: "launch requested" },
  { from: "NONE", to: "REPLICA", trigger: "late or orphaned launch adopted" },
  { from: "NONE", to: "ZOMBIE", trigger: "orphan adopted" },
  { from: "LAUNCHING", to: "REPLICA", trigger: "launch confirmed" },
  { from: "LAUNCHING", to: "TERMINATED", trigger: "launch failed, expired or cancelled" },
  { from: "REPLICA", to: "PRIMARY", trigger: "promotion" },
  { from: "PRIMARY", to: "ZOMBIE", trigger: "demotion (autoTerminate off)" },
  { from: "PRIMARY", to: "TERMINATED", trigger: "demotion (autoTerminate on)" },
  { from: "PRIMARY", to: "TERMINATED", trigger: "reclaimed by the cloud" },
  { from: "REPLICA", to: "TERMINATED", trigger: "replica removed or lost" },
  { from: "ZOMBIE", to: "TERMINATED", trigger: "retention expired or terminated" }
]

export const commandTransitions: ReadonlyArray<{ from: string; to: string; trigger: string }> = [
  { from: "NONE", to: "pending", trigger: "queued" },
  { from: "pending", to: "delivered", trigger: "leased to the agent by a poll" },
  { from: "delivered", to: "pending", trigger: "lease ran out without a result (bounded redeliveries)" },
  { from: "delivered", to: "failed", trigger: "lease ran out too many times" },
  { from: "delivered", to: "succeeded", trigger: "agent reported success" },
  { from: "delivered", to: "failed", trigger: "agent reported failure" },
  { from: "pending", to: "succeeded", trigger: "agent reported success" },
  { from: "pending", to: "failed", trigger: "agent reported failure" },
  { from: "pending", to: "expired", trigger: "expiresAt passed" },
  { from: "delivered", to: "expired", trigger: "expiresAt passed, or lease ran out after its flow ended" },
  { from: "pending", to: "superseded", trigger: "a higher-priority flow or a newer config replaced it" }
]

const allowedRole = new Set(roleTransitions.map((t) => `${t.from}>${t.to}>${t.trigger}`))
const allowedCommand = new Set(commandTransitions.map((t) => `${t.from}>${t.to}`))

// Updates of objects that are already valid, with values the engine computed itself, skip
// schema validation: it dominated the cost of a transition. New objects (from outside input) and
// configuration changes are still validated.
export const TRUSTED = { disableValidation: true } as const

export type Patch<A> = { -readonly [K in keyof A]?: A[K] }

export class Reject {
  constructor(readonly error: Rejection) {}
}
export const reject = (error: Rejection): never => {
  throw new Reject(error)
}

/** A mutable working copy of one aggregate for the duration of one transition. */

/** The input of one kind. */
export type InputOf<T extends Input["_tag"]> = Extract<Input, { readonly _tag: T }>

/** A schema failure of outside input (a pool id, an empty id) is bad input, never a defect. */
export const invalidInput = (e: ParseResult.ParseError): InvalidInput => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  return new InvalidInput({ field: String(issue?.path[0] ?? "input"), reason: issue?.message ?? "invalid" })
}

export class Draft {
  agent: Agent
  instances: Array<Instance>
  commands: Array<Command>
  readonly events: Array<EventDraft> = []
  readonly delivered: Array<Command> = []
  changed = false
  private seq: number

  constructor(aggregate: AgentAggregate, readonly ctx: TransitionContext) {
    this.agent = aggregate.agent
    this.instances = [...aggregate.instances]
    this.commands = [...aggregate.commands]
    this.seq = this.commands.reduce((max, c) => Math.max(max, c.seq), 0)
  }

  get now() {
    return this.ctx.now
  }

  emit(type: EventType, data: Record<string, unknown>) {
    this.events.push(
      EventDraft.make({
        tenantId: this.agent.tenantId,
        agentId: this.agent.id,
        type,
        at: this.now,
        actor: this.ctx.actor,
        data
      })
    )
    this.changed = true
  }

  setAgent(patch: Patch<Agent>) {
    this.agent = Agent.make({ ...this.agent, ...patch }, TRUSTED)
    this.changed = true
  }

  // -- instances ------------------------------------------------------------------------------

  primary(): Instance | undefined {
    return this.instances.find((i) => i.role === "PRIMARY")
  }
  replicas(): Array<Instance> {
    return this.instances.filter((i) => i.role === "REPLICA")
  }
  launching(): Array<Instance> {
    return this.instances.filter((i) => i.role === "LAUNCHING")
  }
  instance(id: InstanceId): Instance {
    return this.instances.find((i) => i.id === id) ?? reject(new InstanceNotFound({ instanceId: id }))
  }
  byCloudId(cloudInstanceId: string): Instance | undefined {
    return this.instances.find((i) => i.cloudInstanceId === cloudInstanceId)
  }

  updateInstance(instance: Instance, patch: Patch<Instance>): Instance {
    const next = Instance.make({ ...instance, ...patch }, TRUSTED)
    this.instances = this.instances.map((i) => (i.id === instance.id ? next : i))
    this.changed = true
    return next
  }

  setRole(instance: Instance, to: Role, trigger: string, patch: Patch<Instance> = {}): Instance {
    if (!allowedRole.has(`${instance.role}>${to}>${trigger}`)) {
      reject(new InvalidTransition({ reason: `instance ${instance.id} cannot go from ${instance.role} to ${to} (${trigger})` }))
    }
    const stamps: Patch<Instance> = to === "PRIMARY"
      ? { promotedAt: this.now }
      : to === "TERMINATED"
      ? { terminatedAt: this.now, ...(instance.role === "PRIMARY" ? { demotedAt: this.now } : {}) }
      : to === "ZOMBIE"
      ? { demotedAt: this.now }
      : {}
    const next = this.updateInstance(instance, { role: to, ...stamps, ...patch })
    this.emit("RoleChanged", {
      instanceId: instance.id,
      cloudInstanceId: next.cloudInstanceId,
      pool: instance.pool,
      from: instance.role,
      to,
      trigger
    })
    return next
  }

  addInstance(args: {
    role: "PRIMARY" | "LAUNCHING" | "REPLICA" | "ZOMBIE"
    pool: Pool.PoolId
    cloudInstanceId: string | null
    roleHint: RoleHint | null
    trigger: string
    /** What the cloud already runs is recorded whatever the limits say (adoption). */
    observed?: { readonly launchRequestedAt: number | null; readonly runningSince: number; readonly launchCommandId: CommandId | null }
  }): Instance {
    const limits = this.ctx.limits
    if (limits !== undefined && args.observed === undefined) {
      const live = this.instances.filter((i) => i.role !== "TERMINATED").length
      if (live >= limits.maxInstances) reject(new LimitExceeded({ limit: "maxInstances", max: limits.maxInstances }))
    }
    if (!allowedRole.has(`NONE>${args.role}>${args.trigger}`)) {
      reject(new InvalidTransition({ reason: `cannot create an instance as ${args.role} (${args.trigger})` }))
    }
    const instance = Instance.make({
      id: InstanceId.make(this.ctx.ids.next("inst")),
      agentId: this.agent.id,
      cloudInstanceId: args.cloudInstanceId,
      pool: args.pool,
      lifecycle: Pool.lifecycleOf(args.pool),
      role: args.role,
      roleHint: args.roleHint,
      launchCommandId: args.observed?.launchCommandId ?? null,
      launchRequestedAt: args.role === "LAUNCHING" ? this.now : args.observed?.launchRequestedAt ?? null,
      launchConfirmedAt: args.role === "PRIMARY" ? this.now : args.observed?.runningSince ?? null,
      promotedAt: args.role === "PRIMARY" ? this.now : null,
      demotedAt: args.role === "ZOMBIE" ? this.now : null,
      terminatedAt: null,
      hourlyPrice: null,
      createdAt: this.now
    })
    this.instances.push(instance)
    this.emit("RoleChanged", {
      instanceId: instance.id,
      cloudInstanceId: instance.cloudInstanceId,
      pool: instance.pool,
      from: "NONE",
      to: args.role,
      trigger: args.trigger
    })
    return instance
  }

  // -- commands -------------------------------------------------------------------------------

  command(id: CommandId): Command {
    return this.commands.find((c) => c.id === id) ?? reject(new CommandNotFound({ commandId: id }))
  }

  queue(args: {
    type: CommandType
    priority: number
    flowId: FlowId | null
    instanceId: InstanceId | null
    params: Record<string, unknown>
    notBefore?: number
    /** An earlier expiry than the type's TTL (an emergency's notice deadline). */
    expiresAt?: number | null
  }): Command {
    const id = this.ctx.ids.next("cmd")
    const notBefore = args.notBefore ?? this.now
    const ttlExpiry = notBefore + this.ttlMillis(args.type)
    const command = Command.make({
      id: id as CommandId,
      requestId: `req-${id}`,
      tenantId: this.agent.tenantId,
      agentId: this.agent.id,
      type: args.type,
      status: "pending",
      priority: args.priority,
      flowId: args.flowId,
      instanceId: args.instanceId,
      params: args.params,
      createdAt: this.now,
      notBefore,
      expiresAt: args.expiresAt === undefined || args.expiresAt === null ? ttlExpiry : Math.min(args.expiresAt, ttlExpiry),
      deliveredAt: null,
      leaseExpiresAt: null,
      deliveries: 0,
      completedAt: null,
      result: null,
      seq: ++this.seq
    })
    this.commands.push(command)
    this.emit("CommandQueued", {
      commandId: command.id,
      requestId: command.requestId,
      type: command.type,
      priority: command.priority,
      flowId: command.flowId,
      instanceId: command.instanceId
    })
    return command
  }

  /** How long a command of this type may stay open (`Timing.commandTtlSeconds`, overridable). */
  ttlMillis(type: CommandType): number {
    return this.ctx.commandTtlMillis?.[type] ?? Timing.commandTtlSeconds[type] * 1000
  }

  setCommand(command: Command, status: CommandStatus, patch: Patch<Command> = {}, data: Record<string, unknown> = {}) {
    if (command.status !== status && !allowedCommand.has(`${command.status}>${status}`)) {
      reject(new InvalidTransition({ reason: `command ${command.id} cannot go from ${command.status} to ${status}` }))
    }
    const next = Command.make({ ...command, ...patch, status }, TRUSTED)
    this.commands = this.commands.map((c) => (c.id === command.id ? next : c))
    const type: EventType | null = status === "delivered"
      ? "CommandDelivered"
      : status === "succeeded"
      ? "CommandSucceeded"
      : status === "failed"
      ? "CommandFailed"
      : status === "expired"
      ? "CommandExpired"
      : status === "superseded"
      ? "CommandSuperseded"
      : status === "pending" && command.status === "delivered"
      ? "CommandRedelivered"
      : null
    if (type !== null) {
      this.emit(type, { commandId: command.id, requestId: command.requestId, type: command.type, flowId: command.flowId, ...data })
    }
    this.changed = true
    return next
  }

  // -- flows ----------------------------------------------------------------------------------

  openFlow(kind: FlowKind, priority: number, promoteOnArrival: boolean, data: Record<string, unknown> = {}): Flow {
    const open = this.agent.flow
    if (open !== null) {
      if (priority <= open.priority) {
        reject(
          new FlowConflict({
            agentId: this.agent.id,
            openFlow: open.kind,
            openPriority: open.priority,
            requestedPriority: priority
          })
        )
      }
      this.supersedeFlow(open, kind)
    }
    const flow = Flow.make({
      id: FlowId.make(this.ctx.ids.next("flow")),
      kind,
      priority,
      startedAt: this.now,
      targetInstanceId: null,
      promoteOnArrival,
      fallbackPools: []
    })
    this.setAgent({ flow })
    this.emit("FlowStarted", { flowId: flow.id, kind, priority, ...data })
    return flow
  }

  setFlow(patch: Patch<Flow>) {
    if (this.agent.flow !== null) this.setAgent({ flow: Flow.make({ ...this.agent.flow, ...patch }, TRUSTED) })
  }

  finishFlow(result: "succeeded" | "failed" | "superseded", reason: string | null = null) {
    const flow = this.agent.flow
    if (flow === null) return
    this.setAgent({ flow: null })
    // Steps of the flow that were never handed out are moot once it ends.
    for (const c of this.commands) {
      if (c.flowId === flow.id && c.status === "pending") Commands.closeCommand(this, c, "superseded", null, `flow ${result}`)
    }
    this.emit("FlowFinished", {
      flowId: flow.id,
      kind: flow.kind,
      priority: flow.priority,
      result,
      reason,
      targetInstanceId: flow.targetInstanceId,
      durationMillis: this.now - flow.startedAt
    })
  }

  supersedeFlow(flow: Flow, by: string) {
    this.finishFlow("superseded", `superseded by ${by}`)
  }

  /** The open flow, when it is about this instance. */
  flowFor(instance: Instance): Flow | null {
    const flow = this.agent.flow
    return flow !== null && flow.targetInstanceId === instance.id ? flow : null
  }

  // -- building blocks ------------------------------------------------------------------------

  finish(): Transition {
    const aggregate: AgentAggregate = {
      agent: this.changed ? Agent.make({ ...this.agent, version: this.agent.version + 1 }, TRUSTED) : this.agent,
      instances: this.instances,
      commands: this.commands
    }
    return { aggregate, events: this.events, changed: this.changed, delivered: this.delivered }
  }
}
