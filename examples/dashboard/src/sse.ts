/**
 * The event stream over `fetch`: `EventSource` cannot send `Authorization`, and the server reads
 * the tenant token only from that header (a token never goes into a URL). A small parser of the
 * `text/event-stream` format, and a connection that reconnects with backoff and resumes with
 * `Last-Event-ID`.
 */

export interface SseMessage {
  readonly id: string | undefined
  readonly event: string
  readonly data: string
}

/**
 * An incremental `text/event-stream` parser (WHATWG rules: lines end with CRLF, LF or CR; a blank
 * line dispatches; `:` starts a comment; one optional space after the colon is dropped).
 */
export class SseParser {
  private buffer = ""
  private data: Array<string> = []
  private event = ""
  private id: string | undefined = undefined
  /** The last `retry:` value. */
  retryMillis: number | undefined = undefined
  constructor(
    private readonly onMessage: (message: SseMessage) => void,
    private readonly onComment: (text: string) => void = () => {}
  ) {}

  push(chunk: string): void {
    this.buffer += chunk
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.buffer)
      if (match === null) return
      // A lone CR at the very end may be the first half of CRLF: wait for more.
      if (match[0] === "\r" && match.index === this.buffer.length - 1) return
      const line = this.buffer.slice(0, match.index)
      this.buffer = this.buffer.slice(match.index + match[0].length)
      this.line(line)
    }
  }

  private line(line: string): void {
    if (line === "") {
      if (this.data.length > 0) this.onMessage({ id: this.id, event: this.event === "" ? "message" : this.event, data: this.data.join("\n") })
      this.data = []
      this.event = ""
      return
    }
    if (line.startsWith(":")) {
      this.onComment(line.slice(1).trimStart())
      return
    }
    const colon = line.indexOf(":")
    const field = colon === -1 ? line : line.slice(0, colon)
    let value = colon === -1 ? "" : line.slice(colon + 1)
    if (value.startsWith(" ")) value = value.slice(1)
    if (field === "data") this.data.push(value)
    else if (field === "event") this.event = value
    else if (field === "id" && !value.includes("\u0000")) this.id = value
    else if (field === "retry" && /^\d+$/.test(value)) this.retryMillis = Number(value)
  }
}

export type ConnectionState = "connecting" | "open" | "reconnecting" | "unauthorized" | "closed"

export interface StreamOptions {
  readonly url: string
  readonly token: string
  /** Resume after this event id (the `Last-Event-ID` header). */
  readonly lastEventId?: number | undefined
  readonly onEvent: (message: SseMessage) => void
  readonly onState: (state: ConnectionState, detail?: string) => void
  /** The stream is open; `after` is where the server starts (from its `: connected, after id N` comment). */
  readonly onOpen?: (after: number | undefined) => void
  /** Backoff cap (default 15 s). */
  readonly maxDelayMillis?: number
}

/** Opens the stream and keeps it open until `close()` is called. */
export const openStream = (options: StreamOptions): { close: () => void; lastEventId: () => number | undefined } => {
  let closed = false
  let controller: AbortController | null = null
  let lastEventId = options.lastEventId
  let attempt = 0
  let timer: ReturnType<typeof setTimeout> | undefined

  const run = async (): Promise<void> => {
    if (closed) return
    options.onState(attempt === 0 ? "connecting" : "reconnecting")
    controller = new AbortController()
    let retry = 2000
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${options.token}`, accept: "text/event-stream" }
      if (lastEventId !== undefined) headers["last-event-id"] = String(lastEventId)
      const response = await fetch(options.url, { headers, signal: controller.signal, cache: "no-store" })
      if (response.status === 401 || response.status === 403) {
        options.onState("unauthorized", `HTTP ${response.status}`)
        return
      }
      if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`)
      attempt = 0
      options.onState("open")
      let opened = false
      const parser = new SseParser(
        (message) => {
          if (message.id !== undefined && /^\d+$/.test(message.id)) lastEventId = Number(message.id)
          options.onEvent(message)
        },
        (comment) => {
          const m = /^connected, after id (\d+)/.exec(comment)
          if (m !== null && !opened) {
            opened = true
            if (lastEventId === undefined) lastEventId = Number(m[1])
            options.onOpen?.(Number(m[1]))
          }
        }
      )
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        parser.push(value)
        if (parser.retryMillis !== undefined) retry = parser.retryMillis
      }
      if (!opened) options.onOpen?.(undefined)
    } catch (e) {
      if (closed) return
      options.onState("reconnecting", e instanceof Error ? e.message : String(e))
    }
    if (closed) return
    // The server ended the stream (shutdown) or the network failed: back off and resume.
    attempt++
    const delay = Math.min(options.maxDelayMillis ?? 15_000, retry * 2 ** Math.min(attempt - 1, 4)) * (0.8 + Math.random() * 0.4)
    options.onState("reconnecting", `retrying in ${Math.round(delay / 100) / 10} s`)
    timer = setTimeout(() => void run(), delay)
  }

  void run()
  return {
    close: () => {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      controller?.abort()
      options.onState("closed")
    },
    lastEventId: () => lastEventId
  }
}
