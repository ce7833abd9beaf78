import { useEffect } from "react"
import { AgentDetail } from "./components/AgentDetail.js"
import { AgentList } from "./components/AgentList.js"
import { ConnectionIndicator } from "./components/ConnectionIndicator.js"
import { EmergencyDashboard, EmergencyEventAlert } from "./components/EmergencyDashboard.js"
import { Login } from "./components/Login.js"
import { MLModelManagement } from "./components/MLModelManagement.js"
import { NotificationBell, NotificationCenter } from "./components/NotificationCenter.js"
import { Overview } from "./components/Overview.js"
import { PricingView } from "./components/PricingView.js"
import { SwitchesView } from "./components/SwitchHistoryTimeline.js"
import { navigate, parseRoute, type Route, usePath } from "./router.js"
import { useStore } from "./store.js"

const nav: ReadonlyArray<{ readonly path: string; readonly label: string; readonly view: Route["view"] }> = [
  { path: "/", label: "Overview", view: "overview" },
  { path: "/agents", label: "Agents", view: "agents" },
  { path: "/pricing", label: "Pricing", view: "pricing" },
  { path: "/switches", label: "Switches", view: "switches" },
  { path: "/emergencies", label: "Emergencies", view: "emergencies" },
  { path: "/ml", label: "ML models", view: "ml" },
  { path: "/notifications", label: "Notifications", view: "notifications" }
]

export const Link = (props: { readonly to: string; readonly children: React.ReactNode; readonly className?: string; readonly current?: boolean }) => (
  <a
    href={props.to}
    className={props.className}
    aria-current={props.current ? "page" : undefined}
    onClick={(e) => {
      if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return
      e.preventDefault()
      navigate(props.to)
    }}
  >
    {props.children}
  </a>
)

export const App = () => {
  const token = useStore((s) => s.token)
  const restore = useStore((s) => s.restore)
  useEffect(() => restore(), [restore])
  return token === null ? <Login /> : <Shell />
}

const Shell = () => {
  const path = usePath()
  const route = parseRoute(path)
  const tenant = useStore((s) => s.tenant)
  const logout = useStore((s) => s.logout)
  const errors = useStore((s) => s.errors)
  const dismissError = useStore((s) => s.dismissError)
  const current = route.view === "agent" ? "agents" : route.view
  useEffect(() => {
    document.title = `spotfleet · ${nav.find((n) => n.view === current)?.label ?? "dashboard"}`
  }, [current])
  return (
    <div className="shell">
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <div className="brand">
          <span aria-hidden="true">◆</span> spotfleet <span className="tenant" data-testid="tenant-name">{tenant?.name}</span>
        </div>
        <div className="topbar-right">
          <ConnectionIndicator />
          <NotificationBell />
          <button type="button" className="ghost" onClick={logout}>Log out</button>
        </div>
      </header>
      <nav aria-label="Main" className="mainnav">
        <ul>
          {nav.map((n) => (
            <li key={n.path}>
              <Link to={n.path} current={n.view === current}>{n.label}</Link>
            </li>
          ))}
        </ul>
      </nav>
      <EmergencyEventAlert />
      {errors.length > 0 && (
        <div className="errors" role="alert">
          {errors.map((e, i) => (
            <p key={`${i}-${e}`}>
              {e} <button type="button" className="ghost small" onClick={() => dismissError(i)} aria-label={`Dismiss: ${e}`}>✕</button>
            </p>
          ))}
        </div>
      )}
      <main id="main" tabIndex={-1} data-view={route.view}>
        {route.view === "overview" && <Overview />}
        {route.view === "agents" && <AgentList />}
        {route.view === "agent" && <AgentDetail agentId={route.agentId} />}
        {route.view === "pricing" && <PricingView />}
        {route.view === "switches" && <SwitchesView />}
        {route.view === "emergencies" && <EmergencyDashboard />}
        {route.view === "ml" && <MLModelManagement />}
        {route.view === "notifications" && <NotificationCenter />}
      </main>
    </div>
  )
}
