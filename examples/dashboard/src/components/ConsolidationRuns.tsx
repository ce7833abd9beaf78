import { dateTime, num } from "../format.js"
import { useStore } from "../store.js"

/** The consolidation run ledger, newest first. */
export const ConsolidationRuns = () => {
  const runs = useStore((s) => s.runs)
  return (
    <section className="card wide" aria-labelledby="cr-h" data-testid="consolidation-runs">
      <h2 id="cr-h">Consolidation runs <span className="count">{runs.length}</span></h2>
      {runs.length === 0 ? <p className="muted">No run yet (the consolidation job runs in the background).</p> : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Started</th><th scope="col">Status</th><th scope="col">Window</th><th scope="col">Pools</th>
                <th scope="col">Snapshots</th><th scope="col">Agent points</th><th scope="col">Filled</th><th scope="col">Backfilled</th>
                <th scope="col">Written</th><th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.id} className={`run-${r.status}`}>
                  <td>{dateTime(r.startedAt)}</td>
                  <td><span className={`pill ${r.status === "failed" ? "critical" : r.status === "running" ? "info" : "ok"}`}>{r.status}</span>{r.error !== null && <span className="muted small"> {r.error}</span>}</td>
                  <td>{dateTime(r.windowStart)} – {dateTime(r.windowEnd)} <span className="muted small">({r.fillPolicy})</span></td>
                  <td>{r.pools}</td><td>{r.snapshots}{r.duplicates > 0 ? ` (${r.duplicates} dup.)` : ""}</td>
                  <td>{r.agentPoints}</td><td>{r.filled}</td><td>{r.backfilled}</td><td>{r.written}</td>
                  <td>{num(r.durationMillis === null ? null : r.durationMillis / 1000, 2, " s")}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  )
}
