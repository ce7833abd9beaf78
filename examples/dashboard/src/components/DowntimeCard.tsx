import { num } from "../format.js"
import { useStore } from "../store.js"

/** Switch downtime over the last 30 days: average, p95, max and the trend against the 30 days before. */
export const DowntimeCard = () => {
  const d = useStore((s) => s.downtime)
  const trend = d?.trendAvgSeconds ?? null
  return (
    <section className="card" aria-labelledby="dt-h" data-testid="downtime-card">
      <h2 id="dt-h">Switch downtime <span className="muted small">30 days</span></h2>
      {d === null ? <p className="muted">Loading…</p> : (
        <dl className="stats">
          <div><dt>Average</dt><dd data-testid="downtime-avg">{num(d.avgSeconds, 2, " s")}</dd></div>
          <div><dt>p95</dt><dd>{num(d.p95Seconds, 2, " s")}</dd></div>
          <div><dt>Max</dt><dd>{num(d.maxSeconds, 2, " s")}</dd></div>
          <div><dt>Switches</dt><dd>{d.count} <span className="muted small">({d.succeeded} ok{d.successRate === null ? "" : `, ${(d.successRate * 100).toFixed(0)} %`})</span></dd></div>
          <div>
            <dt>Trend</dt>
            <dd className={trend === null ? "" : trend <= 0 ? "good" : "bad"}>
              {trend === null ? "—" : `${trend <= 0 ? "▼" : "▲"} ${Math.abs(trend).toFixed(2)} s`}
              <span className="sr-only">{trend === null ? "" : trend <= 0 ? " (better than the previous period)" : " (worse than the previous period)"}</span>
            </dd>
          </div>
        </dl>
      )}
    </section>
  )
}
