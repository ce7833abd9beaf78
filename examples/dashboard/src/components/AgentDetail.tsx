import { Link } from "../App.js"
import { ago, countdown, dateTime, useNow } from "../format.js"
import { useStore } from "../store.js"
import { InstanceStatusBadge, LivenessBadge } from "./InstanceStatusBadge.js"
import { ReplicaControlPanel } from "./ReplicaControlPanel.js"
import { SwitchHistoryTimeline } from "./SwitchHistoryTimeline.js"

export const AgentDetail = (props: { readonly agentId: string }) => {
  const view = useStore((s) => s.views[props.agentId])
  const now = useNow()
  if (view === undefined) {
    return (
      <section className="card">
        <p className="muted">Loading agent… <Link to="/agents">Back to agents</Link></p>
      </section>
    )
  }
  const a = view.agent
  const instances = [...view.instances].sort((x, y) => y.createdAt - x.createdAt)
  const openCommands = view.commands.filter((c) => c.status === "pending" || c.status === "delivered")
  return (
    <div className="grid" data-testid="agent-detail" data-agent={a.logicalAgentId}>
      <section className="card wide" aria-labelledby="agent-h">
        <p><Link to="/agents">← Agents</Link></p>
        <h2 id="agent-h">{a.logicalAgentId} <LivenessBadge liveness={a.liveness} /></h2>
        <dl className="facts">
          <dt>Agent id</dt><dd><code>{a.id}</code></dd>
          <dt>Last heartbeat</dt><dd>{ago(a.lastHeartbeatAt, now)}</dd>
          <dt>Flow</dt><dd>{a.flow === null ? "none" : `${a.flow.kind} since ${dateTime(a.flow.startedAt)}`}</dd>
          <dt>Notice</dt>
          <dd>{a.notice === null ? "none" : <span className="pill critical">{a.notice.kind}: deadline in {countdown(a.notice.deadline, now)}</span>}</dd>
        </dl>
      </section>
      <ReplicaControlPanel view={view} />
      <section className="card" aria-labelledby="inst-h">
        <h2 id="inst-h">Instances</h2>
        <ul className="plain" data-testid="instances">
          {instances.map((i) => (
            <li key={i.id} className={i.role === "TERMINATED" ? "faded" : ""}>
              <InstanceStatusBadge instance={i} showPool />
              <span className="muted small"> {i.cloudInstanceId ?? "launching"} · since {dateTime(i.launchConfirmedAt ?? i.createdAt)}</span>
            </li>
          ))}
        </ul>
      </section>
      <section className="card" aria-labelledby="cmd-h">
        <h2 id="cmd-h">Open commands <span className="count">{openCommands.length}</span></h2>
        {openCommands.length === 0 ? <p className="muted">None.</p> : (
          <ul className="plain">
            {openCommands.map((c) => <li key={c.id}><code>{c.type}</code> <span className="muted">{c.status}, priority {c.priority}</span></li>)}
          </ul>
        )}
      </section>
      <SwitchHistoryTimeline agentId={a.id} />
    </div>
  )
}
