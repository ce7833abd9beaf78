import type { DomainEvent, EventType } from "../DomainEvent.js"
import type { NotificationDraft, Severity } from "../Notification.js"
import { defaultQuarantineMillis } from "./poolLedger.js"

/** The event types a notification can come from (the projector reads only these). */
export const sourceTypes: ReadonlyArray<EventType> = [
  "NoticeReceived",
  "AgentDegraded",
  "AgentOffline",
  "FlowFinished",
  "TerminationRetried",
  "InstanceAdopted"
]

const text = (value: unknown, fallback: string): string => typeof value === "string" && value.length > 0 ? value : fallback

const draft = (event: DomainEvent, kind: string, severity: Severity, title: string, body: string | null = null): NotificationDraft => ({
  tenantId: event.tenantId,
  agentId: event.agentId,
  eventId: event.id,
  kind,
  severity,
  title: title.slice(0, 255),
  body,
  createdAt: event.at
})

/**
 * The rule: which events an operator is told about, and how urgently. Emergencies (a termination
 * notice opens one, its flow's end closes it), the pool quarantine a termination notice starts, a
 * failed switch, an agent left without a PRIMARY or gone offline, and money leaking (a retired
 * instance the cloud still runs, an unknown instance taken in as a zombie).
 */
export const fromEvent = (event: DomainEvent): ReadonlyArray<NotificationDraft> => {
  const d = event.data
  switch (event.type) {
    case "NoticeReceived": {
      const pool = text(d["pool"], "its pool")
      if (d["kind"] !== "termination") {
        return [draft(event, "rebalance-notice", "warning", `Rebalance recommendation for instance ${text(d["cloudInstanceId"], text(d["instanceId"], "?"))}`)]
      }
      const deadline = typeof d["deadline"] === "number" ? new Date(d["deadline"]).toISOString() : "unknown"
      return [
        draft(event, "emergency-opened", "critical", `Termination notice: emergency opened for instance ${text(d["cloudInstanceId"], text(d["instanceId"], "?"))}`, `Pool ${pool}, deadline ${deadline}.`),
        draft(event, "pool-quarantined", "warning", `Pool ${pool} quarantined`, `No emergency launch goes to ${pool} for ${defaultQuarantineMillis / 60_000} minutes after a termination notice.`)
      ]
    }
    case "AgentDegraded":
      return [draft(event, "agent-degraded", "critical", "Agent degraded: no PRIMARY and no ready replica", `Instance ${text(d["lostInstanceId"], "?")} was lost; an emergency launch is under way.`)]
    case "AgentOffline":
      return [draft(event, "agent-offline", "warning", "Agent went offline")]
    case "FlowFinished": {
      const result = text(d["result"], "finished")
      const reason = typeof d["reason"] === "string" ? d["reason"] : null
      if (d["kind"] === "emergency") {
        return result === "succeeded"
          ? [draft(event, "emergency-closed", "info", "Emergency closed: the workload has a PRIMARY again", reason)]
          : [draft(event, "emergency-closed", result === "failed" ? "critical" : "info", `Emergency closed: ${result}`, reason)]
      }
      if (d["kind"] === "switch" && result === "failed") return [draft(event, "switch-failed", "warning", "Switch failed", reason)]
      return []
    }
    case "TerminationRetried":
      return d["gaveUp"] === true
        ? [draft(event, "leaked-instance", "critical", `Instance ${text(d["cloudInstanceId"], "?")} still runs: termination given up`, `${text(d["reason"], "")} It keeps costing money until someone terminates it.`)]
        : [draft(event, "leaked-instance", "warning", `Instance ${text(d["cloudInstanceId"], "?")} still runs after its termination`, `Attempt ${String(d["attempt"] ?? "?")}: ${text(d["reason"], "")}`)]
    case "InstanceAdopted":
      return d["as"] === "zombie"
        ? [draft(event, "leaked-instance", "warning", `Unknown instance ${text(d["cloudInstanceId"], "?")} taken in as a ZOMBIE`, `It carries our tags and runs in ${text(d["pool"], "?")}; it is terminated after the retention period.`)]
        : []
    default:
      return []
  }
}
