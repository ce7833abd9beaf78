/**
 * Promotions and switches: a PROMOTE queued (or adopted), a promotion applied with the old
 * PRIMARY's demotion in the same transition, manual promotions, switches to another pool and
 * their cancellation.
 */
import { isOpen } from "../../Command.js"
import { InvalidTransition } from "../../EngineError.js"
import type { Instance } from "../../Instance.js"
import * as SwitchGuards from "../../SwitchGuards.js"
import { type Draft, type InputOf, reject } from "../draft.js"
import * as Reconcile from "./reconcile.js"
import * as Replica from "./replica.js"

export function promoting(d: Draft, instance: Instance): boolean {
  return d.commands.some((c) => c.type === "PROMOTE_REPLICA_TO_PRIMARY" && c.instanceId === instance.id && isOpen(c))
}

export function queuePromote(d: Draft, replica: Instance, priority: number, expiresAt: number | null) {
  if (promoting(d, replica)) {
    // A PROMOTE of this replica is already in the agent's hands (handed out by a flow this one
    // superseded): adopt it, so its result ends this flow instead of leaving it open forever.
    d.setFlow({ targetInstanceId: replica.id })
    return
  }
  const primary = d.primary()
  d.queue({
    type: "PROMOTE_REPLICA_TO_PRIMARY",
    priority,
    flowId: d.agent.flow?.id ?? null,
    instanceId: replica.id,
    expiresAt,
    params: {
      replica_instance_id: replica.cloudInstanceId,
      old_primary_id: primary?.cloudInstanceId ?? null,
      // Set when the replica is still launching (promotion queued at deadline − margin).
      ...(replica.cloudInstanceId === null ? { temp_instance_id: replica.id } : {})
    }
  })
  d.setFlow({ targetInstanceId: replica.id })
}

export function demote(d: Draft, old: Instance) {
  if (d.agent.config.autoTerminate) {
    const next = d.setRole(old, "TERMINATED", "demotion (autoTerminate on)")
    Reconcile.queueTerminate(d, next, d.agent.config.terminateWaitSeconds)
  } else {
    d.setRole(old, "ZOMBIE", "demotion (autoTerminate off)")
  }
}

export function applyPromotion(d: Draft, replica: Instance) {
  const old = d.primary()
  if (old !== undefined && old.id !== replica.id) demote(d, old)
  const promoted = d.setRole(replica, "PRIMARY", "promotion")
  const notice = d.agent.notice
  if (notice !== null) {
    d.emit("EmergencyPromotion", {
      kind: notice.kind,
      instanceId: promoted.id,
      cloudInstanceId: promoted.cloudInstanceId,
      noticeReceivedAt: notice.receivedAt,
      secondsSinceNotice: (d.now - notice.receivedAt) / 1000,
      beforeDeadline: d.now <= notice.deadline
    })
    d.setAgent({ notice: null })
    d.emit("NoticeCleared", { reason: "promoted", instanceId: notice.instanceId })
  }
  if (d.agent.degraded) {
    d.setAgent({ degraded: false })
    d.emit("AgentRecovered", { instanceId: promoted.id })
  }
  if (d.flowFor(replica) !== null) d.finishFlow("succeeded")
}

export function promote(d: Draft, input: InputOf<"Promote">): void {
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
  queuePromote(d, instance, input.priority, null)
}

export function startSwitch(d: Draft, input: InputOf<"Switch">): void {
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
  Replica.launch(d, input.pool, "replica", input.priority, flow, null)
}

export function cancelSwitch(d: Draft): void {
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
    Reconcile.queueTerminate(d, d.setRole(target, "TERMINATED", "replica removed or lost"), 0)
  } else if (target?.role === "LAUNCHING") {
    // Its launch may already be running at the agent: when it reports, it is terminated.
    d.setRole(target, "TERMINATED", "launch failed, expired or cancelled")
  }
}
