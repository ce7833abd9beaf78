import { Link } from "../App.js"
import type { DomainEventWire } from "../api.js"
import { countdown, dateTime, useNow } from "../format.js"
import { describeEvent, useStore } from "../store.js"

const useAgentName = () => {
  const agents = useStore((s) => s.agents)
  return (id: string | null) => (id === null ? "tenant" : agents[id]?.logicalAgentId ?? id.slice(0, 8))
}

/** Agents under an interruption notice, with a countdown to each deadline, and the emergency event log. */
export const EmergencyDashboard = () => {
  const agents = useStore((s) => s.agents)
  const events = useStore((s) => s.emergencies)
  const name = useAgentName()
  const now = useNow(250)
  const noticed = Object.values(agents).filter((a) => a.notice !== null || a.degraded)
  return (
    <div className="grid">
      <section className="card wide" aria-labelledby="em-h" data-testid="emergency-dashboard">
        <h2 id="em-h">Interruption notices <span className="count">{noticed.length}</span></h2>
        {noticed.length === 0 ? <p className="muted">No agent is under a notice.</p> : (
          <ul className="notices">
            {noticed.map((a) => {
              const left = a.notice === null ? null : a.notice.deadline - now
              return (
                <li key={a.id} className={`notice ${left !== null && left < 30_000 ? "urgent" : ""}`} data-testid="notice" data-agent={a.logicalAgentId}>
                  <Link to={`/agents/${encodeURIComponent(a.id)}`}>{a.logicalAgentId}</Link>
                  {a.notice !== null && (
                    <>
                      <span className="pill critical">{a.notice.kind}</span>
                      <span className="countdown" data-testid="countdown" aria-label={`Deadline in ${countdown(a.notice.deadline, now)}`}>
                        {countdown(a.notice.deadline, now)}
                      </span>
                      <span className="muted small">deadline {dateTime(a.notice.deadline)}</span>
                    </>
                  )}
                  {a.degraded && <span className="pill critical">degraded</span>}
                  {a.flow !== null && <span className="pill info">{a.flow.kind} flow</span>}
                </li>
              )
            })}
          </ul>
        )}
      </section>
      <section className="card wide" aria-labelledby="emlog-h">
        <h2 id="emlog-h">Emergency events</h2>
        {events.length === 0 ? <p className="muted">None.</p> : (
          <ol className="events" data-testid="emergency-events" reversed>
            {events.slice().reverse().slice(0, 100).map((e) => (
              <li key={e.id} data-type={e.type}>
                <span className="muted small">{dateTime(e.at)}</span> <code>{e.type}</code> {describeEvent(e, name)?.text ?? ""}
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  )
}

/** How long a promotion's banner stays (a notice's stays while its deadline runs). */
const PROMOTED_BANNER_MILLIS = 60_000

/**
 * A banner for the newest emergency event that matters (a notice, a promotion, degradation) that
 * happened while the dashboard is open — never for history loaded at login — until dismissed (the
 * dismissal holds on every view and across reloads of the tab). A promotion's banner goes by itself
 * after a minute, a notice's when its agent is no longer under it.
 */
export const EmergencyEventAlert = () => {
  const events = useStore((s) => s.emergencies)
  const agents = useStore((s) => s.agents)
  const liveAfterId = useStore((s) => s.liveAfterId)
  const dismissedId = useStore((s) => s.dismissedAlertId)
  const dismiss = useStore((s) => s.dismissAlert)
  const name = useAgentName()
  const now = useNow(500)
  const latest: DomainEventWire | undefined = liveAfterId === null ? undefined : [...events].reverse().find((e) =>
    e.id > liveAfterId && e.id > dismissedId && (e.type === "NoticeReceived" || e.type === "EmergencyPromotion" || e.type === "AgentDegraded")
  )
  if (latest === undefined) return null
  if (latest.type === "EmergencyPromotion" && now - latest.at > PROMOTED_BANNER_MILLIS) return null
  if (latest.type === "NoticeReceived" && latest.agentId !== null && agents[latest.agentId]?.notice === null && now - latest.at > 5_000) return null
  if (now - latest.at > 10 * 60_000) return null
  const described = describeEvent(latest, name)
  const notice = latest.agentId === null ? null : agents[latest.agentId]?.notice ?? null
  const kind = latest.type === "EmergencyPromotion" ? "success" : "critical"
  return (
    <div className={`alert alert-${kind}`} role="alert" data-testid="emergency-alert" data-type={latest.type} data-event-id={latest.id} data-at={latest.at}>
      <strong>{latest.type === "EmergencyPromotion" ? "Promoted" : "Emergency"}:</strong> {described?.text}
      {latest.type === "NoticeReceived" && notice !== null && <> · deadline in <span className="countdown">{countdown(notice.deadline, now)}</span></>}
      {" "}<Link to="/emergencies">Details</Link>
      <button type="button" className="ghost small" onClick={() => dismiss(latest.id)} aria-label="Dismiss the emergency alert">✕</button>
    </div>
  )
}
