/** A tiny history router: client routes are real paths (the server falls back to index.html). */
import { useSyncExternalStore } from "react"

const listeners = new Set<() => void>()
const subscribe = (fn: () => void) => {
  listeners.add(fn)
  window.addEventListener("popstate", fn)
  return () => {
    listeners.delete(fn)
    window.removeEventListener("popstate", fn)
  }
}

export const navigate = (path: string) => {
  if (path === window.location.pathname) return
  window.history.pushState(null, "", path)
  for (const fn of listeners) fn()
  window.scrollTo({ top: 0 })
}

export const usePath = (): string => useSyncExternalStore(subscribe, () => window.location.pathname)

export type Route =
  | { readonly view: "overview" }
  | { readonly view: "agents" }
  | { readonly view: "agent"; readonly agentId: string }
  | { readonly view: "pricing" }
  | { readonly view: "switches" }
  | { readonly view: "emergencies" }
  | { readonly view: "ml" }
  | { readonly view: "notifications" }

export const parseRoute = (path: string): Route => {
  const parts = path.split("/").filter((p) => p !== "")
  if (parts[0] === "agents" && parts[1] !== undefined) return { view: "agent", agentId: decodeURIComponent(parts[1]) }
  switch (parts[0]) {
    case "agents":
      return { view: "agents" }
    case "pricing":
      return { view: "pricing" }
    case "switches":
      return { view: "switches" }
    case "emergencies":
      return { view: "emergencies" }
    case "ml":
      return { view: "ml" }
    case "notifications":
      return { view: "notifications" }
    default:
      return { view: "overview" }
  }
}
