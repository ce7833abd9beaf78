/**
 * The bridge between `node:http` and a Fetch-style handler (`(Request) => Promise<Response>`):
 * what a host server needs to call `WebHandler` without Effect. Streams both ways, so the SSE
 * stream works, and aborts the request when the client goes away.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Readable } from "node:stream"

/** A Fetch `Request` for a Node request; `signal` aborts when the client disconnects. */
export const toRequest = (req: IncomingMessage, res: ServerResponse): Request => {
  const controller = new AbortController()
  res.once("close", () => controller.abort())
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD"
  const init: RequestInit & { duplex?: "half" } = {
    method: req.method ?? "GET",
    headers,
    signal: controller.signal,
    ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {})
  }
  return new Request(new URL(req.url ?? "/", `http://${req.headers.host ?? "localhost"}`), init)
}

/** Writes a Fetch `Response` to a Node response, streaming its body. */
export const writeResponse = async (response: Response, res: ServerResponse): Promise<void> => {
  const headers: Record<string, string | Array<string>> = {}
  response.headers.forEach((value, name) => {
    const prior = headers[name]
    headers[name] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value]
  })
  res.writeHead(response.status, headers)
  if (response.body === null) return void res.end()
  const reader = response.body.getReader()
  res.once("close", () => void reader.cancel().catch(() => undefined))
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      res.write(value)
    }
  } catch {
    // the client went away mid-stream
  } finally {
    res.end()
  }
}
