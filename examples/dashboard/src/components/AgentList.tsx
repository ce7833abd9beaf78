import { Link } from "../App.js"
import { ago, countdown, useNow } from "../format.js"
import { useStore } from "../store.js"
import { InstanceStatusBadge, LivenessBadge } from "./InstanceStatusBadge.js"

/** Every agent of the tenant with its live status and its instances. */
export const AgentList = (props: { readonly compact?: boolean }) => {
  const agents = useStore((s) => s.agents)
  const views = useStore((s) => s.views)
  const now = useNow()
  const list = Object.values(agents).sort((a, b) => a.logicalAgentId.localeCompare(b.logicalAgentId))
  return (
    <section aria-labelledby="agents-h" className="card wide">
      <h2 id="agents-h">Agents <span className="count">{list.length}</span></h2>
      {list.length === 0 ? <p className="muted">No agent has registered yet.</p> : (
        <div className="table-wrap">
          <table className="agents" data-testid="agent-list">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Status</th>
                <th scope="col">Instances</th>
                {!props.compact && <th scope="col">Last heartbeat</th>}
                {!props.compact && <th scope="col">Mode</th>}
              </tr>
            </thead>
            <tbody>
              {list.map((a) => {
                const instances = (views[a.id]?.instances ?? []).filter((i) => i.role !== "TERMINATED")
                return (
                  <tr key={a.id} data-agent={a.logicalAgentId}>
                    <th scope="row"><Link to={`/agents/${encodeURIComponent(a.id)}`}>{a.logicalAgentId}</Link></th>
                    <td>
                      <LivenessBadge liveness={a.liveness} />
                      {a.notice !== null && <span className="pill critical" data-testid="notice-pill">{a.notice.kind} · {countdown(a.notice.deadline, now)}</span>}
                      {a.degraded && <span className="pill critical">degraded</span>}
                      {a.flow !== null && <span className="pill info">{a.flow.kind}</span>}
                    </td>
                    <td className="badges">{instances.map((i) => <InstanceStatusBadge key={i.id} instance={i} />)}</td>
                    {!props.compact && <td>{ago(a.lastHeartbeatAt, now)}</td>}
                    {!props.compact && <td>{a.config.autoSwitch ? "auto-switch" : a.config.manualReplica ? "manual replica" : "manual"}{a.config.enabled ? "" : " (disabled)"}</td>}
                  </tr>
                )
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
