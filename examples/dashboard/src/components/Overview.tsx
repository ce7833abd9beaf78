import { Link } from "../App.js"
import { money, num } from "../format.js"
import { useStore } from "../store.js"
import { AgentList } from "./AgentList.js"
import { DowntimeCard } from "./DowntimeCard.js"

/**
 * Fleet at a glance: agents online/offline, net savings (after everything the fleet spent:
 * replicas, zombies, retired instances still running), leaked spend, open emergencies, downtime,
 * the agents. The savings figures are the server's (`GET /api/savings`, the engine's rule).
 */
export const Overview = () => {
  const agents = Object.values(useStore((s) => s.agents))
  const savings = useStore((s) => s.savings)
  const views = useStore((s) => s.views)
  const online = agents.filter((a) => a.liveness === "online").length
  const emergencies = agents.filter((a) => a.notice !== null || a.degraded).length
  const instances = Object.values(views).flatMap((v) => v.instances)
  const replicas = instances.filter((i) => i.role === "REPLICA").length
  // Retired by the engine, not yet seen gone by the cloud (Instance.isUnreconciled).
  const unreconciled = instances.filter((i) => i.role === "TERMINATED" && i.cloudInstanceId !== null && (i.terminationConfirmedAt ?? null) === null).length
  const total = savings?.total
  const leaked = total?.leakedCost ?? 0
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="ov-h" data-testid="overview">
        <h2 id="ov-h">Fleet</h2>
        <dl className="stats">
          <div><dt>Agents online</dt><dd data-testid="agents-online">{online}</dd></div>
          <div><dt>Offline</dt><dd data-testid="agents-offline" className={agents.length - online > 0 ? "bad" : ""}>{agents.length - online}</dd></div>
          <div><dt>Warm replicas</dt><dd>{replicas}</dd></div>
          <div><dt>Emergencies</dt><dd data-testid="emergency-count" className={emergencies > 0 ? "bad" : ""}>{emergencies > 0 ? <Link to="/emergencies">{emergencies}</Link> : 0}</dd></div>
          <div>
            <dt>Net savings (30 days)</dt>
            <dd data-testid="savings" className={(total?.netSavings ?? 0) < 0 ? "bad" : ""}>
              {money(total?.netSavings)} <span className="muted small">{num(total?.netSavingsPercent, 1, " %")}</span>
            </dd>
          </div>
          <div>
            <dt>Gross savings (PRIMARYs)</dt>
            <dd data-testid="gross-savings">{money(total?.grossSavings)} <span className="muted small">{num(total?.grossSavingsPercent, 1, " %")}</span></dd>
          </div>
          <div>
            <dt>Spend vs on-demand</dt>
            <dd data-testid="spend">{money(total?.actualCost)} <span className="muted small">of {money(total?.baselineCost)}</span></dd>
          </div>
          <div>
            <dt>Leaked spend</dt>
            <dd data-testid="leaked-spend" className={leaked > 0.005 || unreconciled > 0 ? "bad" : ""} title="instances retired by the engine that the cloud still runs">
              {money(total?.leakedCost)} <span className="muted small" data-testid="unreconciled">{unreconciled} still running</span>
            </dd>
          </div>
        </dl>
      </section>
      <DowntimeCard />
      <AgentList compact />
    </div>
  )
}
