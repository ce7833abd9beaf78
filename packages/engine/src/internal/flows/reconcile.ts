/**
 * Reconciliation: what an agent's cloud inventory shows (the observed state) against what the
 * aggregate believes (the desired state), and what is done about each difference — terminations
 * confirmed by observation and retried until then, unknown instances of ours adopted, launches
 * given up on that turn out to run. The rules are drawn in docs/STATE_MACHINE.md
 * ("Reconciliation").
 */
import { Either } from "effect"
import * as Pool from "../../Pool.js"
import type { InventoryItem } from "../../StateMachine.js"
import * as Timing from "../../Timing.js"
import { Command, isOpen, Priority } from "../../Command.js"
import { InvalidTransition } from "../../EngineError.js"
import type { Instance } from "../../Instance.js"
import { type Draft, type InputOf, reject } from "../draft.js"
import * as Emergency from "./emergency.js"
import * as Replica from "./replica.js"

/** Cloud states after which the instance no longer runs (and soon no longer bills). */
const goneStates: ReadonlySet<string> = new Set(["shutting-down", "terminated"])

/** Not listed, or listed as on its way out. */
export const isGone = (item: InventoryItem | undefined): boolean =>
  item === undefined || (item.state !== null && goneStates.has(item.state))

/** `ManagedBy` values of instances we launch (spotfleet, and the v5 agent's "SpotOptimizer"). */
const managedBy: ReadonlySet<string> = new Set(["spotfleet", "SpotOptimizer"])

/** The tag naming the agent an instance was launched for, when the launcher set one. */
export const agentTag = "spotfleet:agent-id"

/** The tag carrying a launch's token (the temporary instance id or the command's request id). */
export const launchTokenTag = "spotfleet:launch-token"

/** Whether an instance carries our management tags. */
export const isManaged = (tags: Readonly<Record<string, string>> | undefined): boolean =>
  tags !== undefined && (managedBy.has(tags.ManagedBy ?? "") || agentTag in tags || launchTokenTag in tags)

/** `<type>.<az>` of a pool id, whatever its lifecycle (inventories do not always say). */
const placement = (pool: string): string => pool.startsWith("ondemand:") ? pool.slice("ondemand:".length) : pool

/**
 * Launches of this agent an unknown running instance may be: those in flight, and those given up
 * on (no cloud id, handed out at least once) recently enough to arrive late and not yet claimed.
 */
const launchCandidates = (d: Draft): ReadonlyArray<Instance> => {
  const claimed = new Set(d.instances.filter((i) => i.cloudInstanceId !== null && i.launchCommandId !== null).map((i) => i.launchCommandId))
  const since = d.now - Timing.reconcile.lateLaunchWindowSeconds * 1000
  return d.instances.filter((i) => {
    if (i.cloudInstanceId !== null || i.launchCommandId === null || claimed.has(i.launchCommandId)) return false
    const launch = d.commands.find((c) => c.id === i.launchCommandId)
    if (launch === undefined || launch.deliveredAt === null) return false // never in the agent's hands
    return i.role === "LAUNCHING" || (i.role === "TERMINATED" && (i.launchRequestedAt ?? 0) >= since)
  })
}

/** The launch whose token (temporary id, command id or request id) the instance carries. */
const byToken = (d: Draft, candidates: ReadonlyArray<Instance>, item: InventoryItem): Instance | undefined => {
  const values = new Set(Object.values(item.tags ?? {}))
  if (values.size === 0) return undefined
  return candidates.find((i) => {
    const launch = d.commands.find((c) => c.id === i.launchCommandId)
    return values.has(i.id) || (launch !== undefined && (values.has(launch.id) || values.has(launch.requestId)))
  })
}

/**
 * The launch of the same pool the instance may be (a launch cannot start before it was asked
 * for, give or take a minute of clock skew): launches in flight first, then the latest given up.
 */
const byPool = (candidates: ReadonlyArray<Instance>, item: InventoryItem): Instance | undefined => {
  if (item.pool === undefined || item.pool === null) return undefined
  const where = placement(item.pool)
  const matching = candidates.filter((i) =>
    placement(i.pool) === where &&
    (item.launchedAt === undefined || item.launchedAt === null || i.launchRequestedAt === null || item.launchedAt >= i.launchRequestedAt - 60_000)
  )
  return matching.find((i) => i.role === "LAUNCHING") ??
    [...matching].sort((a, b) => (b.launchRequestedAt ?? 0) - (a.launchRequestedAt ?? 0))[0]
}

