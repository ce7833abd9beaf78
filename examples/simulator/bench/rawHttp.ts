/**
 * A minimal HTTP/1.1 client for `npm run bench:fleet`: a fixed pool of keep-alive TCP connections,
 * one request at a time on each, a FIFO queue in front of them, responses with `Content-Length`
 * or chunked bodies. It exists because the generator shares 2 cores with the server and MariaDB:
 * `node:http` (and undici) cost about 110–150 µs of CPU per request there, this about a fifth of
 * that, and the `node:http` agent's queue (`Array#shift` per request) goes quadratic once requests
 * pile up. Not a general client: no redirects, no TLS, no `Expect`, no pipelining, no upgrades.
 */
import { connect, type Socket } from "node:net"

/** Called once per request: an error (transport or timeout, `code` set) or the status and body. */
export type Callback = (error: (Error & { code?: string }) | undefined, status: number, body: string) => void

interface Pending {
  readonly head: string
  readonly body: string | undefined
  readonly t0: number
  readonly cb: Callback
}

const crlf2 = Buffer.from("\r\n\r\n")
const idleLimitMs = 4000 // below node:http's default keepAliveTimeout (5 s): never reuse a socket the server may be closing

const failure = (code: string, message = code): Error & { code: string } => Object.assign(new Error(message), { code })

class Connection {
  socket: Socket | undefined
  current: Pending | undefined
  lastUsed = 0
  private buf: Buffer | undefined
  private bodyStart = -1
  private status = 0
  private length = -1
  private chunked = false
  private close = false

  constructor(private readonly pool: RawPool) {}

  send(p: Pending, now: number): void {
    if (this.socket !== undefined && now - this.lastUsed > idleLimitMs) this.reset()
    if (this.socket === undefined) this.open()
    this.current = p
    this.lastUsed = now
    this.socket!.write(p.body === undefined ? p.head : p.head + p.body)
  }

  private open(): void {
    const socket = connect({ host: this.pool.host, port: this.pool.port })
    socket.setNoDelay(true)
    socket.on("data", (d: Buffer) => this.onData(d))
    socket.on("error", (e: Error & { code?: string }) => this.fail(failure(e.code ?? "ESOCKET", e.message)))
    socket.on("close", () => this.fail(failure("ECONNRESET", "connection closed")))
    this.socket = socket
  }

  /** Drops the socket (without failing the current request: the caller decides). */
  reset(): void {
    const s = this.socket
    this.socket = undefined
    this.buf = undefined
    this.bodyStart = -1
    if (s !== undefined) {
      s.removeAllListeners("close")
      s.removeAllListeners("data")
      s.on("error", () => {})
      s.destroy()
    }
  }

  /** Fails the current request (if any) and drops the socket. */
  fail(error: Error & { code?: string }): void {
    const p = this.current
    this.current = undefined
    this.reset()
    if (p !== undefined) {
      p.cb(error, 0, "")
      this.pool.idle(this)
    }
  }

