/**
 * Process and machine figures for `npm run bench:fleet` (Linux /proc): CPU % of a process from
 * `utime + stime` in /proc/<pid>/stat (100 % = one core busy), its RSS from /proc/<pid>/status,
 * the machine's busy share from /proc/stat, and what the machine is.
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import * as os from "node:os"

const clockTicks = (() => {
  try {
    const n = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim())
    return n > 0 ? n : 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used so far, or undefined when it is gone. */
export const cpuSeconds = (pid: number): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return (Number(fields[11]) + Number(fields[12])) / clockTicks // fields 14 and 15 of the line
  } catch {
    return undefined
  }
}

/** Resident memory of a process in MiB, or undefined when it is gone. */
export const rssMiB = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m === null ? undefined : Number(m[1]) / 1024
  } catch {
    return undefined
  }
}

/** Busy and total jiffies of the whole machine (all cores) from /proc/stat. */
const machineJiffies = (): { readonly busy: number; readonly total: number } | undefined => {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!
    const v = line.trim().split(/\s+/).slice(1).map(Number)
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0)
    const idle = (v[3] ?? 0) + (v[4] ?? 0)
    return { busy: total - idle, total }
  } catch {
    return undefined
  }
}

/** The pid of the first of `names` that runs (`pidof`; the oldest such process), or undefined. */
export const pidOf = (...names: ReadonlyArray<string>): number | undefined => {
  for (const name of names) {
    try {
      const out = execFileSync("pidof", [name], { encoding: "utf8" }).trim()
      // pidof lists the newest first: take the oldest, the long-running server (not a test instance started beside it).
      if (out.length > 0) return Number(out.split(/\s+/).at(-1))
    } catch {
      // not running under this name
    }
  }
  return undefined
}

/** One second of one process: CPU % over the second (100 = one core) and RSS at its end. */
export interface ProcSample {
  /** ms (performance.now()) at the end of the second. */
  readonly t: number
  readonly cpu: number
  readonly rss: number
}

/** Samples one process every `sample()` call (the caller ticks it each second). */
export class ProcSampler {
  readonly samples: Array<ProcSample> = []
  private last: { readonly t: number; readonly cpu: number } | undefined
  gone = false

  constructor(readonly name: string, readonly pid: number) {
    const cpu = cpuSeconds(pid)
    if (cpu !== undefined) this.last = { t: performance.now(), cpu }
  }

  sample(): ProcSample | undefined {
    const t = performance.now()
    const cpu = cpuSeconds(this.pid)
    const rss = rssMiB(this.pid)
    if (cpu === undefined || rss === undefined) {
      this.gone = true
      return undefined
    }
    const prev = this.last
    this.last = { t, cpu }
    if (prev === undefined || t <= prev.t) return undefined
    const s = { t, cpu: ((cpu - prev.cpu) / ((t - prev.t) / 1000)) * 100, rss }
    this.samples.push(s)
    return s
  }

  /** Average and max CPU %, max and last RSS of the samples that end in (from, to]. */
  summary(from: number, to: number): ProcSummary {
    const s = this.samples.filter((x) => x.t > from && x.t <= to)
    return summarize(this.name, this.pid, s)
  }
}

/** What one process did over the measured window. */
export interface ProcSummary {
  readonly name: string
  readonly pid: number
  readonly seconds: number
  readonly cpuAvg: number
  readonly cpuMax: number
  readonly rssMaxMiB: number
  readonly rssEndMiB: number
}

const summarize = (name: string, pid: number, s: ReadonlyArray<ProcSample>): ProcSummary => ({
  name,
  pid,
  seconds: s.length,
  cpuAvg: s.length === 0 ? NaN : s.reduce((a, x) => a + x.cpu, 0) / s.length,
  cpuMax: s.reduce((a, x) => Math.max(a, x.cpu), s.length === 0 ? NaN : 0),
  rssMaxMiB: s.reduce((a, x) => Math.max(a, x.rss), s.length === 0 ? NaN : 0),
  rssEndMiB: s.length === 0 ? NaN : s[s.length - 1]!.rss
})

/** The busy share of the whole machine (100 % = every core busy), sampled like a process. */
export class MachineSampler {
  readonly samples: Array<{ readonly t: number; readonly busy: number }> = []
  private last = machineJiffies()

  sample(): void {
    const now = machineJiffies()
    const prev = this.last
    this.last = now
    if (now === undefined || prev === undefined || now.total <= prev.total) return
    this.samples.push({ t: performance.now(), busy: ((now.busy - prev.busy) / (now.total - prev.total)) * 100 })
  }

  /** Average and max busy % of the samples in (from, to]. */
  summary(from: number, to: number): { readonly busyAvg: number; readonly busyMax: number } {
    const s = this.samples.filter((x) => x.t > from && x.t <= to)
    return {
      busyAvg: s.length === 0 ? NaN : s.reduce((a, x) => a + x.busy, 0) / s.length,
      busyMax: s.reduce((a, x) => Math.max(a, x.busy), s.length === 0 ? NaN : 0)
    }
  }
}

/** The machine: CPU model, cores, RAM, kernel, Node. */
export interface Machine {
  readonly cpuModel: string
  readonly cores: number
  readonly ramGiB: number
  readonly kernel: string
  readonly node: string
  readonly hostname: string
}

/** What this machine is. */
export const machine = (): Machine => {
  let cpuModel = os.cpus()[0]?.model ?? "unknown"
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))
    if (m !== null) cpuModel = m[1]!.trim()
  } catch {
    // os.cpus() it is
  }
  return {
    cpuModel,
    cores: os.availableParallelism(),
    ramGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    hostname: os.hostname()
  }
}