/** Applies one inventory to the aggregate. */
export const reconcileInventory = (
  d: Draft,
  input: {
    readonly inventory: ReadonlyArray<InventoryItem>
    readonly launchPools: ReadonlyArray<Pool.PoolId>
    readonly unowned?: ReadonlyArray<string> | undefined
  }
): void => {
  const listed = new Map(input.inventory.map((i) => [i.cloudInstanceId, i]))
  // 1. What the engine knows.
  for (const known of [...d.instances]) {
    if (known.cloudInstanceId === null || known.role === "LAUNCHING") continue
    const item = listed.get(known.cloudInstanceId)
    const gone = isGone(item)
    if (known.role === "TERMINATED") {
      // Retired: confirmed when seen gone, terminated again while it still runs.
      if (known.terminationConfirmedAt !== null) continue
      if (gone) confirmGone(d, known, "inventory")
      else terminateAgain(d, known, `still ${item?.state ?? "listed"} after it was retired`, true)
      continue
    }
    if (gone) {
      // A managed instance missing from the inventory (or listed as terminated) is gone.
      d.emit("InstanceMissing", { instanceId: known.id, cloudInstanceId: known.cloudInstanceId, listedState: item?.state ?? null })
      Emergency.lost(d, d.instance(known.id), input.launchPools, "inventory")
    }
  }
  // 2. What the engine does not know: instances with our tags that no agent of the tenant knows.
  const unowned = new Set(input.unowned ?? [])
  for (const item of input.inventory) {
    if (!unowned.has(item.cloudInstanceId) || isGone(item) || d.byCloudId(item.cloudInstanceId) !== undefined) continue
    if (!isManaged(item.tags)) continue
    const owner = item.tags?.[agentTag]
    if (owner !== undefined && owner !== d.agent.id) continue // another agent's launch
    const candidates = launchCandidates(d)
    const token = byToken(d, candidates, item)
    if (token !== undefined) {
      arrival(d, token, item.cloudInstanceId, "token")
      continue
    }
    const pooled = byPool(candidates, item)
    if (pooled !== undefined) {
      arrival(d, pooled, item.cloudInstanceId, "pool")
      continue
    }
    // Nobody's launch: adopted and terminated, once another agent's launch would have reported
    // itself (unless the tags say it is ours).
    const grace = d.ctx.orphanGraceMillis ?? Timing.reconcile.orphanGraceSeconds * 1000
    const old = item.launchedAt === undefined || item.launchedAt === null || item.launchedAt <= d.now - grace
    const pool = item.pool === undefined || item.pool === null ? undefined : Pool.parse(item.pool)
    if ((owner === d.agent.id || old) && pool !== undefined && Either.isRight(pool)) {
      adoptOrphan(d, item.cloudInstanceId, item.pool as Pool.PoolId, Math.min(item.launchedAt ?? d.now, d.now))
    }
  }
}

export function queueTerminate(d: Draft, instance: Instance, delaySeconds: number) {
  queueTerminateAt(d, instance, d.now + delaySeconds * 1000)
}

export function terminating(d: Draft, instance: Instance): boolean {
  return d.commands.some((c) => c.type === "TERMINATE_INSTANCE" && c.instanceId === instance.id && isOpen(c))
}

export function queueTerminateAt(d: Draft, instance: Instance, notBefore: number): Command | null {
  if (instance.cloudInstanceId === null || terminating(d, instance)) return null
  return d.queue({
    type: "TERMINATE_INSTANCE",
    priority: Priority.maintenance,
    flowId: null,
    instanceId: instance.id,
    notBefore,
    params: { instance_id: instance.cloudInstanceId }
  })
}

/** The cloud was seen no longer running it: the end of its cost and of any retry. */
export function confirmGone(d: Draft, instance: Instance, how: "terminate-succeeded" | "reported" | "inventory") {
  const current = d.instance(instance.id)
  if (current.cloudInstanceId === null || current.terminationConfirmedAt !== null) return
  d.updateInstance(current, { terminationConfirmedAt: d.now })
  d.emit("TerminationConfirmed", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, pool: current.pool, how })
}

/**
 * A retired instance that may still run gets another TERMINATE, after a backoff that grows
 * with the attempts so far (`Timing.terminateRetry`). `observed`: an inventory lists it
 * running, which re-arms the retries whatever their count.
 */