  private onData(d: Buffer): void {
    if (this.current === undefined) return this.reset() // nothing was asked on this connection
    this.buf = this.buf === undefined ? d : Buffer.concat([this.buf, d])
    const buf = this.buf
    if (this.bodyStart < 0) {
      const end = buf.indexOf(crlf2)
      if (end < 0) return
      const head = buf.toString("latin1", 0, end)
      this.status = Number(head.slice(9, 12))
      const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head)
      this.length = cl === null ? -1 : Number(cl[1])
      this.chunked = cl === null && /\r\ntransfer-encoding:[^\r]*chunked/i.test(head)
      this.close = /\r\nconnection:[ \t]*close/i.test(head)
      this.bodyStart = end + 4
      if (!this.chunked && this.length < 0) this.length = this.status === 204 || this.status === 304 ? 0 : -2
    }
    let body: string
    if (this.length >= 0) {
      if (buf.length < this.bodyStart + this.length) return
      body = buf.toString("utf8", this.bodyStart, this.bodyStart + this.length)
    } else if (this.chunked) {
      const parts: Array<Buffer> = []
      let pos = this.bodyStart
      for (;;) {
        const eol = buf.indexOf("\r\n", pos)
        if (eol < 0) return
        const size = parseInt(buf.toString("latin1", pos, eol), 16)
        if (!(size >= 0)) return this.fail(failure("EPARSE", "bad chunk size"))
        if (size === 0) {
          if (buf.indexOf(crlf2, eol) !== eol) return // trailers, or the final CRLF not yet here
          break
        }
        if (buf.length < eol + 2 + size + 2) return
        parts.push(buf.subarray(eol + 2, eol + 2 + size))
        pos = eol + 2 + size + 2
      }
      body = Buffer.concat(parts).toString("utf8")
    } else {
      return this.fail(failure("EPARSE", `response without length (status ${this.status})`))
    }
    const p = this.current
    this.current = undefined
    this.buf = undefined
    this.bodyStart = -1
    if (this.close) this.reset()
    if (p !== undefined) p.cb(undefined, this.status, body)
    this.pool.idle(this)
  }
}

/** A pool of `size` keep-alive connections to one host and port. */
export class RawPool {
  private readonly connections: Array<Connection> = []
  private readonly free: Array<Connection> = []
  private queue: Array<Pending | undefined> = []
  private head = 0
  private destroyed = false

  constructor(readonly host: string, readonly port: number, readonly size: number) {
    for (let i = 0; i < size; i++) {
      const c = new Connection(this)
      this.connections.push(c)
      this.free.push(c)
    }
  }

  /** Requests waiting for a free connection. */
  get queued(): number {
    return this.queue.length - this.head
  }

  /**
   * Sends `method path` with pre-formatted header lines (`name: value\r\n` each) and an optional
   * body; `t0` (performance.now()) is when the request was made, for timeouts.
   */
  request(method: string, path: string, headers: string, body: string | undefined, t0: number, cb: Callback): void {
    if (this.destroyed) return cb(failure("EDESTROYED", "pool destroyed"), 0, "")
    const head =
      `${method} ${path} HTTP/1.1\r\nhost: ${this.host}:${this.port}\r\n${headers}` +
      (body === undefined ? "\r\n" : `content-length: ${Buffer.byteLength(body)}\r\n\r\n`)
    const p: Pending = { head, body, t0, cb }
    const c = this.free.pop()
    if (c !== undefined) c.send(p, t0)
    else this.queue.push(p)
  }

  /** A connection is free: give it the next queued request. */
  idle(c: Connection): void {
    if (this.destroyed) return
    if (this.head < this.queue.length) {
      const p = this.queue[this.head]!
      this.queue[this.head++] = undefined
      if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head)
        this.head = 0
      }
      c.send(p, performance.now())
    } else {
      this.free.push(c)
    }
  }

  /** Fails every request made before `now - timeoutMs` with `TIMEOUT` (in flight or still queued). */
  sweep(now: number, timeoutMs: number): void {
    const limit = now - timeoutMs
    for (const c of this.connections) {
      if (c.current !== undefined && c.current.t0 < limit) c.fail(failure("TIMEOUT", "timed out"))
    }
    while (this.head < this.queue.length && this.queue[this.head]!.t0 < limit) {
      const p = this.queue[this.head]!
      this.queue[this.head++] = undefined
      p.cb(failure("TIMEOUT", "timed out while queued"), 0, "")
    }
  }

  /** Closes every connection; requests still open fail with `EDESTROYED`. */
  destroy(): void {
    this.destroyed = true
    for (const c of this.connections) c.fail(failure("EDESTROYED", "pool destroyed"))
    for (let i = this.head; i < this.queue.length; i++) this.queue[i]!.cb(failure("EDESTROYED", "pool destroyed"), 0, "")
    this.queue = []
    this.head = 0
  }
}
