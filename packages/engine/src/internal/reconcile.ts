/**
 * Reconciliation: what an agent's cloud inventory shows (the observed state) against what the
 * aggregate believes (the desired state), and what is done about each difference. The rules are
 * drawn in docs/STATE_MACHINE.md ("Reconciliation"); the building blocks (lost, confirmGone,
 * terminateAgain, arrival, adoptOrphan) are `Draft` methods in stateMachine.ts.
 */
import { Either } from "effect"
import * as Pool from "../Pool.js"
import type { Instance } from "../Instance.js"
import type { InventoryItem } from "../StateMachine.js"
import * as Timing from "../Timing.js"
import type { Draft } from "./stateMachine.js"

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
export const apply = (
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
      if (gone) d.confirmGone(known, "inventory")
      else d.terminateAgain(known, `still ${item?.state ?? "listed"} after it was retired`, true)
      continue
    }
    if (gone) {
      // A managed instance missing from the inventory (or listed as terminated) is gone.
      d.emit("InstanceMissing", { instanceId: known.id, cloudInstanceId: known.cloudInstanceId, listedState: item?.state ?? null })
      d.lost(d.instance(known.id), input.launchPools, "inventory")
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
      d.arrival(token, item.cloudInstanceId, "token")
      continue
    }
    const pooled = byPool(candidates, item)
    if (pooled !== undefined) {
      d.arrival(pooled, item.cloudInstanceId, "pool")
      continue
    }
    // Nobody's launch: adopted and terminated, once another agent's launch would have reported
    // itself (unless the tags say it is ours).
    const grace = d.ctx.orphanGraceMillis ?? Timing.reconcile.orphanGraceSeconds * 1000
    const old = item.launchedAt === undefined || item.launchedAt === null || item.launchedAt <= d.now - grace
    const pool = item.pool === undefined || item.pool === null ? undefined : Pool.parse(item.pool)
    if ((owner === d.agent.id || old) && pool !== undefined && Either.isRight(pool)) {
      d.adoptOrphan(item.cloudInstanceId, item.pool as Pool.PoolId, Math.min(item.launchedAt ?? d.now, d.now))
    }
  }
}
