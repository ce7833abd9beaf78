/**
 * What a simulation run saw: per endpoint the request count, errors (by status) and latency
 * percentiles (from a bounded reservoir sample), plus counters of fleet events.
 */
import type * as Random from "./Random.js"

export interface EndpointSummary {
  readonly endpoint: string
  readonly count: number
  readonly errors: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
}

export interface Summary {
  readonly elapsedSeconds: number
  readonly requests: number
  readonly errors: number
  readonly requestsPerSecond: number
  readonly endpoints: ReadonlyArray<EndpointSummary>
  /** `endpoint status` → count, e.g. `heartbeat 404`; `transport` for no answer. */
  readonly errorsByKind: Readonly<Record<string, number>>
  readonly counters: Readonly<Record<string, number>>
  /** The first few error messages, for the log. */
  readonly sampleErrors: ReadonlyArray<string>
}

interface Endpoint {
  count: number
  errors: number
  max: number
  samples: Array<number>
}

const reservoir = 20_000

export const percentile = (sorted: ReadonlyArray<number>, p: number): number => {
  if (sorted.length === 0) return 0
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

export class Stats {
  private readonly endpoints = new Map<string, Endpoint>()
  private readonly counters = new Map<string, number>()
  private readonly errorKinds = new Map<string, number>()
  private readonly sampleErrors: Array<string> = []
  private readonly started: number

  constructor(private readonly random: Random.Random, now: number = Date.now()) {
    this.started = now
  }

  record(endpoint: string, millis: number, error?: { readonly status: number | "transport"; readonly message: string }): void {
    let e = this.endpoints.get(endpoint)
    if (e === undefined) {
      e = { count: 0, errors: 0, max: 0, samples: [] }
      this.endpoints.set(endpoint, e)
    }
    e.count++
    e.max = Math.max(e.max, millis)
    if (e.samples.length < reservoir) e.samples.push(millis)
    else {
      const slot = Math.floor(this.random.next() * e.count)
      if (slot < reservoir) e.samples[slot] = millis
    }
    if (error !== undefined) {
      e.errors++
      const kind = `${endpoint} ${error.status}`
      this.errorKinds.set(kind, (this.errorKinds.get(kind) ?? 0) + 1)
      if (this.sampleErrors.length < 10) this.sampleErrors.push(`${kind}: ${error.message}`)
    }
  }

  count(counter: string, by = 1): void {
    this.counters.set(counter, (this.counters.get(counter) ?? 0) + by)
  }

  summary(now: number = Date.now()): Summary {
    const endpoints = [...this.endpoints.entries()].map(([endpoint, e]) => {
      const sorted = [...e.samples].sort((a, b) => a - b)
      return {
        endpoint,
        count: e.count,
        errors: e.errors,
        p50: percentile(sorted, 50),
        p95: percentile(sorted, 95),
        p99: percentile(sorted, 99),
        max: e.max
      }
    }).sort((a, b) => b.count - a.count)
    const requests = endpoints.reduce((n, e) => n + e.count, 0)
    const elapsedSeconds = Math.max(0.001, (now - this.started) / 1000)
    return {
      elapsedSeconds,
      requests,
      errors: endpoints.reduce((n, e) => n + e.errors, 0),
      requestsPerSecond: requests / elapsedSeconds,
      endpoints,
      errorsByKind: Object.fromEntries(this.errorKinds),
      counters: Object.fromEntries(this.counters),
      sampleErrors: [...this.sampleErrors]
    }
  }
}

const ms = (n: number) => (n < 10 ? n.toFixed(1) : n.toFixed(0))

/** One progress line. */
export const progressLine = (s: Summary, agents: number): string => {
  const hb = s.endpoints.find((e) => e.endpoint === "heartbeat")
  const c = s.counters
  return [
    `[sim ${s.elapsedSeconds.toFixed(0)}s]`,
    `agents ${c["registered"] ?? 0}/${agents}`,
    `req ${s.requests} (${s.requestsPerSecond.toFixed(0)}/s)`,
    `errors ${s.errors}`,
    hb === undefined ? "" : `heartbeat p50 ${ms(hb.p50)} ms p99 ${ms(hb.p99)} ms`,
    `commands ${c["commandsExecuted"] ?? 0}`,
    `notices ${(c["rebalanceNotices"] ?? 0) + (c["terminationNotices"] ?? 0)}`,
    `prices ${c["priceReports"] ?? 0}`
  ].filter((x) => x !== "").join(" · ")
}

/** The summary as a table. */
export const table = (s: Summary): string => {
  const lines = [
    `${s.requests} requests in ${s.elapsedSeconds.toFixed(1)} s (${s.requestsPerSecond.toFixed(1)}/s), ${s.errors} errors`,
    "endpoint                 count   errors   p50 ms   p95 ms   p99 ms   max ms",
    ...s.endpoints.map((e) =>
      `${e.endpoint.padEnd(22)} ${String(e.count).padStart(7)} ${String(e.errors).padStart(8)} ${ms(e.p50).padStart(8)} ${ms(e.p95).padStart(8)} ${ms(e.p99).padStart(8)} ${ms(e.max).padStart(8)}`
    ),
    `counters: ${Object.entries(s.counters).map(([k, v]) => `${k}=${v}`).join(" ")}`
  ]
  if (s.errors > 0) {
    lines.push(`errors: ${Object.entries(s.errorsByKind).map(([k, v]) => `${k}×${v}`).join(", ")}`)
    for (const e of s.sampleErrors) lines.push(`  ${e}`)
  }
  return lines.join("\n")
}
