/**
 * What `npm run chaos` (chaos.ts) is built from: a private MariaDB server it may crash and
 * restart without disturbing anybody else's, example-server processes it SIGKILLs and restarts on
 * fixed ports, and a round-robin HTTP client over those servers that retries the way an agent
 * does (same `X-Request-ID` on every attempt of a POST).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { createWriteStream, mkdirSync, rmSync, type WriteStream } from "node:fs"
import { Agent, request } from "node:http"
import * as net from "node:net"
import * as path from "node:path"
import * as mysql from "mysql2/promise"

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** A TCP port nobody listens on right now (taken and released at once). */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once("error", reject)
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
  })

const run = (file: string, args: ReadonlyArray<string>): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(file, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} failed: ${error.message}\n${stdout}\n${stderr}`)) : resolve(stdout)
    )
  )

// ---------------------------------------------------------------------------------------------
// the private MariaDB
// ---------------------------------------------------------------------------------------------

/**
 * A MariaDB server of our own: its data directory in a temporary folder, its own port and socket.
 * `kill()` is a crash (SIGKILL: InnoDB recovers on the next start), `stop()` a clean shutdown.
 */
export class PrivateMariaDb {
  child: ChildProcess | undefined
  port = 0
  readonly datadir: string
  readonly socket: string
  readonly logFile: string

  constructor(readonly dir: string) {
    this.datadir = path.join(dir, "data")
    this.socket = path.join(dir, "mysqld.sock")
    this.logFile = path.join(dir, "mariadbd.err")
  }

  /** The URL of a database on it. */
  url(database = ""): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`
  }

  /** Creates the data directory (`mariadb-install-db`). */
  async install(): Promise<void> {
    mkdirSync(this.dir, { recursive: true })
    const asRoot = process.getuid?.() === 0
    await run("mariadb-install-db", [
      "--no-defaults",
      `--datadir=${this.datadir}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...(asRoot ? ["--user=root"] : [])
    ])
    this.port = await freePort()
  }

  /** Starts mariadbd on the data directory and waits until it takes connections. */
  async start(timeoutMs = 60_000): Promise<void> {
    const asRoot = process.getuid?.() === 0
    const child = spawn("/usr/sbin/mariadbd", [
      "--no-defaults",
      `--datadir=${this.datadir}`,
      `--port=${this.port}`,
      `--socket=${this.socket}`,
      "--bind-address=127.0.0.1",
      `--pid-file=${path.join(this.dir, "mariadbd.pid")}`,
      `--log-error=${this.logFile}`,
      "--skip-name-resolve",
      "--max-connections=500",
      "--innodb-buffer-pool-size=256M",
      // the defaults, said out loud: an acknowledged commit is on disk
      "--innodb-flush-log-at-trx-commit=1",
      ...(asRoot ? ["--user=root"] : [])
    ], { stdio: "ignore", detached: true })
    this.child = child
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`mariadbd exited at start; see ${this.logFile}`)
      try {
        const c = await mysql.createConnection({ uri: this.url(), connectTimeout: 1000 })
        await c.end()
        return
      } catch {
        if (Date.now() > deadline) throw new Error(`mariadbd did not take connections within ${timeoutMs} ms; see ${this.logFile}`)
        await Promise.race([sleep(200), exited])
      }
    }
  }

  private async waitExit(signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    child.kill(signal)
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
    await exited
    clearTimeout(timer)
  }

  /** A crash: SIGKILL, nothing flushed beyond what InnoDB already made durable. */
  kill(): Promise<void> {
    return this.waitExit("SIGKILL", 10_000)
  }

  /** A clean shutdown (SIGTERM; SIGKILL after 60 s). */
  stop(): Promise<void> {
    return this.waitExit("SIGTERM", 60_000)
  }

  /** Runs one statement as root. */
  async admin(sql: string): Promise<void> {
    const c = await mysql.createConnection({ uri: this.url() })
    try {
      await c.query(sql)
    } finally {
      await c.end()
    }
  }

  /** Stops the server (if running) and deletes its folder. */
  async destroy(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------------------------------------
// server processes
// ---------------------------------------------------------------------------------------------

/**
 * One example-server slot (`A`, `B`, `C`): a fixed port, restarted in place after every kill.
 * Each generation's output goes to its own log file.
 */
export class ServerSlot {
  child: ChildProcess | undefined
  generation = 0
  /** true from a successful start until a kill. */
  up = false
  private log: WriteStream | undefined
  private stopping = false
  /** Called when the process exits without being killed by us. */
  onUnexpectedExit: (slot: ServerSlot, code: number | null, signal: NodeJS.Signals | null) => void = () => {}

  constructor(
    readonly name: string,
    readonly port: number,
    readonly env: Record<string, string>,
    readonly root: string,
    readonly logDir: string
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Starts a new generation and waits for `listening on`; rejects when it exits first or takes too long. */
  start(timeoutMs = 120_000): Promise<number> {
    this.generation++
    const started = performance.now()
    this.log?.end()
    mkdirSync(this.logDir, { recursive: true })
    const log = createWriteStream(path.join(this.logDir, `server-${this.name}-${this.generation}.log`))
    this.log = log
    this.stopping = false
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", "examples/server/src/main.ts"], {
      cwd: this.root,
      env: {
        ...process.env,
        ...this.env,
        PORT: String(this.port),
        HOST: "127.0.0.1",
        SPOTFLEET_JOB_HOLDER: `${this.name}-${this.generation}`
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true
    })
    this.child = child
    let written = 0
    const limit = 4 * 1024 * 1024
    let head = ""
    return new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        if (settled) return
        settled = true
        this.kill().finally(() => reject(new Error(`server ${this.name} did not start within ${timeoutMs} ms:\n${head.slice(-2000)}`)))
      }, timeoutMs)
      const onData = (d: Buffer) => {
        if (written < limit) {
          log.write(d)
          written += d.length
        }
        if (!settled) {
          head += d.toString()
          if (/listening on http:\/\/\S+/.test(head)) {
            settled = true
            clearTimeout(timer)
            this.up = true
            resolve(performance.now() - started)
          }
        }
      }
      child.stdout!.on("data", onData)
      child.stderr!.on("data", onData)
      child.once("exit", (code, signal) => {
        this.up = false
        log.write(`\n[chaos] process exited: code ${code}, signal ${signal}\n`)
        if (!settled) {
          settled = true
          clearTimeout(timer)
          reject(new Error(`server ${this.name} exited at start (code ${code}, signal ${signal}):\n${head.slice(-2000)}`))
        } else if (!this.stopping) {
          this.onUnexpectedExit(this, code, signal)
        }
      })
    })
  }

  /** Starts, retrying every 2 s (the database may be down) until `timeoutMs` is over. */
  async startRetrying(timeoutMs = 180_000): Promise<{ readonly millis: number; readonly attempts: number }> {
    const deadline = Date.now() + timeoutMs
    let attempts = 0
    const t0 = performance.now()
    for (;;) {
      attempts++
      try {
        await this.start()
        return { millis: performance.now() - t0, attempts }
      } catch (e) {
        if (Date.now() > deadline) throw e
        await sleep(2000)
      }
    }
  }

  private signalGroup(signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
    this.stopping = true
    this.up = false
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
    try {
      // The process group we started (detached): the server and anything it may have forked.
      process.kill(-child.pid!, signal)
    } catch {
      child.kill(signal)
    }
    return exited
  }

  /** SIGKILL: no drain, no lease release, connections cut. */
  kill(): Promise<void> {
    return this.signalGroup("SIGKILL")
  }

  /** SIGTERM (graceful drain), SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 30_000): Promise<void> {
    const timer = setTimeout(() => void this.kill(), timeoutMs)
    await this.signalGroup("SIGTERM")
    clearTimeout(timer)
    this.log?.end()
  }
}

// ---------------------------------------------------------------------------------------------
// the round-robin client
// ---------------------------------------------------------------------------------------------

/** One answer (status and body), or a transport error (no answer). */
export type Outcome =
  | { readonly kind: "answer"; readonly status: number; readonly body: any; readonly server: string }
  | { readonly kind: "transport"; readonly code: string; readonly server: string }

/** Counts per endpoint. */
export interface EndpointCounts {
  /** Logical calls (one per request id / per poll). */
  calls: number
  /** HTTP attempts (calls + retries). */
  attempts: number
  retries: number
  /** Calls answered 2xx. */
  acked: number
  /** Calls that ended with a final 4xx (by `status code`). */
  rejected: Record<string, number>
  /** Calls given up on after retrying for too long. */
  gaveUp: number
  /** Failed attempts by kind (`transport ECONNREFUSED`, `503 StoreError`, …). */
  failures: Record<string, number>
}

const bump = (m: Record<string, number>, k: string) => {
  m[k] = (m[k] ?? 0) + 1
}

/**
 * Round robin over the servers: each attempt goes to the next server; one that refused or cut a
 * connection is skipped for a second (a passive health check, as a load balancer does) unless
 * every server is.
 */
export class RoundRobinClient {
  private next = 0
  private readonly suspectUntil: Array<number>
  private readonly agents: Array<Agent>
  readonly counts = new Map<string, EndpointCounts>()
  inFlight = 0

  constructor(readonly servers: ReadonlyArray<{ readonly name: string; readonly url: string }>, readonly timeoutMs: number) {
    this.suspectUntil = servers.map(() => 0)
    this.agents = servers.map(() => new Agent({ keepAlive: true, maxSockets: 64 }))
  }

  countsOf(endpoint: string): EndpointCounts {
    let c = this.counts.get(endpoint)
    if (c === undefined) {
      c = { calls: 0, attempts: 0, retries: 0, acked: 0, rejected: {}, gaveUp: 0, failures: {} }
      this.counts.set(endpoint, c)
    }
    return c
  }

  private pick(): number {
    const now = Date.now()
    for (let k = 0; k < this.servers.length; k++) {
      const i = (this.next + k) % this.servers.length
      if (this.suspectUntil[i]! <= now) {
        this.next = i + 1
        return i
      }
    }
    const i = this.next % this.servers.length
    this.next = i + 1
    return i
  }

  /** One attempt on the next server. */
  attempt(method: string, p: string, body: unknown, headers: Record<string, string>): Promise<Outcome> {
    const i = this.pick()
    const server = this.servers[i]!
    const text = body === undefined ? undefined : JSON.stringify(body)
    this.inFlight++
    return new Promise<Outcome>((resolve) => {
      let done = false
      const finish = (o: Outcome) => {
        if (done) return
        done = true
        this.inFlight--
        if (o.kind === "transport") this.suspectUntil[i] = Date.now() + 1000
        resolve(o)
      }
      const req = request(`${server.url}${p}`, {
        method,
        agent: this.agents[i],
        headers: {
          ...headers,
          ...(text === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
        }
      }, (res) => {
        let data = ""
        res.setEncoding("utf8")
        res.on("data", (c: string) => (data += c))
        res.on("end", () => {
          let parsed: unknown
          try {
            parsed = data === "" ? undefined : JSON.parse(data)
          } catch {
            parsed = data
          }
          finish({ kind: "answer", status: res.statusCode ?? 0, body: parsed, server: server.name })
        })
        res.on("error", (e: NodeJS.ErrnoException) => finish({ kind: "transport", code: e.code ?? e.message, server: server.name }))
      })
      req.setTimeout(this.timeoutMs, () => req.destroy(Object.assign(new Error("timeout"), { code: "TIMEOUT" })))
      req.on("error", (e: NodeJS.ErrnoException) => finish({ kind: "transport", code: e.code ?? e.message, server: server.name }))
      req.end(text)
    })
  }

  /**
   * A call, retried as an agent retries: after a transport error, a 5xx, a 429 or a 409 that says
   * "try again" (a twin request still in flight, optimistic retries used up), with the same
   * headers — so a POST keeps its `X-Request-ID` and is answered once. Gives up after
   * `giveUpMs` (answers `undefined`). A 2xx or another 4xx is the final answer.
   */
  async call(
    endpoint: string,
    method: string,
    p: string,
    body: unknown,
    headers: Record<string, string>,
    options: { readonly giveUpMs: number; readonly retry?: boolean; readonly stop?: () => boolean }
  ): Promise<{ readonly status: number; readonly body: any; readonly attempts: number } | undefined> {
    const counts = this.countsOf(endpoint)
    counts.calls++
    const t0 = Date.now()
    let backoff = 100
    for (let attempt = 1; ; attempt++) {
      counts.attempts++
      if (attempt > 1) counts.retries++
      const o = await this.attempt(method, p, body, headers)
      let failure: string | undefined
      if (o.kind === "transport") failure = `transport ${o.code}`
      else if (o.status >= 500 || o.status === 429) failure = `${o.status} ${o.body?.error?.code ?? ""}`.trim()
      else if (o.status === 409 && (o.body?.error?.code === "DuplicateKey" || o.body?.error?.code === "VersionConflict")) {
        failure = `409 ${o.body.error.code}`
      }
      if (failure === undefined && o.kind === "answer") {
        if (o.status >= 200 && o.status < 300) counts.acked++
        else bump(counts.rejected, `${o.status} ${o.body?.error?.code ?? ""}`.trim())
        return { status: o.status, body: o.body, attempts: attempt }
      }
      bump(counts.failures, failure!)
      if (options.retry === false || Date.now() - t0 > options.giveUpMs || options.stop?.() === true) {
        counts.gaveUp++
        return undefined
      }
      // A refused connection goes straight to the next server; anything else backs off.
      await sleep(o.kind === "transport" ? 50 : backoff)
      if (o.kind !== "transport") backoff = Math.min(2000, backoff * 2)
    }
  }

  destroy(): void {
    for (const a of this.agents) a.destroy()
  }
}
