import { useId, useState } from "react"
import type { AgentConfigPatch, AgentView } from "../api.js"
import { enc } from "../api.js"
import { money, num } from "../format.js"
import { useStore } from "../store.js"

type Simulation = {
  readonly toPool: string
  readonly hourlySavings: number | null
  readonly savingsPercent: number | null
  readonly expectedDowntime: { readonly avgSeconds: number | null }
  readonly blockers: ReadonlyArray<string>
}

/** The pools the dashboard knows of: the fleet's instances and the loaded price series. */
const useKnownPools = () => {
  const views = useStore((s) => s.views)
  const prices = useStore((s) => s.prices)
  const pools = new Set<string>()
  for (const v of Object.values(views)) for (const i of v.instances) if (!i.pool.startsWith("ondemand:")) pools.add(i.pool)
  for (const p of Object.keys(prices)) if (!p.startsWith("ondemand:")) pools.add(p)
  return [...pools].sort()
}

/**
 * Manual replica on/off, request/remove/promote a replica, manual switch (with a simulation
 * first), and the configuration toggles. Auto-switch and manual replica exclude each other:
 * turning one on turns the other off, in the same request.
 */
export const ReplicaControlPanel = (props: { readonly view: AgentView }) => {
  const { agent, instances } = props.view
  const act = useStore((s) => s.act)
  const refreshAgent = useStore((s) => s.refreshAgent)
  const pools = useKnownPools()
  const primary = instances.find((i) => i.role === "PRIMARY")
  const replicas = instances.filter((i) => i.role === "REPLICA" || i.role === "LAUNCHING")
  const [target, setTarget] = useState("")
  const [simulation, setSimulation] = useState<Simulation | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [message, setMessage] = useState<string | null>(null)
  const poolId = useId()
  const listId = useId()
  const base = `/api/agents/${enc(agent.id)}`

  const run = async (label: string, call: (api: Parameters<Parameters<typeof act>[1]>[0]) => Promise<unknown>, done: string) => {
    setBusy(label)
    setMessage(null)
    const result = await act(label, call)
    setBusy(null)
    if (result !== undefined) {
      setMessage(done)
      await refreshAgent(agent.id)
    }
  }
  const patch = (p: AgentConfigPatch, done: string) => run("configuration", (api) => api.send("PATCH", `${base}/config`, p), done)
  const toggle = (key: "autoSwitch" | "manualReplica" | "autoTerminate" | "enabled", on: boolean) => {
    const p: Record<string, boolean> = { [key]: on }
    if (on && key === "autoSwitch" && agent.config.manualReplica) p["manualReplica"] = false
    if (on && key === "manualReplica" && agent.config.autoSwitch) p["autoSwitch"] = false
    return patch(p as AgentConfigPatch, `${key} ${on ? "on" : "off"}${Object.keys(p).length > 1 ? ` (${Object.keys(p).filter((k) => k !== key).join(", ")} off)` : ""}`)
  }

  const toggles = [
    { key: "manualReplica", label: "Manual replica", help: "Keep one warm replica at all times (turns auto-switch off)." },
    { key: "autoSwitch", label: "Auto-switch", help: "Let the decision model move to cheaper pools (turns manual replica off)." },
    { key: "autoTerminate", label: "Auto-terminate", help: "Terminate a demoted primary instead of keeping it as a zombie." },
    { key: "enabled", label: "Enabled", help: "Disabled agents get no launches or switches." }
  ] as const

  return (
    <section className="card" aria-labelledby="ctl-h" data-testid="replica-panel">
      <h2 id="ctl-h">Replica &amp; switch control</h2>
      <fieldset>
        <legend>Configuration</legend>
        {toggles.map((t) => (
          <label key={t.key} className="toggle">
            <input type="checkbox" role="switch" checked={agent.config[t.key]} disabled={busy !== null}
              onChange={(e) => void toggle(t.key, e.target.checked)} aria-describedby={`${t.key}-help`} data-testid={`toggle-${t.key}`} />
            <span>{t.label}</span>
            <span id={`${t.key}-help`} className="muted small">{t.help}</span>
          </label>
        ))}
      </fieldset>
      <fieldset>
        <legend>Replicas</legend>
        {replicas.length === 0 ? <p className="muted">No replica.</p> : (
          <ul className="plain">
            {replicas.map((r) => (
              <li key={r.id}>
                <code>{r.cloudInstanceId ?? "launching"}</code> <span className="muted">{r.pool} · {r.role}</span>{" "}
                <button type="button" disabled={busy !== null || r.role !== "REPLICA"} data-testid="promote"
                  onClick={() => void run("promote", (api) => api.send("POST", `${base}/instances/${enc(r.id)}/promote`, {}), "promotion queued")}>
                  Promote
                </button>{" "}
                <button type="button" className="ghost" disabled={busy !== null}
                  onClick={() => void run("remove replica", (api) => api.send("DELETE", `${base}/replicas/${enc(r.id)}`), "replica removal queued")}>
                  Remove
                </button>
              </li>
            ))}
          </ul>
        )}
        <button type="button" disabled={busy !== null || agent.config.manualReplica} data-testid="request-replica"
          onClick={() => void run("request replica", (api) => api.send("POST", `${base}/replicas`, target === "" ? {} : { pool: target }), "replica requested")}>
          Request a replica{target === "" ? "" : ` in ${target}`}
        </button>
      </fieldset>
      <fieldset>
        <legend>Manual switch</legend>
        <label htmlFor={poolId}>Target pool</label>
        <input id={poolId} list={listId} value={target} placeholder="t3.medium.us-east-1b" data-testid="switch-pool"
          onChange={(e) => {
            setTarget(e.target.value.trim())
            setSimulation(null)
          }} />
        <datalist id={listId}>{pools.filter((p) => p !== primary?.pool).map((p) => <option key={p} value={p} />)}</datalist>
        <div className="row">
          <button type="button" className="ghost" disabled={busy !== null || target === ""}
            onClick={async () => {
              const sim = await act("simulate", (api) => api.send<Simulation>("POST", `${base}/switch/simulate`, { pool: target }))
              if (sim !== undefined) setSimulation(sim)
            }}>
            Simulate
          </button>
          <button type="button" disabled={busy !== null || target === "" || target === primary?.pool} data-testid="switch-button"
            onClick={() => void run("switch", (api) => api.send("POST", `${base}/switch`, { pool: target }), `switch to ${target} started`)}>
            Switch
          </button>
          {agent.flow?.kind === "switch" && (
            <button type="button" className="danger" disabled={busy !== null}
              onClick={() => void run("cancel switch", (api) => api.send("DELETE", `${base}/switch`), "switch cancelled")}>
              Cancel switch
            </button>
          )}
        </div>
        {simulation !== null && (
          <p className="muted" data-testid="simulation">
            {simulation.toPool}: saves {money(simulation.hourlySavings, 4)}/h ({num(simulation.savingsPercent, 1, " %")}), expected downtime {num(simulation.expectedDowntime.avgSeconds, 1, " s")}
            {simulation.blockers.length > 0 && <> · blocked: {simulation.blockers.join("; ")}</>}
          </p>
        )}
      </fieldset>
      <p role="status" aria-live="polite" className="small">{busy !== null ? `${busy}…` : message}</p>
    </section>
  )
}
