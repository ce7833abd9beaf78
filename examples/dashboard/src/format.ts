import { useEffect, useState } from "react"

export const time = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? "—" : new Date(ms).toLocaleTimeString(undefined, { hour12: false })

export const dateTime = (ms: number | null | undefined): string =>
  ms === null || ms === undefined ? "—" : new Date(ms).toLocaleString(undefined, { hour12: false })

export const money = (n: number | null | undefined, digits = 2): string =>
  n === null || n === undefined ? "—" : `$${n.toFixed(digits)}`

export const num = (n: number | null | undefined, digits = 1, unit = ""): string =>
  n === null || n === undefined ? "—" : `${n.toFixed(digits)}${unit}`

/** `m:ss` until a deadline (negative: "passed"). */
export const countdown = (deadline: number, now: number): string => {
  const left = Math.round((deadline - now) / 1000)
  if (left < 0) return "passed"
  return `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`
}

/** The current time, ticking every `ms`. */
export const useNow = (ms = 1000): number => {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(t)
  }, [ms])
  return now
}

export const ago = (ms: number | null | undefined, now: number): string => {
  if (ms === null || ms === undefined) return "never"
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  return `${Math.round(s / 3600)} h ago`
}
