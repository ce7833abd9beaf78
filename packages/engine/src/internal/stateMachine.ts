import { Either, ParseResult } from "effect"
import { Agent, AgentConfig, type AgentConfigPatch, capabilitiesOf, defaultConfig, Flow, type FlowKind, Notice } from "../Agent.js"
import { Command, type CommandResult, type CommandStatus, type CommandType, deliveryOrder, isOpen, Priority } from "../Command.js"
import { EventDraft, type EventType } from "../DomainEvent.js"
import {
  CommandNotFound,
  FlowConflict,
  InstanceNotFound,
  InvalidInput,
  InvalidTransition,
  LimitExceeded,
  type Rejection
} from "../EngineError.js"
import { AgentId, type CommandId, FlowId, InstanceId, type TenantId } from "../Ids.js"
import { Instance, type Role, type RoleHint } from "../Instance.js"
import * as Pool from "../Pool.js"
import type { AgentAggregate, Input, RoleTransition, Transition, TransitionContext } from "../StateMachine.js"
import * as SwitchGuards from "../SwitchGuards.js"
import * as Timing from "../Timing.js"
import * as Reconcile from "./reconcile.js"

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

const DEFAULT_MAX_DELIVERIES = 5

// Updates of objects that are already valid, with values the engine computed itself, skip
// schema validation: it dominated the cost of a transition. New objects (from outside input) and
// configuration changes are still validated.
const TRUSTED = { disableValidation: true } as const

type Patch<A> = { -readonly [K in keyof A]?: A[K] }

export class Reject {
  constructor(readonly error: Rejection) {}
}
const reject = (error: Rejection): never => {
  throw new Reject(error)
}

