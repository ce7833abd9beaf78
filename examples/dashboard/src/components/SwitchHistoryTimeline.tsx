import type { SwitchRecord } from "../api.js"
import { dateTime, num, time } from "../format.js"
import { useStore } from "../store.js"
import { DowntimeCard } from "./DowntimeCard.js"

const steps = (s: SwitchRecord) =>
  [
    ["initiated", s.initiatedAt],
    ["launched", s.launchedAt],
    ["promote sent", s.promoteDeliveredAt],
    ["promoted", s.promotedAt],
    ["old terminated", s.oldTerminatedAt],
    ["finished", s.finishedAt]
  ] as const

/** Switches, newest first, with their steps and downtime (measured by the agent or derived). */
export const SwitchHistoryTimeline = (props: { readonly agentId?: string }) => {
  const switches = useStore((s) => s.switches)
  const agents = useStore((s) => s.agents)
  const list = switches.filter((s) => props.agentId === undefined || s.agentId === props.agentId).slice().reverse().slice(0, 50)
  return (
    <section className="card wide" aria-labelledby={`tl-h-${props.agentId ?? "all"}`}>
      <h2 id={`tl-h-${props.agentId ?? "all"}`}>Switch history <span className="count">{list.length}</span></h2>
      {list.length === 0 ? <p className="muted">No switch yet.</p> : (
        <ol className="timeline" data-testid="switch-timeline">
          {list.map((s) => (
            <li key={s.flowId} className={`tl result-${s.result}`} data-result={s.result} data-flow={s.flowId}>
              <div className="tl-head">
                <strong>{agents[s.agentId]?.logicalAgentId ?? s.agentId.slice(0, 8)}</strong>{" "}
                <span className={`pill ${s.trigger === "emergency" ? "critical" : "info"}`}>{s.trigger}</span>{" "}
                <span>{s.fromPool ?? "?"} → {s.toPool ?? "?"}</span>{" "}
                <span className={`pill result ${s.result}`} data-testid="switch-result">{s.result.replace("_", " ")}</span>
              </div>
              <div className="tl-meta">
                <span>{dateTime(s.initiatedAt)}</span>
                <span data-testid="switch-downtime">downtime {num(s.downtimeSeconds, 2, " s")}{s.downtimeSource === null ? "" : ` (${s.downtimeSource})`}</span>
                {s.reason !== null && <span className="muted">{s.reason}</span>}
              </div>
              <ol className="tl-steps" aria-label="Steps">
                {steps(s).map(([label, at]) => <li key={label} className={at === null ? "pending" : "done"}>{label} <span className="muted">{time(at)}</span></li>)}
              </ol>
            </li>
          ))}
        </ol>
      )}
    </section>
  )
}

export const SwitchesView = () => (
  <div className="grid">
    <DowntimeCard />
    <SwitchHistoryTimeline />
  </div>
)
