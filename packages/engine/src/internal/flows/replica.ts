/**
 * Launches and replicas: a launch and its confirmation, replicas asked for and removed, the
 * replica kept warm while `manualReplica` is on.
 */
import { Either } from "effect"
import { Priority } from "../../Command.js"
import type { Flow } from "../../Agent.js"
import { InstanceNotFound, InvalidInput, InvalidTransition } from "../../EngineError.js"
import type { Instance, RoleHint } from "../../Instance.js"
import * as Pool from "../../Pool.js"
import { type Draft, type InputOf, reject, Reject } from "../draft.js"
import * as Commands from "./commands.js"
import * as Emergency from "./emergency.js"
import * as Promotion from "./promotion.js"
import * as Reconcile from "./reconcile.js"

export function launch(d: Draft, pool: Pool.PoolId, roleHint: RoleHint, priority: number, flow: Flow | null, expiresAt: number | null): Instance {
  if (!d.agent.config.enabled && priority < Priority.emergency) {
    reject(new InvalidTransition({ reason: `agent ${d.agent.id} is disabled` }))
  }
  const parts = Pool.parse(pool)
  if (Either.isLeft(parts)) return reject(new InvalidInput({ field: "pool", reason: parts.left }))
  let instance = d.addInstance({ role: "LAUNCHING", pool, cloudInstanceId: null, roleHint, trigger: "launch requested" })
  const command = d.queue({
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
  instance = d.updateInstance(instance, { launchCommandId: command.id })
  d.emit("InstanceLaunchRequested", { instanceId: instance.id, pool, roleHint, commandId: command.id, priority })
  if (flow !== null) d.setFlow({ targetInstanceId: instance.id })
  return instance
}

export function confirmLaunch(d: Draft, instance: Instance, cloudInstanceId: string) {
  const owner = d.byCloudId(cloudInstanceId)
  if (owner !== undefined && owner.id !== instance.id) {
    reject(new InvalidInput({ field: "cloudInstanceId", reason: `${cloudInstanceId} already belongs to instance ${owner.id}` }))
  }
  if (instance.role !== "LAUNCHING") {
    if (instance.role === "TERMINATED" && instance.cloudInstanceId === null) Reconcile.lateArrival(d, instance, cloudInstanceId, "report")
    return
  }
  const next = d.setRole(instance, "REPLICA", "launch confirmed", { cloudInstanceId, launchConfirmedAt: d.now })
  const flow = d.flowFor(next)
  d.emit("InstanceLaunched", {
    instanceId: next.id,
    cloudInstanceId,
    pool: next.pool,
    flowId: flow?.id ?? null,
    bootSeconds: instance.launchRequestedAt === null ? null : (d.now - instance.launchRequestedAt) / 1000
  })
  if (flow === null) return
  if (flow.promoteOnArrival) {
    Promotion.queuePromote(d, next, flow.priority, flow.kind === "emergency" ? Emergency.emergencyExpiry(d) : null)
  } else {
    d.finishFlow("succeeded")
  }
}

/** Keeps one REPLICA while manual-replica is on and nothing else is going on. */
export function ensureManualReplica(d: Draft) {
  const { config } = d.agent
  if (!config.manualReplica || !config.enabled || d.agent.flow !== null || d.agent.notice !== null) return
  const primary = d.primary()
  if (primary === undefined || d.replicas().length > 0 || d.launching().length > 0) return
  const saved = { agent: d.agent, instances: d.instances, commands: d.commands, events: d.events.length }
  try {
    const flow = d.openFlow("replica", Priority.maintenance, false)
    launch(d, primary.pool, "replica", Priority.maintenance, flow, null)
  } catch (e) {
    if (!(e instanceof Reject)) throw e
    // A limit stops the automatic replica; that is not a reason to reject the input.
    d.agent = saved.agent
    d.instances = saved.instances
    d.commands = saved.commands
    d.events.length = saved.events
  }
}

export function confirmLaunchReport(d: Draft, input: InputOf<"ConfirmLaunch">): void {
  const already = d.byCloudId(input.cloudInstanceId)
  if (already !== undefined && already.role !== "LAUNCHING") return // duplicate confirmation
  const instance = d.instances.find((i) =>
    (input.commandId !== null && i.launchCommandId === input.commandId) ||
    (input.tempInstanceId !== null && i.id === input.tempInstanceId)
  )
  if (instance === undefined) {
    reject(new InstanceNotFound({ instanceId: input.tempInstanceId ?? input.commandId ?? input.cloudInstanceId }))
  }
  confirmLaunch(d, instance!, input.cloudInstanceId)
}

export function requestReplica(d: Draft, input: InputOf<"RequestReplica">): void {
  const primary = d.primary()
  const pool = input.pool ?? primary?.pool
  if (pool === undefined) return reject(new InvalidInput({ field: "pool", reason: "the agent has no PRIMARY to copy the pool from" }))
  const flow = d.openFlow("replica", input.priority, false)
  launch(d, pool, "replica", input.priority, flow, null)
}

export function removeReplica(d: Draft, input: InputOf<"RemoveReplica">): void {
  const instance = d.instance(input.instanceId)
  if (instance.role === "REPLICA") {
    const gone = d.setRole(instance, "TERMINATED", "replica removed or lost")
    Reconcile.queueTerminate(d, gone, 0)
    Emergency.flowTargetLost(d, gone, "replica removed")
  } else if (instance.role === "LAUNCHING") {
    const launch = d.commands.find((c) => c.id === instance.launchCommandId)
    if (launch !== undefined && launch.status === "pending") {
      Commands.closeCommand(d, launch, "superseded", null, "replica removed")
    } else {
      const gone = d.setRole(instance, "TERMINATED", "launch failed, expired or cancelled")
      Emergency.flowTargetLost(d, gone, "replica removed")
    }
  } else {
    reject(new InvalidTransition({ reason: `instance ${instance.id} is ${instance.role}, not a replica` }))
  }
}
