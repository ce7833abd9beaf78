import type { DomainEvent } from "../DomainEvent.js"
import type { DowntimeAnalytics, History, SwitchRecord } from "../SwitchHistory.js"

export const empty: History = { switches: new Map(), instancePools: new Map(), lastEventId: 0 }

type Mutable<A> = { -readonly [K in keyof A]: A[K] }
const str = (v: unknown): string | null => (typeof v === "string" ? v : null)

/** The event types `fold` uses (keep in step with its switch). */
export const foldedTypes = [
  "RoleChanged",
  "InstanceLaunched",
  "FlowStarted",
  "CommandDelivered",
  "CommandSucceeded",
  "FlowFinished",
  "InstanceTerminated",
  "SwitchReported"
] as const

export const fold = (history: History, events: Iterable<DomainEvent>): History => {
  const switches = new Map(history.switches) as Map<string, Mutable<SwitchRecord>>
  const pools = new Map(history.instancePools)
  let lastEventId = history.lastEventId
  const edit = (flowId: unknown) => {
    if (typeof flowId !== "string") return undefined
    const current = switches.get(flowId)
    if (current === undefined) return undefined
    const copy = { ...current }
    switches.set(flowId, copy)
    return copy
  }
  for (const e of events) {
    if (e.id <= lastEventId) continue
    lastEventId = e.id
    const d = e.data
    switch (e.type) {
      case "RoleChanged":
      case "InstanceLaunched":
        if (typeof d.instanceId === "string" && typeof d.pool === "string") pools.set(d.instanceId, d.pool)
        if (e.type === "InstanceLaunched") {
          const r = edit(d.flowId)
          if (r !== undefined) {
            r.launchedAt = e.at
            r.toInstanceId = str(d.instanceId)
            r.toPool ??= str(d.pool)
          }
        }
        break
      case "FlowStarted": {
        if (d.kind !== "switch" && d.kind !== "emergency" && d.kind !== "promotion") break
        if (typeof d.flowId !== "string" || switches.has(d.flowId)) break
        switches.set(d.flowId, {
          flowId: d.flowId,
          tenantId: e.tenantId,
          agentId: e.agentId ?? "",
          trigger: d.trigger === "ml" ? "ml" : d.kind === "emergency" ? "emergency" : "manual",
          decisionId: str(d.decisionId),
          fromPool: str(d.from),
          toPool: str(d.to),
          fromInstanceId: str(d.fromInstanceId),
          toInstanceId: null,
          initiatedAt: e.at,
          launchedAt: null,
          promoteDeliveredAt: null,
          promotedAt: null,
          oldTerminatedAt: null,
          finishedAt: null,
          result: "in_progress",
          reason: null,
          downtimeSeconds: null,
          downtimeSource: null
        })
        break
      }
      case "CommandDelivered":
        if (d.type === "PROMOTE_REPLICA_TO_PRIMARY") {
          const r = edit(d.flowId)
          if (r !== undefined) r.promoteDeliveredAt ??= e.at
        }
        break
      case "CommandSucceeded":
        if (d.type === "PROMOTE_REPLICA_TO_PRIMARY") {
          const r = edit(d.flowId)
          if (r !== undefined) {
            r.promotedAt = e.at
            if (r.downtimeSource !== "agent" && r.promoteDeliveredAt !== null) {
              r.downtimeSeconds = (e.at - r.promoteDeliveredAt) / 1000
              r.downtimeSource = "derived"
            }
          }
        }
        break
      case "FlowFinished": {
        const r = edit(d.flowId)
        if (r === undefined) break
        r.finishedAt = e.at
        r.result = d.result === "succeeded" ? "succeeded" : d.result === "superseded" ? "cancelled" : "failed"
        r.reason = str(d.reason)
        const target = str(d.targetInstanceId)
        if (target !== null) {
          r.toInstanceId ??= target
          r.toPool ??= pools.get(target) ?? null
        }
        // A flow that ended without changing the PRIMARY (e.g. a rebalance that only prepared a
        // replica) is not a switch.
        if (r.result === "succeeded" && r.promotedAt === null) switches.delete(r.flowId)
        break
      }
      case "InstanceTerminated": {
        if (typeof d.instanceId !== "string") break
        for (const r of switches.values()) {
          if (r.fromInstanceId === d.instanceId && r.oldTerminatedAt === null) edit(r.flowId)!.oldTerminatedAt = e.at
        }
        break
      }
      case "SwitchReported": {
        const r = edit(d.flowId)
        if (r !== undefined && typeof d.downtimeSeconds === "number") {
          r.downtimeSeconds = d.downtimeSeconds
          r.downtimeSource = "agent"
        }
        break
      }
      default:
        break
    }
  }
  return { switches, instancePools: pools, lastEventId }
}