export function terminateAgain(d: Draft, instance: Instance, reason: string, observed: boolean) {
  const current = d.instance(instance.id)
  if (current.cloudInstanceId === null || current.terminationConfirmedAt !== null || terminating(d, current)) return
  const earlier = d.commands.filter((c) => c.type === "TERMINATE_INSTANCE" && c.instanceId === current.id)
  const attempts = earlier.length
  if (!observed && attempts >= Timing.terminateRetry.maxAttempts) {
    d.emit("TerminationRetried", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, attempt: null, reason, gaveUp: true })
    return
  }
  const lastEnd = earlier.reduce((max, c) => Math.max(max, c.completedAt ?? c.createdAt), 0)
  const backoff = Math.min(
    Timing.terminateRetry.baseSeconds * 2 ** Math.max(0, attempts - 1),
    Timing.terminateRetry.maxSeconds
  ) * 1000
  const notBefore = attempts === 0 ? d.now : Math.max(d.now, lastEnd + backoff)
  queueTerminateAt(d, current, notBefore)
  d.emit("TerminationRetried", { instanceId: current.id, cloudInstanceId: current.cloudInstanceId, attempt: attempts + 1, reason, notBefore })
}

/**
 * A launch the engine gave up on (expired, lease lost, cancelled) turns out to run. While the
 * agent has no PRIMARY it is what the workload needs: it is adopted as a REPLICA (a new record,
 * so a retired instance never comes back) and promoted by the emergency flow. Otherwise it is
 * recorded and terminated, so nothing runs unmanaged.
 */
export function lateArrival(d: Draft, instance: Instance, cloudInstanceId: string, matchedBy: "report" | "token" | "pool") {
  if (d.primary() !== undefined) {
    const next = d.updateInstance(instance, { cloudInstanceId, launchConfirmedAt: d.now })
    d.emit("InstanceLaunched", { instanceId: next.id, cloudInstanceId, late: true })
    if (matchedBy !== "report") d.emit("InstanceAdopted", { instanceId: next.id, cloudInstanceId, pool: next.pool, as: "terminated", matchedBy })
    queueTerminate(d, next, 0)
    return
  }
  const adopted = d.addInstance({
    role: "REPLICA",
    pool: instance.pool,
    cloudInstanceId,
    roleHint: "replica",
    trigger: "late or orphaned launch adopted",
    observed: { launchRequestedAt: instance.launchRequestedAt, runningSince: d.now, launchCommandId: instance.launchCommandId }
  })
  d.emit("InstanceLaunched", {
    instanceId: adopted.id,
    cloudInstanceId,
    pool: adopted.pool,
    late: true,
    bootSeconds: instance.launchRequestedAt === null ? null : (d.now - instance.launchRequestedAt) / 1000
  })
  d.emit("InstanceAdopted", { instanceId: adopted.id, cloudInstanceId, pool: adopted.pool, as: "replica", matchedBy, replaces: instance.id })
  Emergency.promoteForRecovery(d, adopted)
}

/** An instance of ours the inventory shows running, matched with a launch of this agent. */
export function arrival(d: Draft, instance: Instance, cloudInstanceId: string, matchedBy: "token" | "pool") {
  if (instance.role === "LAUNCHING") {
    d.emit("InstanceAdopted", { instanceId: instance.id, cloudInstanceId, pool: instance.pool, as: "replica", matchedBy })
    Replica.confirmLaunch(d, instance, cloudInstanceId)
  } else {
    lateArrival(d, instance, cloudInstanceId, matchedBy)
  }
}

/** An instance with our management tags that nobody knows: recorded as a ZOMBIE and terminated after the terminate wait. */
export function adoptOrphan(d: Draft, cloudInstanceId: string, pool: Pool.PoolId, runningSince: number) {
  const zombie = d.addInstance({
    role: "ZOMBIE",
    pool,
    cloudInstanceId,
    roleHint: null,
    trigger: "orphan adopted",
    observed: { launchRequestedAt: null, runningSince, launchCommandId: null }
  })
  d.emit("InstanceAdopted", { instanceId: zombie.id, cloudInstanceId, pool, as: "zombie", matchedBy: "tags" })
  queueTerminate(d, zombie, d.agent.config.terminateWaitSeconds)
}

export function reconcileCase(d: Draft, input: InputOf<"Reconcile">): void {
  reconcileInventory(d, input)
}

export function retireZombie(d: Draft, input: InputOf<"RetireZombie">): void {
  const instance = d.instance(input.instanceId)
  if (instance.role !== "ZOMBIE") reject(new InvalidTransition({ reason: `instance ${instance.id} is ${instance.role}, not a ZOMBIE` }))
  queueTerminate(d, d.setRole(instance, "TERMINATED", "retention expired or terminated"), 0)
}
