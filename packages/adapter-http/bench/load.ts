/**
 * What the HTTP benches share besides servers (support.ts): one keep-alive request, a fixed
 * concurrency of workers for a while, and the figures of several runs.
 */
import { Agent, request } from "node:http"

/** One request: its status (0 when it failed on the wire). */
export const send = (
  agent: Agent,
  url: string,
  method: string,
  headers: Record<string, string | number>,
  body: string | undefined
): Promise<number> =>
  new Promise((resolve, reject) => {
    const all = { ...headers }
    if (body !== undefined) all["content-length"] = Buffer.byteLength(body)
    const req = request(url, { method, agent, headers: all }, (res) => {
      res.resume()
      res.on("end", () => resolve(res.statusCode ?? 0))
    })
    req.on("error", reject)
    req.end(body)
  })

/** A keep-alive agent for `concurrency` workers. */
export const keepAlive = (concurrency: number) => new Agent({ keepAlive: true, maxSockets: concurrency })

/** One run: raw latencies, errors (non-200) and elapsed seconds. */
export interface Run {
  readonly latencies: Array<number>
  readonly errors: number
  readonly elapsed: number
}

/** Load from `concurrency` workers for `durationMs`, each sending `one(n)` for the n-th request. */
export const load = async (concurrency: number, durationMs: number, one: (n: number) => Promise<number>): Promise<Run> => {
  const latencies: Array<number> = []
  let errors = 0
  let n = 0
  const end = performance.now() + durationMs
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now()
      const status = await one(n++).catch(() => 0)
      latencies.push(performance.now() - t0)
      if (status !== 200) errors++
    }
  }))
  return { latencies, errors, elapsed: (performance.now() - started) / 1000 }
}

/** Figures over runs. */
export interface Result {
  readonly requests: number
  readonly errors: number
  readonly rps: number
  readonly p50: number
  readonly p99: number
}

/** Figures over several runs of one server (requests over summed time, percentiles over all). */
export const summarize = (runs: ReadonlyArray<Run>): Result => {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const elapsed = runs.reduce((a, r) => a + r.elapsed, 0)
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN
  return {
    requests: latencies.length,
    errors: runs.reduce((a, r) => a + r.errors, 0),
    rps: latencies.length / elapsed,
    p50: q(0.5),
    p99: q(0.99)
  }
}

/** One line of figures. */
export const row = (call: string, name: string, r: Result) =>
  `${call.padEnd(15)} ${name.padEnd(30)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   ` +
  `p99 ${r.p99.toFixed(2).padStart(7)} ms   (${r.requests} requests, ${r.errors} errors)`
