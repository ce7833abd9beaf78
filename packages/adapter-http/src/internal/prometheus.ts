import type { MetricPair } from "effect"
import { MetricState, Option } from "effect"

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, "\\\"")
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")
const validName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/

const labels = (pairs: ReadonlyArray<readonly [string, string]>) =>
  pairs.length === 0 ? "" : `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`

const num = (n: number | bigint) =>
  typeof n === "bigint" ? n.toString() : Number.isNaN(n) ? "NaN" : n === Infinity ? "+Inf" : n === -Infinity ? "-Inf" : String(n)

interface Family {
  readonly type: "counter" | "gauge" | "histogram" | "summary"
  help: string
  readonly lines: Array<string>
}

/** A metric that is always exposed, with 0 until something is recorded. */
export interface Declared {
  readonly name: string
  readonly type: "counter" | "gauge"
  readonly help: string
}

/**
 * Renders a metric snapshot in the Prometheus text exposition format (version 0.0.4): one
 * `# HELP` and `# TYPE` per family, samples grouped by family.
 */
export const render = (
  pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>,
  declared: ReadonlyArray<Declared> = []
): string => {
  const families = new Map<string, Family>()
  const family = (name: string, type: Family["type"], help: string) => {
    let f = families.get(name)
    if (f === undefined) {
      f = { type, help, lines: [] }
      families.set(name, f)
    } else if (f.help === "" && help !== "") {
      f.help = help
    }
    return f
  }
  for (const pair of pairs) {
    const key = pair.metricKey
    if (!validName.test(key.name)) continue
    const help = Option.getOrElse(key.description, () => "")
    const tags = key.tags.map((t) => [t.key, t.value] as const)
    const state = pair.metricState
    if (MetricState.isCounterState(state)) {
      family(key.name, "counter", help).lines.push(`${key.name}${labels(tags)} ${num(state.count)}`)
    } else if (MetricState.isGaugeState(state)) {
      family(key.name, "gauge", help).lines.push(`${key.name}${labels(tags)} ${num(state.value)}`)
    } else if (MetricState.isHistogramState(state)) {
      const f = family(key.name, "histogram", help)
      for (const [le, count] of state.buckets) {
        f.lines.push(`${key.name}_bucket${labels([...tags, ["le", num(le)]])} ${count}`)
      }
      if (!state.buckets.some(([le]) => le === Infinity)) {
        f.lines.push(`${key.name}_bucket${labels([...tags, ["le", "+Inf"]])} ${state.count}`)
      }
      f.lines.push(`${key.name}_sum${labels(tags)} ${num(state.sum)}`)
      f.lines.push(`${key.name}_count${labels(tags)} ${state.count}`)
    } else if (MetricState.isSummaryState(state)) {
      const f = family(key.name, "summary", help)
      for (const [q, value] of state.quantiles) {
        f.lines.push(`${key.name}${labels([...tags, ["quantile", String(q)]])} ${Option.match(value, { onNone: () => "NaN", onSome: num })}`)
      }
      f.lines.push(`${key.name}_sum${labels(tags)} ${num(state.sum)}`)
      f.lines.push(`${key.name}_count${labels(tags)} ${state.count}`)
    } else if (MetricState.isFrequencyState(state)) {
      const f = family(key.name, "counter", help)
      for (const [value, count] of state.occurrences) {
        f.lines.push(`${key.name}${labels([...tags, ["value", value]])} ${count}`)
      }
    }
  }
  for (const d of declared) {
    const f = family(d.name, d.type, d.help)
    if (f.lines.length === 0) f.lines.push(`${d.name} 0`)
  }
  const out: Array<string> = []
  for (const name of [...families.keys()].sort()) {
    const f = families.get(name)!
    if (f.help !== "") out.push(`# HELP ${name} ${escapeHelp(f.help)}`)
    out.push(`# TYPE ${name} ${f.type}`)
    // Histogram and summary samples keep their order (buckets ascending, +Inf last).
    out.push(...(f.type === "counter" || f.type === "gauge" ? f.lines.sort() : f.lines))
  }
  return out.join("\n") + "\n"
}