/** A mutable working copy of one aggregate for the duration of one transition. */
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
      if (c.flowId === flow.id && c.status === "pending") this.closeCommand(c, "superseded", null, `flow ${result}`)
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

  launch(pool: Pool.PoolId, roleHint: RoleHint, priority: number, flow: Flow | null, expiresAt: number | null): Instance {
    if (!this.agent.config.enabled && priority < Priority.emergency) {
      reject(new InvalidTransition({ reason: `agent ${this.agent.id} is disabled` }))
    }
    const parts = Pool.parse(pool)
    if (Either.isLeft(parts)) return reject(new InvalidInput({ field: "pool", reason: parts.left }))
    let instance = this.addInstance({ role: "LAUNCHING", pool, cloudInstanceId: null, roleHint, trigger: "launch requested" })
    const command = this.queue({
      type: "LAUNCH_INSTANCE",
      priority,
      flowId: flow?.id ?? null,
      instanceId: instance.id,
      expiresAt,
      params: {
        instance_type: parts.right.instanceType,
        az: parts.right.az,
        region: parts.right.region,
        lifecycle: parts.right.lifecycle,
        target_pool: parts.right.lifecycle === "spot" ? `spot:${parts.right.instanceType}.${parts.right.az}` : pool,
        role_hint: roleHint,
        temp_instance_id: instance.id
      }
    })
    instance = this.updateInstance(instance, { launchCommandId: command.id })
    this.emit("InstanceLaunchRequested", { instanceId: instance.id, pool, roleHint, commandId: command.id, priority })
    if (flow !== null) this.setFlow({ targetInstanceId: instance.id })
    return instance
  }

  /** Emergency commands expire at a termination deadline still ahead; past it, or for a lost PRIMARY, never. */
  emergencyExpiry(): number | null {
    const notice = this.agent.notice
    return notice !== null && notice.deadline > this.now ? notice.deadline : null
  }

  promoting(instance: Instance): boolean {
    return this.commands.some((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.instanceId === instance.id && isOpen(c))
  }

  queuePromote(replica: Instance, priority: number, expiresAt: number | null) {
    if (this.promoting(replica)) {
      // A PROMOTE of this replica is already in the agent's hands (handed out by a flow this one
      // superseded): adopt it, so its result ends this flow instead of leaving it open forever.
      this.setFlow({ targetInstanceId: replica.id })
      return
    }
    const primary = this.primary()
    this.queue({
      type: "PROMOTE_REPLICA_TO_PRIMARY",
      priority,
      flowId: this.agent.flow?.id ?? null,
      instanceId: replica.id,
      expiresAt,
      params: {
        replica_instance_id: replica.cloudInstanceId,
        old_primary_id: primary?.cloudInstanceId ?? null,
        // Set when the replica is still launching (promotion queued at deadline − margin).
        ...(replica.cloudInstanceId === null ? { temp_instance_id: replica.id } : {})
      }
    })
    this.setFlow({ targetInstanceId: replica.id })
  }

  queueTerminate(instance: Instance, delaySeconds: number) {
    this.queueTerminateAt(instance, this.now + delaySeconds * 1000)
  }

  terminating(instance: Instance): boolean {
    return this.commands.some((c) => c.type === "TERMINATE_INSTANCE" && c.instanceId === instance.id && isOpen(c))
  }

  queueTerminateAt(instance: Instance, notBefore: number): Command | null {
    if (instance.cloudInstanceId === null || this.terminating(instance)) return null
    return this.queue({
      type: "TERMINATE_INSTANCE",
      priority: Priority.maintenance,
      flowId: null,
      instanceId: instance.id,
      notBefore,
      params: { instance_id: instance.cloudInstanceId }
    })
  }

  /** The cloud was seen no longer running it: the end of its cost and of any retry. */
  confirmGone(instance: Instance, how: "terminate-succeeded" | "reported" | "inventory") {
    const current = this.instance(instance.id)
    if (current.cloudInstanceId === null || current.terminationConfirmedAt !== null) return
    this.updateInstance(current, { terminationConfirmedAt: this.now })
    this.emit("TerminationConfirmed", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, pool: current.pool, how })
  }

  /**
   * A retired instance that may still run gets another TERMINATE, after a backoff that grows
   * with the attempts so far (`Timing.terminateRetry`). `observed`: an inventory lists it
   * running, which re-arms the retries whatever their count.
   */
  terminateAgain(instance: Instance, reason: string, observed: boolean) {
    const current = this.instance(instance.id)
    if (current.cloudInstanceId === null || current.terminationConfirmedAt !== null || this.terminating(current)) return
    const earlier = this.commands.filter((c) => c.type === "TERMINATE_INSTANCE" && c.instanceId === current.id)
    const attempts = earlier.length
    if (!observed && attempts >= Timing.terminateRetry.maxAttempts) {
      this.emit("TerminationRetried", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, attempt: null, reason, gaveUp: true })
      return
    }
    const lastEnd = earlier.reduce((max, c) => Math.max(max, c.completedAt ?? c.createdAt), 0)
    const backoff = Math.min(
      Timing.terminateRetry.baseSeconds * 2 ** Math.max(0, attempts - 1),
      Timing.terminateRetry.maxSeconds
    ) * 1000
    const notBefore = attempts === 0 ? this.now : Math.max(this.now, lastEnd + backoff)
    this.queueTerminateAt(current, notBefore)
    this.emit("TerminationRetried", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, attempt: attempts + 1, reason, notBefore })
  }

  demote(old: Instance) {
    if (this.agent.config.autoTerminate) {
      const next = this.setRole(old, "TERMINATED", "demotion (autoTerminate on)")
      this.queueTerminate(next, this.agent.config.terminateWaitSeconds)
    } else {
      this.setRole(old, "ZOMBIE", "demotion (autoTerminate off)")
    }
  }

  applyPromotion(replica: Instance) {
    const old = this.primary()
    if (old !== undefined && old.id !== replica.id) this.demote(old)
    const promoted = this.setRole(replica, "PRIMARY", "promotion")
    const notice = this.agent.notice
    if (notice !== null) {
      this.emit("EmergencyPromotion", {
        kind: notice.kind,
        instanceId: promoted.id,
        cloudInstanceId: promoted.cloudInstanceId,
        noticeReceivedAt: notice.receivedAt,
        secondsSinceNotice: (this.now - notice.receivedAt) / 1000,
        beforeDeadline: this.now <= notice.deadline
      })
      this.setAgent({ notice: null })
      this.emit("NoticeCleared", { reason: "promoted", instanceId: notice.instanceId })
    }
    if (this.agent.degraded) {
      this.setAgent({ degraded: false })
      this.emit("AgentRecovered", { instanceId: promoted.id })
    }
    if (this.flowFor(replica) !== null) this.finishFlow("succeeded")
  }

  confirmLaunch(instance: Instance, cloudInstanceId: string) {
    const owner = this.byCloudId(cloudInstanceId)
    if (owner !== undefined && owner.id !== instance.id) {
      reject(new InvalidInput({ field: "cloudInstanceId", reason: `${cloudInstanceId} already belongs to instance ${owner.id}` }))
    }
    if (instance.role !== "LAUNCHING") {
      if (instance.role === "TERMINATED" && instance.cloudInstanceId === null) this.lateArrival(instance, cloudInstanceId, "report")
      return
    }
    const next = this.setRole(instance, "REPLICA", "launch confirmed", { cloudInstanceId, launchConfirmedAt: this.now })
    const flow = this.flowFor(next)
    this.emit("InstanceLaunched", {
      instanceId: next.id,
      cloudInstanceId,
      pool: next.pool,
      flowId: flow?.id ?? null,
      bootSeconds: instance.launchRequestedAt === null ? null : (this.now - instance.launchRequestedAt) / 1000
    })
    if (flow === null) return
    if (flow.promoteOnArrival) {
      this.queuePromote(next, flow.priority, flow.kind === "emergency" ? this.emergencyExpiry() : null)
    } else {
      this.finishFlow("succeeded")
    }
  }

  /** The instance the open flow was about is gone: try the next step or give up. */
  flowTargetLost(instance: Instance, reason: string) {
    const flow = this.flowFor(instance)
    if (flow === null) return
    const notice = this.agent.notice
    // Falling back only makes sense while there is still time, or once the PRIMARY is gone (then
    // the agent has none until a replacement arrives, whatever the notice said).
    const stillUseful = this.agent.degraded || (notice !== null && notice.deadline > this.now)
    if (flow.kind === "emergency" && stillUseful && instance.role === "TERMINATED") {
      const [next, ...rest] = flow.fallbackPools
      if (next !== undefined) {
        this.setFlow({ fallbackPools: rest })
        this.emit("EmergencyLaunch", { step: "fallback", pool: next, failedPool: instance.pool, reason, remaining: rest.length })
        this.launch(next, "replica", flow.priority, this.agent.flow, this.emergencyExpiry())
        return
      }
      this.emit("EmergencyLaunch", { step: "exhausted", failedPool: instance.pool, reason })
    }
    this.finishFlow("failed", reason)
  }

  /** Side effects of a command that ended without success. */
  commandFailed(command: Command, reason: string) {
    if (command.instanceId === null) return
    const instance = this.instances.find((i) => i.id === command.instanceId)
    if (instance === undefined) return
    if (command.type === "TERMINATE_INSTANCE") {
      // Sending a TERMINATE is not a fact: until the cloud is seen without the instance it is
      // terminated again (bounded; an inventory that lists it re-arms the retries).
      if (instance.role === "TERMINATED" || instance.role === "ZOMBIE") this.terminateAgain(instance, `TERMINATE did not succeed: ${reason}`, false)
    } else if (command.type === "LAUNCH_INSTANCE" && instance.role === "LAUNCHING") {
      const gone = this.setRole(instance, "TERMINATED", "launch failed, expired or cancelled")
      this.flowTargetLost(gone, reason)
    } else if (command.type === "PROMOTE_REPLICA_TO_PRIMARY") {
      if (this.flowFor(instance) === null) return
      if (instance.role === "LAUNCHING") {
        // An early PROMOTE (deadline − margin) the agent could not carry out before its replica
        // ran (the legacy agent cannot promote by temporary id): the flow still promotes on arrival.
        this.emit("EmergencyPromotion", { step: "early promote not carried out", instanceId: instance.id, reason })
        return
      }
      this.finishFlow("failed", reason)
    }
  }

  closeCommand(command: Command, status: "failed" | "expired" | "superseded", result: CommandResult | null, reason: string) {
    this.setCommand(command, status, { completedAt: this.now, leaseExpiresAt: null, result }, { reason })
    this.commandFailed(command, reason)
  }

  /** Opens (or joins) the emergency flow. */
  emergencyFlow(promoteOnArrival: boolean): Flow {
    const primary = this.primary()
    const flow = this.agent.flow?.kind === "emergency"
      ? this.agent.flow
      : this.openFlow("emergency", Priority.emergency, promoteOnArrival, {
        trigger: "emergency",
        from: primary?.pool ?? null,
        fromInstanceId: primary?.id ?? null
      })
    if (promoteOnArrival && !flow.promoteOnArrival) this.setFlow({ promoteOnArrival: true })
    return this.agent.flow!
  }

  /**
   * The open flow takes over a launch already under way (started by a flow it superseded): the
   * launch command now serves it, so it is redelivered while the flow needs it and closed with it.
   */
  adoptLaunch(launching: Instance) {
    const flow = this.agent.flow
    if (flow === null) return
    this.setFlow({ targetInstanceId: launching.id })
    this.commands = this.commands.map((c) =>
      c.id === launching.launchCommandId && isOpen(c) && c.flowId !== flow.id ? Command.make({ ...c, flowId: flow.id }, TRUSTED) : c
    )
  }

  /** Launches an emergency replica in the first pool of the chain, keeping the rest as fallbacks. */
  emergencyLaunch(chain: ReadonlyArray<Pool.PoolId>, fallbackPool: Pool.PoolId | undefined, kind: string) {
    const [first, ...rest] = chain.length > 0 ? chain : fallbackPool === undefined ? [] : [fallbackPool]
    if (first === undefined) return this.finishFlow("failed", "no pool known to launch in")
    this.setFlow({ fallbackPools: rest })
    this.emit("EmergencyLaunch", { step: "launch", pool: first, kind, fallbacks: rest })
    this.launch(first, "replica", Priority.emergency, this.agent.flow, this.emergencyExpiry())
  }

  /** Emergency replacement of the PRIMARY: promote what exists, else launch and promote on arrival. */
  replacePrimary(chain: ReadonlyArray<Pool.PoolId>, lost: Instance | null, kind: string, fallbackPool?: Pool.PoolId) {
    this.emergencyFlow(true)
    const ready = this.replicas()[0]
    if (ready !== undefined) {
      this.queuePromote(ready, Priority.emergency, this.emergencyExpiry())
      return
    }
    const launching = this.launching()[0]
    if (launching !== undefined) {
      this.adoptLaunch(launching)
      return
    }
    this.emergencyLaunch(chain, lost?.pool ?? fallbackPool ?? this.instances[0]?.pool, kind)
  }

  /**
   * A launch the engine gave up on (expired, lease lost, cancelled) turns out to run. While the
   * agent has no PRIMARY it is what the workload needs: it is adopted as a REPLICA (a new record,
   * so a retired instance never comes back) and promoted by the emergency flow. Otherwise it is
   * recorded and terminated, so nothing runs unmanaged.
   */
  lateArrival(instance: Instance, cloudInstanceId: string, matchedBy: "report" | "token" | "pool") {
    if (this.primary() !== undefined) {
      const next = this.updateInstance(instance, { cloudInstanceId, launchConfirmedAt: this.now })
      this.emit("InstanceLaunched", { instanceId: next.id, cloudInstanceId, late: true })
      if (matchedBy !== "report") this.emit("InstanceAdopted", { instanceId: next.id, cloudInstanceId, pool: next.pool, as: "terminated", matchedBy })
      this.queueTerminate(next, 0)
      return
    }
    const adopted = this.addInstance({
      role: "REPLICA",
      pool: instance.pool,
      cloudInstanceId,
      roleHint: "replica",
      trigger: "late or orphaned launch adopted",
      observed: { launchRequestedAt: instance.launchRequestedAt, runningSince: this.now, launchCommandId: instance.launchCommandId }
    })
    this.emit("InstanceLaunched", {
      instanceId: adopted.id,
      cloudInstanceId,
      pool: adopted.pool,
      late: true,
      bootSeconds: instance.launchRequestedAt === null ? null : (this.now - instance.launchRequestedAt) / 1000
    })
    this.emit("InstanceAdopted", { instanceId: adopted.id, cloudInstanceId, pool: adopted.pool, as: "replica", matchedBy, replaces: instance.id })
    this.promoteForRecovery(adopted)
  }

  /** An instance of ours the inventory shows running, matched with a launch of this agent. */
  arrival(instance: Instance, cloudInstanceId: string, matchedBy: "token" | "pool") {
    if (instance.role === "LAUNCHING") {
      this.emit("InstanceAdopted", { instanceId: instance.id, cloudInstanceId, pool: instance.pool, as: "replica", matchedBy })
      this.confirmLaunch(instance, cloudInstanceId)
    } else {
      this.lateArrival(instance, cloudInstanceId, matchedBy)
    }
  }

  /** An instance with our management tags that nobody knows: recorded as a ZOMBIE and terminated after the terminate wait. */
  adoptOrphan(cloudInstanceId: string, pool: Pool.PoolId, runningSince: number) {
    const zombie = this.addInstance({
      role: "ZOMBIE",
      pool,
      cloudInstanceId,
      roleHint: null,
      trigger: "orphan adopted",
      observed: { launchRequestedAt: null, runningSince, launchCommandId: null }
    })
    this.emit("InstanceAdopted", { instanceId: zombie.id, cloudInstanceId, pool, as: "zombie", matchedBy: "tags" })
    this.queueTerminate(zombie, this.agent.config.terminateWaitSeconds)
  }

  /** A DEGRADED agent's replica becomes its PRIMARY through an emergency flow (joined or opened). */
  promoteForRecovery(replica: Instance) {
    const flow = this.agent.flow
    const previous = flow?.targetInstanceId ?? null
    this.emergencyFlow(true)
    this.queuePromote(replica, Priority.emergency, this.emergencyExpiry())
    // A launch of the flow that was never handed out is not needed any more.
    const launch = previous === null ? undefined : this.commands.find((c) =>
      c.type === "LAUNCH_INSTANCE" && c.instanceId === previous && c.status === "pending"
    )
    if (launch !== undefined && launch.instanceId !== replica.id) this.closeCommand(launch, "superseded", null, "a running replica arrived")
  }

  /**
   * A DEGRADED agent whose emergency ended without a PRIMARY tries again after a pause: promote a
   * ready replica, wait for one launching, or launch one. Nothing else brings it back.
   */
  recoverDegraded(launchPools: ReadonlyArray<Pool.PoolId>) {
    if (!this.agent.degraded || this.agent.flow !== null || this.primary() !== undefined) return
    const lastAttempt = this.commands.reduce((max, c) =>
      c.priority === Priority.emergency && (c.type === "LAUNCH_INSTANCE" || c.type === "PROMOTE_REPLICA_TO_PRIMARY")
        ? Math.max(max, c.completedAt ?? c.createdAt)
        : max, 0)
    if (this.now < lastAttempt + Timing.reconcile.recoveryBackoffSeconds * 1000) return
    const ready = this.replicas()[0]
    if (ready !== undefined) return this.promoteForRecovery(ready)
    const lostPool = [...this.instances].filter((i) => i.demotedAt !== null).sort((a, b) => (b.demotedAt ?? 0) - (a.demotedAt ?? 0))[0]?.pool
    this.replacePrimary(launchPools, null, "recovery", lostPool)
  }

  /** The cloud reports an instance gone (terminated, or missing from the agent's inventory). */
  lost(instance: Instance, launchPools: ReadonlyArray<Pool.PoolId>, how: "reported" | "inventory") {
    if (instance.role === "TERMINATED") return this.confirmGone(instance, how)
    const notice = this.agent.notice
    if (instance.role === "PRIMARY") {
      const gone = this.setRole(instance, "TERMINATED", "reclaimed by the cloud")
      this.confirmGone(gone, how)
      this.emit("InstanceTerminated", { instanceId: gone.id, cloudInstanceId: gone.cloudInstanceId, pool: gone.pool, reclaimed: true })
      this.setAgent({ degraded: true })
      this.emit("AgentDegraded", { lostInstanceId: gone.id, hadNotice: notice !== null })
      this.replacePrimary(launchPools, gone, "reclaimed")
      // Nothing is left to wait for: the emergency's launch and promotion no longer expire at the
      // notice deadline (a replica still booting is adopted, not given up on) — only at their TTL.
      const flow = this.agent.flow
      if (flow !== null) {
        this.commands = this.commands.map((c) =>
          c.flowId === flow.id && isOpen(c) ? Command.make({ ...c, expiresAt: c.notBefore + this.ttlMillis(c.type) }, TRUSTED) : c
        )
      }
      return
    }
    const trigger = instance.role === "ZOMBIE"
      ? "retention expired or terminated"
      : instance.role === "REPLICA"
      ? "replica removed or lost"
      : "launch failed, expired or cancelled"
    const gone = this.setRole(instance, "TERMINATED", trigger)
    this.confirmGone(gone, how)
    // A running replica or zombie the cloud took counts as an interruption of its pool.
    this.emit("InstanceTerminated", {
      instanceId: gone.id,
      cloudInstanceId: gone.cloudInstanceId,
      pool: gone.pool,
      reclaimed: instance.role !== "LAUNCHING"
    })
    this.flowTargetLost(gone, "instance terminated")
  }

  /** Keeps one REPLICA while manual-replica is on and nothing else is going on. */
  ensureManualReplica() {
    const { config } = this.agent
    if (!config.manualReplica || !config.enabled || this.agent.flow !== null || this.agent.notice !== null) return
    const primary = this.primary()
    if (primary === undefined || this.replicas().length > 0 || this.launching().length > 0) return
    const saved = { agent: this.agent, instances: this.instances, commands: this.commands, events: this.events.length }
    try {
      const flow = this.openFlow("replica", Priority.maintenance, false)
      this.launch(primary.pool, "replica", Priority.maintenance, flow, null)
    } catch (e) {
      if (!(e instanceof Reject)) throw e
      // A limit stops the automatic replica; that is not a reason to reject the input.
      this.agent = saved.agent
      this.instances = saved.instances
      this.commands = saved.commands
      this.events.length = saved.events
    }
  }

  /** Time-driven housekeeping: expiry, leases, notice deadlines, flow TTL, recovery of a DEGRADED agent. */
  maintain(launchPools: ReadonlyArray<Pool.PoolId> = []) {
    const maxDeliveries = this.ctx.maxDeliveries ?? DEFAULT_MAX_DELIVERIES
    // By index: closing a command replaces the array but keeps every position (new commands
    // are appended), so this stays linear however long the agent's history is.
    for (let i = 0; i < this.commands.length; i++) {
      const current = this.commands[i]!
      if (!isOpen(current)) continue
      if (current.expiresAt !== null && current.expiresAt <= this.now) {
        this.closeCommand(current, "expired", null, "expired before completion")
      } else if (current.status === "delivered" && current.leaseExpiresAt !== null && current.leaseExpiresAt <= this.now) {
        if (current.flowId !== null && current.flowId !== this.agent.flow?.id) {
          // Its flow ended while the agent held it: not handed out again.
          this.closeCommand(current, "expired", null, "lease ran out after its flow ended")
        } else if (current.deliveries >= maxDeliveries) {
          this.closeCommand(current, "failed", null, `no result after ${current.deliveries} deliveries`)
        } else {
          this.setCommand(current, "pending", { leaseExpiresAt: null }, { deliveries: current.deliveries })
        }
      }
    }
    const open = this.agent.flow
    const flowTtl = this.ctx.flowTtlMillis ?? Timing.flowTtlSeconds * 1000
    if (open !== null && open.startedAt + flowTtl <= this.now) {
      // A backstop: every step has its own TTL, but no flow may stay open whatever its steps do.
      this.finishFlow("failed", `open longer than its TTL (${flowTtl / 1000} s)`)
      for (let i = 0; i < this.commands.length; i++) {
        const c = this.commands[i]!
        if (c.flowId === open.id && isOpen(c)) this.closeCommand(c, "expired", null, "its flow ran out")
      }
    }
    const notice = this.agent.notice
    if (notice !== null && notice.deadline < this.now) {
      this.setAgent({ notice: null })
      this.emit("NoticeCleared", { reason: "deadline passed", instanceId: notice.instanceId })
    }
    // A replica still launching close to the deadline: hand out its PROMOTE now so the agent
    // promotes it the moment it runs instead of waiting for another poll round-trip.
    const flow = this.agent.flow
    const margin = this.ctx.promoteMarginMillis ?? Timing.promoteMarginSeconds * 1000
    if (
      notice !== null && notice.kind === "termination" && notice.deadline >= this.now &&
      flow !== null && flow.kind === "emergency" && flow.targetInstanceId !== null &&
      this.now >= notice.deadline - margin &&
      // Only for agents that can promote by temporary id, and once: a PROMOTE the agent could
      // not carry out is not queued again (the flow promotes the replica when it runs).
      capabilitiesOf(this.agent.metadata).promoteByTempId
    ) {
      const target = this.instances.find((i) => i.id === flow.targetInstanceId)
      const promotedBefore = target !== undefined &&
        this.commands.some((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.instanceId === target.id)
      if (target !== undefined && target.role === "LAUNCHING" && !promotedBefore) {
        this.emit("EmergencyPromotion", { step: "queued before arrival", instanceId: target.id, secondsToDeadline: (notice.deadline - this.now) / 1000 })
        this.queuePromote(target, Priority.emergency, null)
      }
    }
    this.recoverDegraded(launchPools)
  }

  finish(): Transition {
    const aggregate: AgentAggregate = {
      agent: this.changed ? Agent.make({ ...this.agent, version: this.agent.version + 1 }, TRUSTED) : this.agent,
      instances: this.instances,
      commands: this.commands
    }
    return { aggregate, events: this.events, changed: this.changed, delivered: this.delivered }
  }
}

