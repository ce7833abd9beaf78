import { useEffect, useState } from "react"
import { Link } from "../App.js"
import { dateTime } from "../format.js"
import { useStore } from "../store.js"

/** The unread count in the top bar. */
export const NotificationBell = () => {
  const unread = useStore((s) => s.unread + s.storedUnread)
  return (
    <Link to="/notifications" className="bell">
      <svg width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2"><path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9" /><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0" /></svg>
      <span className="sr-only">Notifications, </span>
      <span className="count" data-testid="unread">{unread}</span>
      <span className="sr-only"> unread</span>
    </Link>
  )
}

const severities = ["all", "critical", "warning", "success", "info"] as const

/** The notifications the server keeps (emergencies, quarantines, failed switches, leaks), newest first. */
const KeptNotifications = () => {
  const stored = useStore((s) => s.stored)
  if (stored === null) return null
  return (
    <section className="card wide" aria-labelledby="kept-h" data-testid="kept-notifications">
      <h2 id="kept-h">Alerts <span className="muted small">kept by the server, also across restarts</span></h2>
      {stored.length === 0 ? <p className="muted">No alerts: emergencies, quarantined pools, failed switches and leaked instances appear here.</p> : (
        <ul className="notifications">
          {stored.map((n) => (
            <li key={n.id} className={`sev-${n.severity}${n.readAt === null ? " unread" : ""}`}>
              <span className="muted small">{dateTime(n.createdAt)}</span>{" "}
              {n.agentId === null ? n.title : <Link to={`/agents/${encodeURIComponent(n.agentId)}`}>{n.title}</Link>}
              {n.body === null ? null : <span className="muted small"> — {n.body}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  )
}

/** The kept alerts, then the live activity of this session (newest first, with a severity filter). */
export const NotificationCenter = () => {
  const notifications = useStore((s) => s.notifications)
  const storedCount = useStore((s) => s.stored?.length ?? 0)
  const markRead = useStore((s) => s.markRead)
  const [filter, setFilter] = useState<(typeof severities)[number]>("all")
  useEffect(() => markRead(), [markRead, notifications.length, storedCount])
  const list = notifications.filter((n) => filter === "all" || n.severity === filter).slice().reverse()
  return (
    <>
      <KeptNotifications />
      <section className="card wide" aria-labelledby="nc-h" data-testid="notification-center">
      <h2 id="nc-h">Live activity <span className="count">{notifications.length}</span></h2>
      <div role="group" aria-label="Filter by severity" className="row">
        {severities.map((s) => (
          <button key={s} type="button" className={filter === s ? "" : "ghost"} aria-pressed={filter === s} onClick={() => setFilter(s)}>{s}</button>
        ))}
      </div>
      {list.length === 0 ? <p className="muted">Nothing yet: notifications arrive live from the event stream.</p> : (
        <ul className="notifications" aria-live="polite">
          {list.slice(0, 200).map((n) => (
            <li key={n.id} className={`sev-${n.severity}`}>
              <span className="muted small">{dateTime(n.at)}</span>{" "}
              {n.agentId === null ? n.text : <Link to={`/agents/${encodeURIComponent(n.agentId)}`}>{n.text}</Link>}
            </li>
          ))}
        </ul>
      )}
    </section>
    </>
  )
}
