import { Link } from "../App.js"
import { money, num } from "../format.js"
import { useStore } from "../store.js"
import { AgentList } from "./AgentList.js"
import { DowntimeCard } from "./DowntimeCard.js"

/** Fleet at a glance: agents online/offline, savings, open emergencies, downtime, the agents. */
export const Overview = () => {
  const agents = Object.values(useStore((s) => s.agents))
  const savings = useStore((s) => s.savings)
  const views = useStore((s) => s.views)
  const online = agents.filter((a) => a.liveness === "online").length
  const emergencies = agents.filter((a) => a.notice !== null || a.degraded).length
  const instances = Object.values(views).flatMap((v) => v.instances)
  const replicas = instances.filter((i) => i.role === "REPLICA").length
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="ov-h" data-testid="overview">
        <h2 id="ov-h">Fleet</h2>
        <dl className="stats">
          <div><dt>Agents online</dt><dd data-testid="agents-online">{online}</dd></div>
          <div><dt>Offline</dt><dd data-testid="agents-offline" className={agents.length - online > 0 ? "bad" : ""}>{agents.length - online}</dd></div>
          <div><dt>Warm replicas</dt><dd>{replicas}</dd></div>
          <div><dt>Emergencies</dt><dd data-testid="emergency-count" className={emergencies > 0 ? "bad" : ""}>{emergencies > 0 ? <Link to="/emergencies">{emergencies}</Link> : 0}</dd></div>
          <div><dt>Savings (30 days)</dt><dd data-testid="savings">{money(savings?.total.savings)} <span className="muted small">{num(savings?.total.savingsPercent, 1, " %")}</span></dd></div>
          <div><dt>Spend vs on-demand</dt><dd>{money(savings?.total.actualCost)} <span className="muted small">of {money(savings?.total.baselineCost)}</span></dd></div>
        </dl>
      </section>
      <DowntimeCard />
      <AgentList compact />
    </div>
  )
}
