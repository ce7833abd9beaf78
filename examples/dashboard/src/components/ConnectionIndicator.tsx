import { useStore } from "../store.js"

const labels = {
  idle: "Not connected",
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Reconnecting…",
  unauthorized: "Token refused",
  closed: "Disconnected"
} as const

/** The state of the event stream, always visible. */
export const ConnectionIndicator = () => {
  const connection = useStore((s) => s.connection)
  const detail = useStore((s) => s.connectionDetail)
  const lastEventId = useStore((s) => s.lastEventId)
  return (
    <div className={`conn conn-${connection}`} role="status" aria-live="polite" data-testid="connection" data-state={connection}
      title={`${detail ?? ""}${lastEventId === null ? "" : ` · last event #${lastEventId}`}`}>
      <span className="dot" aria-hidden="true" />
      <span>{labels[connection]}</span>
    </div>
  )
}
