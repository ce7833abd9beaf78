import type { IncomingMessage } from "node:http"

/** What reading a body came to: its bytes, or why there are none. */
export type BodyRead = Buffer | "too-large" | "unreadable"

/**
 * Reads a `node:http` request body of at most `maxBytes`. Past the limit it answers
 * `"too-large"` at once but keeps reading (and dropping) the rest, so the connection stays in
 * step and the client can read the 413 — destroying the stream instead resets the connection
 * under a client still sending, which then never sees an answer.
 */
export const readBody = (request: IncomingMessage, maxBytes: number, done: (body: BodyRead) => void): void => {
  const chunks: Array<Buffer> = []
  let size = 0
  let finished = false
  const finish = (body: BodyRead) => {
    if (finished) return
    finished = true
    done(body)
  }
  request.on("data", (chunk: Buffer) => {
    if (finished) return
    size += chunk.length
    if (size > maxBytes) {
      chunks.length = 0
      finish("too-large")
    } else chunks.push(chunk)
  })
  request.on("end", () => finish(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
  request.on("error", () => finish("unreadable"))
  request.on("aborted", () => finish("unreadable"))
}
