/**
 * Emergencies: interruption notices (their identity and deadline), the replacement of a PRIMARY
 * the cloud takes, the fallback chain of launches, and the recovery of a DEGRADED agent.
 */
import { capabilitiesOf, Notice } from "../../Agent.js"
import { Command, isOpen, Priority } from "../../Command.js"
import { InstanceNotFound } from "../../EngineError.js"
import type { Flow } from "../../Agent.js"
import type { Instance } from "../../Instance.js"
import type * as Pool from "../../Pool.js"
import * as Timing from "../../Timing.js"
import { type Draft, type InputOf, reject, TRUSTED } from "../draft.js"
import * as Commands from "./commands.js"
import * as Promotion from "./promotion.js"
import * as Reconcile from "./reconcile.js"
import * as Replica from "./replica.js"

/** Emergency commands expire at a termination deadline still ahead; past it, or for a lost PRIMARY, never. */
export function emergencyExpiry(d: Draft): number | null {
  const notice = d.agent.notice
  return notice !== null && notice.deadline > d.now ? notice.deadline : null
}

/** The instance the open flow was about is gone: try the next step or give up. */
export function flowTargetLost(d: Draft, instance: Instance, reason: string) {
  const flow = d.flowFor(instance)
  if (flow === null) return
  const notice = d.agent.notice
  // Falling back only makes sense while there is still time, or once the PRIMARY is gone (then
  // the agent has none until a replacement arrives, whatever the notice said).
  const stillUseful = d.agent.degraded || (notice !== null && notice.deadline > d.now)
  if (flow.kind === "emergency" && stillUseful && instance.role === "TERMINATED") {
    const [next, ...rest] = flow.fallbackPools
    if (next !== undefined) {
      d.setFlow({ fallbackPools: rest })
      d.emit("EmergencyLaunch", { step: "fallback", pool: next, failedPool: instance.pool, reason, remaining: rest.length })
      Replica.launch(d, next, "replica", flow.priority, d.agent.flow, emergencyExpiry(d))
      return
    }
    d.emit("EmergencyLaunch", { step: "exhausted", failedPool: instance.pool, reason })
  }
  d.finishFlow("failed", reason)
}

/** Opens (or joins) the emergency flow. */
export function emergencyFlow(d: Draft, promoteOnArrival: boolean): Flow {
  const primary = d.primary()
  const flow = d.agent.flow?.kind === "emergency"
    ? d.agent.flow
    : d.openFlow("emergency", Priority.emergency, promoteOnArrival, {
      trigger: "emergency",
      from: primary?.pool ?? null,
      fromInstanceId: primary?.id ?? null
    })
  if (promoteOnArrival && !flow.promoteOnArrival) d.setFlow({ promoteOnArrival: true })
  return d.agent.flow!
}

/**
 * The open flow takes over a launch already under way (started by a flow it superseded): the
 * launch command now serves it, so it is redelivered while the flow needs it and closed with it.
 */
export function adoptLaunch(d: Draft, launching: Instance) {
  const flow = d.agent.flow
  if (flow === null) return
  d.setFlow({ targetInstanceId: launching.id })
  d.commands = d.commands.map((c) =>
    c.id === launching.launchCommandId && isOpen(c) && c.flowId !== flow.id ? Command.make({ ...c, flowId: flow.id }, TRUSTED) : c
  )
}

/** Launches an emergency replica in the first pool of the chain, keeping the rest as fallbacks. */
export function emergencyLaunch(d: Draft, chain: ReadonlyArray<Pool.PoolId>, fallbackPool: Pool.PoolId | undefined, kind: string) {
  const [first, ...rest] = chain.length > 0 ? chain : fallbackPool === undefined ? [] : [fallbackPool]
  if (first === undefined) return d.finishFlow("failed", "no pool known to launch in")
  d.setFlow({ fallbackPools: rest })
  d.emit("EmergencyLaunch", { step: "launch", pool: first, kind, fallbacks: rest })
  Replica.launch(d, first, "replica", Priority.emergency, d.agent.flow, emergencyExpiry(d))
}

/** Emergency replacement of the PRIMARY: promote what exists, else launch and promote on arrival. */
export function replacePrimary(d: Draft, chain: ReadonlyArray<Pool.PoolId>, lost: Instance | null, kind: string, fallbackPool?: Pool.PoolId) {
  emergencyFlow(d, true)
  const ready = d.replicas()[0]
  if (ready !== undefined) {
    Promotion.queuePromote(d, ready, Priority.emergency, emergencyExpiry(d))
    return
  }
  const launching = d.launching()[0]
  if (launching !== undefined) {
    adoptLaunch(d, launching)
    return
  }
  emergencyLaunch(d, chain, lost?.pool ?? fallbackPool ?? d.instances[0]?.pool, kind)
}

/** A DEGRADED agent's replica becomes its PRIMARY through an emergency flow (joined or opened). */
export function promoteForRecovery(d: Draft, replica: Instance) {
  const flow = d.agent.flow
  const previous = flow?.targetInstanceId ?? null
  emergencyFlow(d, true)
  Promotion.queuePromote(d, replica, Priority.emergency, emergencyExpiry(d))
  // A launch of the flow that was never handed out is not needed any more.
  const launch = previous === null ? undefined : d.commands.find((c) =>
    c.type === "LAUNCH_INSTANCE" && c.instanceId === previous && c.status === "pending"
  )
  if (launch !== undefined && launch.instanceId !== replica.id) Commands.closeCommand(d, launch, "superseded", null, "a running replica arrived")
}

