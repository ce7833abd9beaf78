import { dateTime, num } from "../format.js"
import { useStore } from "../store.js"
import type { DecisionRecord } from "../api.js"

interface ModelStats {
  readonly key: string
  readonly model: string
  readonly version: string
  readonly modes: ReadonlySet<string>
  readonly decisions: number
  readonly switches: number
  readonly allowed: number
  readonly acted: number
  readonly errors: number
  readonly timeouts: number
  readonly avgLatency: number
  readonly p95Latency: number
  readonly avgConfidence: number
  readonly last: number
}

const p95 = (xs: ReadonlyArray<number>) => {
  if (xs.length === 0) return 0
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)]!
}

const statsOf = (decisions: ReadonlyArray<DecisionRecord>): Array<ModelStats> => {
  const groups = new Map<string, Array<DecisionRecord>>()
  for (const d of decisions) {
    const key = `${d.model}@${d.modelVersion}`
    groups.set(key, [...(groups.get(key) ?? []), d])
  }
  return [...groups.entries()].map(([key, ds]) => ({
    key,
    model: ds[0]!.model,
    version: ds[0]!.modelVersion,
    modes: new Set(ds.map((d) => d.mode)),
    decisions: ds.length,
    switches: ds.filter((d) => d.decision.action === "SWITCH").length,
    allowed: ds.filter((d) => d.allowed).length,
    acted: ds.filter((d) => d.acted).length,
    errors: ds.filter((d) => d.error !== null).length,
    timeouts: ds.filter((d) => d.timedOut).length,
    avgLatency: ds.reduce((n, d) => n + d.latencyMillis, 0) / ds.length,
    p95Latency: p95(ds.map((d) => d.latencyMillis)),
    avgConfidence: ds.reduce((n, d) => n + d.decision.confidence, 0) / ds.length,
    last: Math.max(...ds.map((d) => d.createdAt))
  })).sort((a, b) => b.last - a.last)
}

/**
 * Model versions and their performance, from the decision log (`GET /api/decisions`): which
 * versions decided (active or shadow), their observed share of the active decisions (A/B), their
 * latency, errors and how often a switch they proposed passed the guards and acted.
 *
 * The model registry (register, shadow, traffic share, activate, roll back) has no HTTP routes
 * yet, so this view reads the log only; the registry's controls stay with the server's operator.
 */
export const MLModelManagement = () => {
  const decisions = useStore((s) => s.decisions)
  const stats = statsOf(decisions)
  const activeTotal = decisions.filter((d) => d.mode === "active").length
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="ml-h" data-testid="ml-models">
        <h2 id="ml-h">Decision models <span className="count">{stats.length}</span></h2>
        <p className="note" role="note">
          Read from the decision log (last {decisions.length} decisions). The model registry has no HTTP routes in this server yet:
          registering, shadowing, setting the A/B share, activating and rolling back are done by the operator on the server,
          and show up here as the versions that decide.
        </p>
        {stats.length === 0 ? <p className="muted">No decision yet (auto-switch is off on every agent, or the decision job has not run).</p> : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Model</th><th scope="col">Version</th><th scope="col">Mode</th><th scope="col">Decisions</th>
                  <th scope="col">A/B share</th><th scope="col">Switch proposals</th><th scope="col">Allowed / acted</th>
                  <th scope="col">Latency avg / p95</th><th scope="col">Errors / timeouts</th><th scope="col">Confidence</th><th scope="col">Last</th>
                </tr>
              </thead>
              <tbody>
                {stats.map((s) => {
                  const active = s.modes.has("active")
                  return (
                    <tr key={s.key}>
                      <th scope="row">{s.model}</th><td>{s.version}</td>
                      <td>{[...s.modes].map((m) => <span key={m} className={`pill ${m === "active" ? "ok" : "info"}`}>{m}</span>)}</td>
                      <td>{s.decisions}</td>
                      <td>{active && activeTotal > 0 ? `${((decisions.filter((d) => d.mode === "active" && `${d.model}@${d.modelVersion}` === s.key).length / activeTotal) * 100).toFixed(0)} %` : "shadow only"}</td>
                      <td>{s.switches}</td><td>{s.allowed} / {s.acted}</td>
                      <td>{num(s.avgLatency, 1)} / {num(s.p95Latency, 1)} ms</td>
                      <td>{s.errors} / {s.timeouts}</td><td>{num(s.avgConfidence, 2)}</td><td>{dateTime(s.last)}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card wide" aria-labelledby="dl-h">
        <h2 id="dl-h">Recent decisions</h2>
        {decisions.length === 0 ? <p className="muted">None.</p> : (
          <ul className="plain">
            {decisions.slice(0, 20).map((d) => (
              <li key={d.id}>
                <span className="muted small">{dateTime(d.createdAt)}</span> <code>{d.model}@{d.modelVersion}</code> ({d.mode}){" "}
                <strong>{d.decision.action}</strong>{d.decision.targetPool === null ? "" : ` → ${d.decision.targetPool}`}{" "}
                <span className="muted">{d.acted ? "acted" : d.allowed ? (d.note ?? "allowed") : `blocked by ${d.verdicts.filter((v) => !v.passed).map((v) => v.guard).join(", ")}`}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}
