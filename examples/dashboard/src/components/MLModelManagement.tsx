import { useEffect } from "react"
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

const statusClass: Record<string, string> = { active: "ok", shadow: "info", ab: "info", registered: "", retired: "muted" }

/**
 * The decision models: the registry's versions (`GET /api/models`: status, A/B share, confidence
 * threshold, artifact digest), their performance over the tenant's decisions
 * (`GET /api/models/performance`), and the decision log (`GET /api/decisions`): which versions
 * decided, active or shadow, their latency, errors and how often a switch they proposed passed the
 * guards and acted. Changes to the registry (register, shadow, A/B share, activate, roll back) are
 * the operator's, through the admin routes under `/api/admin/models`.
 */
export const MLModelManagement = () => {
  const decisions = useStore((s) => s.decisions)
  const models = useStore((s) => s.models)
  const performance = useStore((s) => s.modelPerformance)
  const modelsError = useStore((s) => s.modelsError)
  const refresh = useStore((s) => s.refreshModels)
  useEffect(() => void refresh(), [refresh])
  const stats = statsOf(decisions)
  const activeTotal = decisions.filter((d) => d.mode === "active").length
  const perf = (m: { readonly name: string; readonly version: string }) => performance.find((p) => p.model === m.name && p.version === m.version)
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="reg-h" data-testid="model-registry">
        <h2 id="reg-h">Model registry <span className="count">{models?.length ?? "…"}</span></h2>
        {models === null ? <p className="muted">Loading…</p> : models.length === 0 ? (
          <p className="muted">{modelsError !== null ? `This server has no model registry (${modelsError}).` : "No model version is registered."}</p>
        ) : (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Model</th><th scope="col">Version</th><th scope="col">Status</th><th scope="col">A/B share</th>
                  <th scope="col">Threshold</th><th scope="col">Decisions (30 d)</th><th scope="col">Success rate</th>
                  <th scope="col">Latency p50 / p99</th><th scope="col">Artifact</th><th scope="col">Activated</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => {
                  const p = perf(m)
                  return (
                    <tr key={`${m.name}@${m.version}`} data-testid="model-version" data-status={m.status} data-model={`${m.name}@${m.version}`}>
                      <th scope="row">{m.name}</th><td>{m.version}</td>
                      <td><span className={`pill ${statusClass[m.status] ?? ""}`}>{m.status}</span></td>
                      <td>{m.trafficShare > 0 ? `${(m.trafficShare * 100).toFixed(0)} %` : "—"}</td>
                      <td>{num(m.confidenceThreshold, 2)}</td>
                      <td>{p?.decisions ?? 0}</td>
                      <td>{p?.successRate === null || p?.successRate === undefined ? "—" : `${(p.successRate * 100).toFixed(0)} %`}</td>
                      <td>{p?.latencyP50Millis == null ? "—" : `${num(p.latencyP50Millis, 1)} / ${num(p.latencyP99Millis, 1)} ms`}</td>
                      <td><code title={m.artifactDigest}>{m.artifactDigest.slice(0, 19)}…</code></td>
                      <td>{dateTime(m.activatedAt)}</td>
                    </tr>
                  )
                })}
              </tbody>
            </table>
          </div>
        )}
        <p className="muted small">Register, shadow, A/B share, activate and roll back with the admin token: <code>/api/admin/models</code> (see the runbook's ML rollout).</p>
      </section>
      <section className="card wide" aria-labelledby="ml-h" data-testid="ml-models">
        <h2 id="ml-h">Decisions by model <span className="count">{stats.length}</span></h2>
        <p className="note" role="note">From the decision log (last {decisions.length} decisions of this tenant's agents with auto-switch on).</p>
        {stats.length === 0 ? <p className="muted">No decision yet: turn auto-switch on for an agent (its configuration); the loop decides every 5 minutes.</p> : (
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
              <li key={d.id} data-testid="decision" data-action={d.decision.action}>
                <span className="muted small">{dateTime(d.createdAt)}</span> <code>{d.model}@{d.modelVersion}</code> ({d.mode}){" "}
                <strong>{d.decision.action}</strong>{d.decision.targetPool === null ? "" : ` → ${d.decision.targetPool}`}{" "}
                <span className="muted">{d.decision.action !== "SWITCH" ? (d.note ?? "") : d.acted ? "acted" : d.allowed ? (d.note ?? "allowed") : `blocked by ${d.verdicts.filter((v) => !v.passed).map((v) => v.guard).join(", ")}`}</span>
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}
