import { describe, expect, it } from "vitest"
import { type SseMessage, SseParser } from "../src/sse.js"

describe("SseParser", () => {
  it("splits events across chunk boundaries, keeps ids, types, comments and retry", () => {
    const messages: Array<SseMessage> = []
    const comments: Array<string> = []
    const parser = new SseParser((m) => messages.push(m), (c) => comments.push(c))
    const body = "retry: 2000\n: connected, after id 41\n\nid: 42\nevent: PriceReported\ndata: {\"a\":\ndata: 1}\n\n: keep-alive\r\n\r\nid: 43\r\ndata:x\r\n\r\n"
    for (let i = 0; i < body.length; i += 5) parser.push(body.slice(i, i + 5))
    expect(parser.retryMillis).toBe(2000)
    expect(comments).toEqual(["connected, after id 41", "keep-alive"])
    expect(messages).toEqual([
      { id: "42", event: "PriceReported", data: "{\"a\":\n1}" },
      { id: "43", event: "message", data: "x" }
    ])
  })

  it("does not dispatch an event without data, and waits for the LF of a split CRLF", () => {
    const messages: Array<SseMessage> = []
    const parser = new SseParser((m) => messages.push(m))
    parser.push("event: x\n\n")
    expect(messages).toEqual([])
    parser.push("data: y\r")
    parser.push("\n\r")
    parser.push("\n")
    expect(messages).toEqual([{ id: undefined, event: "message", data: "y" }])
  })
})