const mergeConfig = (current: AgentConfig, patch: AgentConfigPatch): AgentConfig => {
  const merged = { ...current, ...patch }
  if (merged.autoSwitch && merged.manualReplica) {
    reject(new InvalidInput({ field: patch.autoSwitch ? "autoSwitch" : "manualReplica", reason: "autoSwitch and manualReplica cannot both be on" }))
  }
  try {
    return AgentConfig.make(merged)
  } catch (e) {
    if (ParseResult.isParseError(e)) return reject(invalidInput(e))
    throw e
  }
}

/** A schema failure of outside input (a pool id, an empty id) is bad input, never a defect. */
const invalidInput = (e: ParseResult.ParseError): InvalidInput => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(e)[0]
  return new InvalidInput({ field: String(issue?.path[0] ?? "input"), reason: issue?.message ?? "invalid" })
}

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
    case "Register": {
      const known = d.byCloudId(input.cloudInstanceId)
      if (known !== undefined) {
        if (known.role === "ZOMBIE" || known.role === "TERMINATED") {
          reject(new InvalidTransition({ reason: `instance ${input.cloudInstanceId} is ${known.role} and can never become PRIMARY again` }))
        }
        return // re-registration of a running instance: nothing changes
      }
      const old = d.primary()
      if (old !== undefined) d.demote(old)
      d.addInstance({ role: "PRIMARY", pool: input.pool, cloudInstanceId: input.cloudInstanceId, roleHint: null, trigger: "registration" })
      d.setAgent({ metadata: { ...d.agent.metadata, ...input.metadata } })
      d.emit("AgentReregistered", { cloudInstanceId: input.cloudInstanceId, replaced: old?.cloudInstanceId ?? null })
      if (d.agent.degraded) {
        d.setAgent({ degraded: false })
        d.emit("AgentRecovered", { cloudInstanceId: input.cloudInstanceId })
      }
      return
    }
    case "MarkOnline":
    case "MarkOffline": {
      const liveness = input._tag === "MarkOnline" ? "online" : "offline"
      if (d.agent.liveness === liveness) return
      d.setAgent({ liveness })
      d.emit(liveness === "online" ? "AgentOnline" : "AgentOffline", {})
      return
    }
    case "Deliver": {
      d.maintain()
      const ready = d.commands
        .filter((c) => c.status === "pending" && c.notBefore <= d.now)
        .sort(deliveryOrder)
        .slice(0, Math.max(0, input.limit))
      for (const c of ready) {
        d.delivered.push(
          d.setCommand(c, "delivered", {
            deliveredAt: d.now,
            leaseExpiresAt: d.now + input.leaseMillis,
            deliveries: c.deliveries + 1
          }, { deliveries: c.deliveries + 1, waitedSeconds: (d.now - Math.max(c.createdAt, c.notBefore)) / 1000 })
        )
      }
      return
    }
    case "ReportResult": {
      const command = d.command(input.commandId)
      if (command.status === "succeeded" || command.status === "failed") return // duplicate report
      const { result } = input
      const closed = command.status === "expired" || command.status === "superseded"
      if (closed) {
        // Too late for the flow, but the agent did act: record what it did and keep the facts (a
        // launch that ran is adopted or terminated; a terminate that worked is confirmed).
        const next = Command.make({ ...command, result, completedAt: command.completedAt ?? d.now })
        d.commands = d.commands.map((c) => (c.id === command.id ? next : c))
        d.emit(result.success ? "CommandSucceeded" : "CommandFailed", {
          commandId: command.id,
          requestId: command.requestId,
          type: command.type,
          late: true
        })
        if (command.type === "PROMOTE_REPLICA_TO_PRIMARY") return
      } else if (result.success) {
        d.setCommand(command, "succeeded", { completedAt: d.now, leaseExpiresAt: null, result }, {
          // Delivered → acknowledged: the derived downtime of a promotion (DESIGN.md §5).
          secondsSinceDelivered: command.deliveredAt === null ? null : (d.now - command.deliveredAt) / 1000
        })
      } else {
        d.closeCommand(command, "failed", result, result.message ?? "reported failure")
        return
      }
      if (!result.success) return
      const instance = command.instanceId === null ? undefined : d.instances.find((i) => i.id === command.instanceId)
      if (instance === undefined) return
      switch (command.type) {
        case "LAUNCH_INSTANCE": {
          const cloudId = result.cloudInstanceId ?? instance.cloudInstanceId
          if (cloudId === null) {
            if (closed) return // a late report without the instance: the inventory will show it
            reject(new InvalidInput({ field: "cloudInstanceId", reason: "a successful launch must name the launched instance" }))
          }
          if (d.byCloudId(cloudId!) !== undefined && d.byCloudId(cloudId!)!.id !== instance.id) return // already adopted
          d.confirmLaunch(instance, cloudId!)
          return
        }
        case "PROMOTE_REPLICA_TO_PRIMARY": {
          let target = instance
          if (target.role === "LAUNCHING" && result.cloudInstanceId !== null) {
            // Promoted before its launch was confirmed (deadline − margin): it runs now.
            d.confirmLaunch(target, result.cloudInstanceId)
            target = d.instance(target.id)
          }
          if (target.role === "REPLICA") d.applyPromotion(target)
          return
        }
        case "TERMINATE_INSTANCE": {
          const current = d.instance(instance.id)
          if (current.role === "ZOMBIE") d.setRole(current, "TERMINATED", "retention expired or terminated")
          else if (current.role === "REPLICA") d.setRole(current, "TERMINATED", "replica removed or lost")
          d.emit("InstanceTerminated", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, pool: current.pool, reclaimed: false })
          d.confirmGone(current, "terminate-succeeded")
          return
        }
        default:
          return
      }
    }
    case "ConfirmLaunch": {
      const already = d.byCloudId(input.cloudInstanceId)
      if (already !== undefined && already.role !== "LAUNCHING") return // duplicate confirmation
      const instance = d.instances.find((i) =>
        (input.commandId !== null && i.launchCommandId === input.commandId) ||
        (input.tempInstanceId !== null && i.id === input.tempInstanceId)
      )
      if (instance === undefined) {
        reject(new InstanceNotFound({ instanceId: input.tempInstanceId ?? input.commandId ?? input.cloudInstanceId }))
      }
      d.confirmLaunch(instance!, input.cloudInstanceId)
      return
    }
    case "ConfirmTerminated": {
      const instance = d.byCloudId(input.cloudInstanceId)
      if (instance === undefined) return reject(new InstanceNotFound({ instanceId: input.cloudInstanceId }))
      d.lost(instance, input.launchPools ?? [], "reported")
      return
    }
    case "Reconcile": {
      Reconcile.apply(d, input)
      return
    }
    case "RequestReplica": {
      const primary = d.primary()
      const pool = input.pool ?? primary?.pool
      if (pool === undefined) return reject(new InvalidInput({ field: "pool", reason: "the agent has no PRIMARY to copy the pool from" }))
      const flow = d.openFlow("replica", input.priority, false)
      d.launch(pool, "replica", input.priority, flow, null)
      return
    }
    case "RemoveReplica": {
      const instance = d.instance(input.instanceId)
      if (instance.role === "REPLICA") {
        const gone = d.setRole(instance, "TERMINATED", "replica removed or lost")
        d.queueTerminate(gone, 0)
        d.flowTargetLost(gone, "replica removed")
      } else if (instance.role === "LAUNCHING") {
        const launch = d.commands.find((c) => c.id === instance.launchCommandId)
        if (launch !== undefined && launch.status === "pending") {
          d.closeCommand(launch, "superseded", null, "replica removed")
        } else {
          const gone = d.setRole(instance, "TERMINATED", "launch failed, expired or cancelled")
          d.flowTargetLost(gone, "replica removed")
        }
      } else {
        reject(new InvalidTransition({ reason: `instance ${instance.id} is ${instance.role}, not a replica` }))
      }
      return
    }
    case "Promote": {
      const instance = d.instance(input.instanceId)
      if (instance.role !== "REPLICA") {
        reject(
          new InvalidTransition({
            reason: instance.role === "ZOMBIE" || instance.role === "TERMINATED"
              ? `instance ${instance.id} is ${instance.role} and can never become PRIMARY again`
              : instance.role === "LAUNCHING"
              ? `instance ${instance.id} is still launching`
              : `instance ${instance.id} is already PRIMARY`
          })
        )
      }
      const primary = d.primary()
      d.openFlow("promotion", input.priority, false, {
        trigger: "manual",
        from: primary?.pool ?? null,
        fromInstanceId: primary?.id ?? null,
        to: instance.pool
      })
      d.queuePromote(instance, input.priority, null)
      return
    }
    case "Switch": {
      // The guards live in SwitchGuards (the switch simulation lists the same ones).
      const blocked = SwitchGuards.blockers(d, input)
      if (blocked.length > 0) return reject(blocked[0]!)
      const primary = d.primary()!
      const flow = d.openFlow("switch", input.priority, true, {
        trigger: input.trigger,
        from: primary.pool,
        to: input.pool,
        fromInstanceId: primary.id,
        decisionId: input.decisionId ?? null
      })
      d.launch(input.pool, "replica", input.priority, flow, null)
      return
    }
    case "CancelSwitch": {
      const flow = d.agent.flow
      if (flow === null || flow.kind !== "switch") {
        return reject(new InvalidTransition({ reason: `agent ${d.agent.id} has no switch in progress` }))
      }
      const promoteHandedOut = d.commands.some((c) =>
        c.flowId === flow.id && c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.status !== "pending" && c.status !== "superseded"
      )
      if (promoteHandedOut) reject(new InvalidTransition({ reason: "the switch is already promoting and can no longer be cancelled" }))
      d.finishFlow("superseded", "cancelled")
      // Read the target after the flow ended: superseding a pending launch already retired it.
      const target = flow.targetInstanceId === null ? undefined : d.instances.find((i) => i.id === flow.targetInstanceId)
      if (target?.role === "REPLICA") {
        d.queueTerminate(d.setRole(target, "TERMINATED", "replica removed or lost"), 0)
      } else if (target?.role === "LAUNCHING") {
        // Its launch may already be running at the agent: when it reports, it is terminated.
        d.setRole(target, "TERMINATED", "launch failed, expired or cancelled")
      }
      return
    }
    case "UpdateConfig": {
      const before = d.agent.config
      const after = mergeConfig(before, input.patch)
      const changedKeys = (Object.keys(after) as Array<keyof AgentConfig>).filter((k) => before[k] !== after[k])
      if (changedKeys.length === 0) return
      d.setAgent({ config: after, configVersion: d.agent.configVersion + 1 })
      d.emit("ConfigChanged", { before, after, changed: changedKeys, configVersion: d.agent.configVersion })
      for (const c of d.commands) {
        if (c.type === "APPLY_CONFIG" && c.status === "pending") d.setCommand(c, "superseded", { completedAt: d.now }, { reason: "newer config" })
      }
      d.queue({
        type: "APPLY_CONFIG",
        priority: Priority.maintenance,
        flowId: null,
        instanceId: null,
        params: {
          config_version: d.agent.configVersion,
          config_updates: {
            auto_switching: after.autoSwitch,
            auto_terminate: after.autoTerminate,
            manual_replica: after.manualReplica,
            emergency_only: !after.autoSwitch && !after.manualReplica
          }
        }
      })
      if (before.manualReplica && !after.manualReplica) {
        if (d.agent.flow?.kind === "replica") d.supersedeFlow(d.agent.flow, "manual replica off")
        for (const r of d.replicas()) d.queueTerminate(d.setRole(r, "TERMINATED", "replica removed or lost"), 0)
      }
      return
    }
    case "Notice": {
      const instance = d.byCloudId(input.cloudInstanceId)
      if (instance === undefined) return reject(new InstanceNotFound({ instanceId: input.cloudInstanceId }))
      if (instance.role !== "PRIMARY") return // already replaced, or a replica: nothing to rescue
      const current = d.agent.notice
      const active = current !== null && current.instanceId === instance.id ? current : null
      const reported = input.deadline
      // A notice is what it is about: (instance, termination time). A repeat is the same notice
      // whenever it arrives, also after its deadline passed and the emergency ended.
      if (input.kind === "rebalance" ? active !== null || instance.terminationNoticeAt !== null : active?.kind === "termination") return
      if (input.kind === "termination" && instance.terminationNoticeAt !== null && (reported === undefined || reported === instance.terminationNoticeAt)) return
      // A time already past is clock skew or a notice whose first copy was lost: the budget
      // starts now (Timing.noticeDeadlineSeconds), the identity keeps the reported time.
      const deadline = reported !== undefined && reported > d.now ? reported : d.now + Timing.noticeDeadlineSeconds[input.kind] * 1000
      const notice = Notice.make({ kind: input.kind, instanceId: instance.id, receivedAt: d.now, deadline })
      d.setAgent({ notice })
      if (input.kind === "termination") d.updateInstance(instance, { terminationNoticeAt: reported ?? deadline })
      d.emit("NoticeReceived", {
        kind: input.kind,
        instanceId: instance.id,
        cloudInstanceId: input.cloudInstanceId,
        deadline,
        reportedDeadline: reported ?? null,
        pool: instance.pool
      })
      if (input.kind === "termination") {
        d.replacePrimary(input.launchPools, instance, "termination")
      } else if (d.replicas().length === 0 && d.launching().length === 0) {
        d.emergencyFlow(false)
        d.emergencyLaunch(input.launchPools, instance.pool, "rebalance")
      }
      return
    }
    case "RetireZombie": {
      const instance = d.instance(input.instanceId)
      if (instance.role !== "ZOMBIE") reject(new InvalidTransition({ reason: `instance ${instance.id} is ${instance.role}, not a ZOMBIE` }))
      d.queueTerminate(d.setRole(instance, "TERMINATED", "retention expired or terminated"), 0)
      return
    }
    case "Maintain": {
      d.maintain(input.launchPools)
      return
    }
  }
}

export const transition = (
  aggregate: AgentAggregate,
  input: Input,
  context: TransitionContext
): Either.Either<Transition, Rejection> =>
  run(() => new Draft(aggregate, context), (d) => {
    apply(d, input)
    d.ensureManualReplica()
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
    if (args.config !== undefined) d.setAgent({ config: mergeConfig(defaultConfig, args.config) })
    d.emit("AgentRegistered", { logicalAgentId: args.logicalAgentId, cloudInstanceId: args.cloudInstanceId, pool: args.pool })
    d.addInstance({ role: "PRIMARY", pool: args.pool, cloudInstanceId: args.cloudInstanceId, roleHint: null, trigger: "registration" })
    d.ensureManualReplica()
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
