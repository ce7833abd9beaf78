/**
 * The command lifecycle: delivery in priority order under a lease, results (late ones too), and
 * the time-driven housekeeping of an aggregate (expiry, leases, flow TTL, notice deadlines).
 */
import { Command, type CommandResult, deliveryOrder, isOpen } from "../../Command.js"
import { InvalidInput } from "../../EngineError.js"
import type * as Pool from "../../Pool.js"
import * as Timing from "../../Timing.js"
import { type Draft, type InputOf, reject } from "../draft.js"
import * as Emergency from "./emergency.js"
import * as Promotion from "./promotion.js"
import * as Reconcile from "./reconcile.js"
import * as Replica from "./replica.js"

/** Side effects of a command that ended without success. */
export function commandFailed(d: Draft, command: Command, reason: string) {
  if (command.instanceId === null) return
  const instance = d.instances.find((i) => i.id === command.instanceId)
  if (instance === undefined) return
  if (command.type === "TERMINATE_INSTANCE") {
    // Sending a TERMINATE is not a fact: until the cloud is seen without the instance it is
    // terminated again (bounded; an inventory that lists it re-arms the retries).
    if (instance.role === "TERMINATED" || instance.role === "ZOMBIE") Reconcile.terminateAgain(d, instance, `TERMINATE did not succeed: ${reason}`, false)
  } else if (command.type === "LAUNCH_INSTANCE" && instance.role === "LAUNCHING") {
    const gone = d.setRole(instance, "TERMINATED", "launch failed, expired or cancelled")
    Emergency.flowTargetLost(d, gone, reason)
  } else if (command.type === "PROMOTE_REPLICA_TO_PRIMARY") {
    if (d.flowFor(instance) === null) return
    if (instance.role === "LAUNCHING") {
      // An early PROMOTE (deadline − margin) the agent could not carry out before its replica
      // ran (the legacy agent cannot promote by temporary id): the flow still promotes on arrival.
      d.emit("EmergencyPromotion", { step: "early promote not carried out", instanceId: instance.id, reason })
      return
    }
    d.finishFlow("failed", reason)
  }
}

export function closeCommand(d: Draft, command: Command, status: "failed" | "expired" | "superseded", result: CommandResult | null, reason: string) {
  d.setCommand(command, status, { completedAt: d.now, leaseExpiresAt: null, result }, { reason })
  commandFailed(d, command, reason)
}

/** Time-driven housekeeping: expiry, leases, notice deadlines, flow TTL, recovery of a DEGRADED agent. */
export function maintain(d: Draft, launchPools: ReadonlyArray<Pool.PoolId> = []) {
  const maxDeliveries = d.ctx.maxDeliveries ?? Timing.maxDeliveries
  // By index: closing a command replaces the array but keeps every position (new commands
  // are appended), so this stays linear however long the agent's history is.
  for (let i = 0; i < d.commands.length; i++) {
    const current = d.commands[i]!
    if (!isOpen(current)) continue
    if (current.expiresAt !== null && current.expiresAt <= d.now) {
      closeCommand(d, current, "expired", null, "expired before completion")
    } else if (current.status === "delivered" && current.leaseExpiresAt !== null && current.leaseExpiresAt <= d.now) {
      if (current.flowId !== null && current.flowId !== d.agent.flow?.id) {
        // Its flow ended while the agent held it: not handed out again.
        closeCommand(d, current, "expired", null, "lease ran out after its flow ended")
      } else if (current.deliveries >= maxDeliveries) {
        closeCommand(d, current, "failed", null, `no result after ${current.deliveries} deliveries`)
      } else {
        d.setCommand(current, "pending", { leaseExpiresAt: null }, { deliveries: current.deliveries })
      }
    }
  }
  const open = d.agent.flow
  const flowTtl = d.ctx.flowTtlMillis ?? Timing.flowTtlSeconds * 1000
  if (open !== null && open.startedAt + flowTtl <= d.now) {
    // A backstop: every step has its own TTL, but no flow may stay open whatever its steps do.
    d.finishFlow("failed", `open longer than its TTL (${flowTtl / 1000} s)`)
    for (let i = 0; i < d.commands.length; i++) {
      const c = d.commands[i]!
      if (c.flowId === open.id && isOpen(c)) closeCommand(d, c, "expired", null, "its flow ran out")
    }
  }
  const notice = d.agent.notice
  if (notice !== null && notice.deadline < d.now) {
    d.setAgent({ notice: null })
    d.emit("NoticeCleared", { reason: "deadline passed", instanceId: notice.instanceId })
  }
  Emergency.earlyPromote(d)
  Emergency.recoverDegraded(d, launchPools)
}

export function deliver(d: Draft, input: InputOf<"Deliver">): void {
  maintain(d)
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
}

export function reportResult(d: Draft, input: InputOf<"ReportResult">): void {
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
    closeCommand(d, command, "failed", result, result.message ?? "reported failure")
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
      Replica.confirmLaunch(d, instance, cloudId!)
      return
    }
    case "PROMOTE_REPLICA_TO_PRIMARY": {
      let target = instance
      if (target.role === "LAUNCHING" && result.cloudInstanceId !== null) {
        // Promoted before its launch was confirmed (deadline − margin): it runs now.
        Replica.confirmLaunch(d, target, result.cloudInstanceId)
        target = d.instance(target.id)
      }
      if (target.role === "REPLICA") Promotion.applyPromotion(d, target)
      // The replica was taken out of service meanwhile: nothing to promote, and the flow must
      // not wait for it (a DEGRADED agent's recovery starts once it ends).
      else if (d.flowFor(target) !== null) Emergency.flowTargetLost(d, target, `the instance to promote is ${target.role}`)
      return
    }
    case "TERMINATE_INSTANCE": {
      const current = d.instance(instance.id)
      if (current.role === "ZOMBIE") d.setRole(current, "TERMINATED", "retention expired or terminated")
      else if (current.role === "REPLICA") d.setRole(current, "TERMINATED", "replica removed or lost")
      d.emit("InstanceTerminated", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, pool: current.pool, reclaimed: false })
      Reconcile.confirmGone(d, current, "terminate-succeeded")
      return
    }
    default:
      return
  }
}

export function maintainCase(d: Draft, input: InputOf<"Maintain">): void {
  maintain(d, input.launchPools)
}