/**
 * A DEGRADED agent whose emergency ended without a PRIMARY tries again after a pause: promote a
 * ready replica, wait for one launching, or launch one. Nothing else brings it back.
 */
export function recoverDegraded(d: Draft, launchPools: ReadonlyArray<Pool.PoolId>) {
  if (!d.agent.degraded || d.agent.flow !== null || d.primary() !== undefined) return
  const lastAttempt = d.commands.reduce((max, c) =>
    c.priority === Priority.emergency && (c.type === "LAUNCH_INSTANCE" || c.type === "PROMOTE_REPLICA_TO_PRIMARY")
      ? Math.max(max, c.completedAt ?? c.createdAt)
      : max, 0)
  if (d.now < lastAttempt + Timing.reconcile.recoveryBackoffSeconds * 1000) return
  const ready = d.replicas()[0]
  if (ready !== undefined) return promoteForRecovery(d, ready)
  const lostPool = [...d.instances].filter((i) => i.demotedAt !== null).sort((a, b) => (b.demotedAt ?? 0) - (a.demotedAt ?? 0))[0]?.pool
  replacePrimary(d, launchPools, null, "recovery", lostPool)
}

/** The cloud reports an instance gone (terminated, or missing from the agent's inventory). */
export function lost(d: Draft, instance: Instance, launchPools: ReadonlyArray<Pool.PoolId>, how: "reported" | "inventory") {
  if (instance.role === "TERMINATED") return Reconcile.confirmGone(d, instance, how)
  const notice = d.agent.notice
  if (instance.role === "PRIMARY") {
    const gone = d.setRole(instance, "TERMINATED", "reclaimed by the cloud")
    Reconcile.confirmGone(d, gone, how)
    d.emit("InstanceTerminated", { instanceId: gone.id, cloudInstanceId: gone.cloudInstanceId, pool: gone.pool, reclaimed: true })
    d.setAgent({ degraded: true })
    d.emit("AgentDegraded", { lostInstanceId: gone.id, hadNotice: notice !== null })
    replacePrimary(d, launchPools, gone, "reclaimed")
    // Nothing is left to wait for: the emergency's launch and promotion no longer expire at the
    // notice deadline (a replica still booting is adopted, not given up on) — only at their TTL.
    const flow = d.agent.flow
    if (flow !== null) {
      d.commands = d.commands.map((c) =>
        c.flowId === flow.id && isOpen(c) ? Command.make({ ...c, expiresAt: c.notBefore + d.ttlMillis(c.type) }, TRUSTED) : c
      )
    }
    return
  }
  const trigger = instance.role === "ZOMBIE"
    ? "retention expired or terminated"
    : instance.role === "REPLICA"
    ? "replica removed or lost"
    : "launch failed, expired or cancelled"
  const gone = d.setRole(instance, "TERMINATED", trigger)
  Reconcile.confirmGone(d, gone, how)
  // A running replica or zombie the cloud took counts as an interruption of its pool.
  d.emit("InstanceTerminated", {
    instanceId: gone.id,
    cloudInstanceId: gone.cloudInstanceId,
    pool: gone.pool,
    reclaimed: instance.role !== "LAUNCHING"
  })
  flowTargetLost(d, gone, "instance terminated")
}

export function confirmTerminated(d: Draft, input: InputOf<"ConfirmTerminated">): void {
  const instance = d.byCloudId(input.cloudInstanceId)
  if (instance === undefined) return reject(new InstanceNotFound({ instanceId: input.cloudInstanceId }))
  lost(d, instance, input.launchPools ?? [], "reported")
}

export function notice(d: Draft, input: InputOf<"Notice">): void {
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
    replacePrimary(d, input.launchPools, instance, "termination")
  } else if (d.replicas().length === 0 && d.launching().length === 0) {
    emergencyFlow(d, false)
    emergencyLaunch(d, input.launchPools, instance.pool, "rebalance")
  }
}

/**
 * A replica still launching close to a termination deadline: its PROMOTE is handed out now so
 * the agent promotes it the moment it runs instead of one poll later.
 */
export function earlyPromote(d: Draft) {
  const notice = d.agent.notice
  const flow = d.agent.flow
  const margin = d.ctx.promoteMarginMillis ?? Timing.promoteMarginSeconds * 1000
  if (
    notice !== null && notice.kind === "termination" && notice.deadline >= d.now &&
    flow !== null && flow.kind === "emergency" && flow.targetInstanceId !== null &&
    d.now >= notice.deadline - margin &&
    // Only for agents that can promote by temporary id, and once: a PROMOTE the agent could
    // not carry out is not queued again (the flow promotes the replica when it runs).
    capabilitiesOf(d.agent.metadata).promoteByTempId
  ) {
    const target = d.instances.find((i) => i.id === flow.targetInstanceId)
    const promotedBefore = target !== undefined &&
      d.commands.some((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.instanceId === target.id)
    if (target !== undefined && target.role === "LAUNCHING" && !promotedBefore) {
      d.emit("EmergencyPromotion", { step: "queued before arrival", instanceId: target.id, secondsToDeadline: (notice.deadline - d.now) / 1000 })
      Promotion.queuePromote(d, target, Priority.emergency, null)
    }
  }
}
