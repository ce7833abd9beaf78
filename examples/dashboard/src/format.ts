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

const MIN = 60_000
const HOUR = 60 * MIN
const TICK_STEPS = [MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 4 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 7 * 24 * HOUR]

/**
 * Time axis ticks over `[from, to]`: the largest round step (1 min … 1 week, aligned to local
 * time) that still gives at least 4 ticks (at most about 10), so an axis never shows only its two
 * ends.
 */
export const timeTicks = (from: number, to: number): Array<number> => {
  if (!(to > from)) return []
  const offset = -new Date(from).getTimezoneOffset() * MIN
  const span = to - from
  const fits = TICK_STEPS.filter((s) => Math.floor(span / s) >= 4)
  const step = fits[fits.length - 1] ?? span / 4
  const ticks: Array<number> = []
  for (let t = Math.ceil((from + offset) / step) * step - offset; t <= to; t += step) ticks.push(t)
  return ticks
}

/** A tick's label: `HH:MM`, with the day when the axis spans more than a day. */
export const tickLabel = (t: number, span: number): string => {
  const d = new Date(t)
  const hm = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", hour12: false })
  return span > 24 * HOUR ? `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${hm}` : hm
}