const percentile = (sorted: ReadonlyArray<number>, p: number): number | null => {
  if (sorted.length === 0) return null
  // Nearest-rank percentile: the smallest value with at least p% of the samples at or below it.
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]!
}

const summarize = (records: ReadonlyArray<SwitchRecord>) => {
  const finished = records.filter((r) => r.result !== "in_progress")
  const succeeded = finished.filter((r) => r.result === "succeeded")
  const downtimes = succeeded.map((r) => r.downtimeSeconds).filter((x): x is number => x !== null).sort((a, b) => a - b)
  const avg = downtimes.length === 0 ? null : downtimes.reduce((a, b) => a + b, 0) / downtimes.length
  return { finished, succeeded, downtimes, avg }
}

export const downtimeAnalytics = (
  records: Iterable<SwitchRecord>,
  period: { readonly from: number; readonly to: number }
): DowntimeAnalytics => {
  const all = [...records]
  const length = period.to - period.from
  const current = summarize(all.filter((r) => r.initiatedAt >= period.from && r.initiatedAt < period.to))
  const previous = summarize(all.filter((r) => r.initiatedAt >= period.from - length && r.initiatedAt < period.from))
  return {
    count: current.finished.length,
    succeeded: current.succeeded.length,
    successRate: current.finished.length === 0 ? null : current.succeeded.length / current.finished.length,
    avgSeconds: current.avg,
    p95Seconds: percentile(current.downtimes, 95),
    maxSeconds: current.downtimes.at(-1) ?? null,
    trendAvgSeconds: current.avg === null || previous.avg === null ? null : current.avg - previous.avg
  }
}

const columns: ReadonlyArray<keyof SwitchRecord> = [
  "flowId", "agentId", "trigger", "result", "fromPool", "toPool", "fromInstanceId", "toInstanceId", "initiatedAt",
  "launchedAt", "promoteDeliveredAt", "promotedAt", "oldTerminatedAt", "finishedAt", "downtimeSeconds", "downtimeSource",
  "decisionId", "reason"
]
const cell = (key: keyof SwitchRecord, value: unknown): string => {
  if (value === null || value === undefined) return ""
  const text = key.endsWith("At") && typeof value === "number" ? new Date(value).toISOString() : String(value)
  return /[",\n\r]/.test(text) ? `"${text.replaceAll("\"", "\"\"")}"` : text
}

export const toCsv = (records: Iterable<SwitchRecord>): string => {
  const lines = [columns.join(",")]
  for (const r of records) lines.push(columns.map((k) => cell(k, r[k])).join(","))
  return lines.join("\r\n") + "\r\n"
}

export const countSince = (records: Iterable<SwitchRecord>, agentId: string, since: number, trigger?: SwitchRecord["trigger"]) => {
  let n = 0
  for (const r of records) {
    if (r.agentId === agentId && r.initiatedAt >= since && r.result !== "cancelled" && (trigger === undefined || r.trigger === trigger)) n++
  }
  return n
}
