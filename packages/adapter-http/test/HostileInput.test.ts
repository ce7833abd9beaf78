/**
 * Hostile input is answered, at once and with a 4xx, on both ways in (the agent fast path and
 * HttpApi), before anything is parsed or written: bodies nested 5,000 deep, lone UTF-16
 * surrogates, bytes that are not UTF-8, content types that are not JSON (multipart included),
 * chunked bodies over the limit, slow headers and slow bodies. Log lines carry request fields
 * escaped. Every case is sent both ways; the event log must not move.
 */
import { request as httpRequest } from "node:http"
import { assert, layer } from "@effect/vitest"
import { EventLog, MemoryStore } from "@spotfleet/engine"
import { Effect } from "effect"
import { vi } from "vitest"
import { escapeLogField } from "../src/internal/inputLimits.js"
import { call, createTenant, head, raw, serverLayer, TestServer, TestServing } from "./utils.js"

const pool = "t3.medium.us-east-1a"

/** A chunked upload of `totalBytes`: the status the client got (or the transport error). */
const chunkedUpload = (baseUrl: string, path: string, token: string, totalBytes: number) =>
  Effect.async<{ status: number; body: string } | { error: string }>((resume) => {
    const req = httpRequest(`${baseUrl}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}`, "transfer-encoding": "chunked" }
    }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (c) => (body += c))
      res.on("end", () => resume(Effect.succeed({ status: res.statusCode ?? 0, body })))
    })
    req.on("error", (e) => resume(Effect.succeed({ error: String(e) })))
    const chunk = Buffer.alloc(64 * 1024, "a")
    let sent = 0
    const pump = () => {
      while (sent < totalBytes) {
        sent += chunk.length
        if (!req.write(chunk)) return req.once("drain", pump)
      }
      req.end()
    }
    req.write("{\"prices\":\"")
    pump()
  })

const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth)
const nestedObject = (depth: number) => "{\"a\":".repeat(depth) + "1" + "}".repeat(depth)

layer(
  serverLayer(MemoryStore.layer, {
    maxBodyBytes: 64 * 1024,
    fastPath: true,
    serving: { headersTimeoutMillis: 1_000, requestTimeoutMillis: 1_500 }
  }),
  { timeout: "120 seconds", excludeTestServices: true }
)("hostile input", (it) => {
  const setup = Effect.gen(function*() {
    const tenant = yield* createTenant(`hostile-${crypto.randomUUID()}`)
    const reg = yield* call("POST", "/api/agents/register", { token: tenant.token, body: { logicalAgentId: "h-1", instanceId: "i-h-1", pool } })
    assert.strictEqual(reg.status, 200, reg.text)
    return { token: tenant.token, agentId: reg.body.agentId as string }
  })

  /** Runs `f` once through the fast path and once through HttpApi. */
  const bothWays = <A, E, R>(f: (way: string) => Effect.Effect<A, E, R>) =>
    Effect.gen(function*() {
      const state = yield* TestServing
      for (const fast of [true, false]) {
        state.fastPath = fast
        yield* f(fast ? "fast path" : "HttpApi")
      }
      state.fastPath = true
    })

  it.effect("a body nested 5,000 deep, a lone surrogate, bytes that are not UTF-8: 400 on every route family, nothing written", () =>
    Effect.gen(function*() {
      const { agentId, token } = yield* setup
      const log = yield* EventLog.EventLog
      const paths = [
        ["POST", "/api/agents/register"],
        ["POST", `/api/agents/${agentId}/heartbeat`],
        ["POST", `/api/agents/${agentId}/pricing-report`],
        ["POST", `/api/agents/${agentId}/termination-notice`],
        ["POST", `/api/agents/${agentId}/action-result`],
        ["POST", `/api/v5/agents/${agentId}/heartbeat`],
        ["PATCH", `/api/agents/${agentId}/config`],
        ["POST", `/api/agents/${agentId}/switch`],
        ["POST", "/api/admin/tenants"]
      ] as const
      const bodies: ReadonlyArray<readonly [string, Buffer, string]> = [
        ["5,000 deep (arrays)", Buffer.from(nested(5_000)), "InputLimit"],
        ["5,000 deep (objects)", Buffer.from(nestedObject(5_000)), "InputLimit"],
        ["lone high surrogate", Buffer.from(JSON.stringify({ logicalAgentId: "x", pool }).replace("}", ",\"instanceId\":\"i-\\ud800x\"}")), "MalformedBody"],
        ["lone low surrogate", Buffer.from("{\"inventory_snapshot\":{\"instances\":[{\"instance_id\":\"\\udc00\"}]}}"), "MalformedBody"],
        ["surrogate as CESU-8 bytes", Buffer.concat([Buffer.from("{\"instanceId\":\""), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("\"}")]), "MalformedBody"],
        ["not UTF-8", Buffer.concat([Buffer.from("{\"instanceId\":\""), Buffer.from([0xff, 0xfe]), Buffer.from("\"}")]), "MalformedBody"],
        ["10,001 items", Buffer.from(`[${"0,".repeat(10_000)}0]`), "InputLimit"]
      ]
      const { baseUrl } = yield* TestServer
      yield* bothWays((way) =>
        Effect.gen(function*() {
          for (const [method, path] of paths) {
            for (const [name, body, code] of bodies) {
              const before = yield* log.latestId
              const token_ = path.startsWith("/api/admin") ? "test-admin-token-0123456789" : token
              const answer = yield* raw(baseUrl, [head(method, path, { authorization: `Bearer ${token_}`, "content-type": "application/json" }, body), body])
              const what = `${way}: ${method} ${path} with ${name}`
              assert.notStrictEqual(answer, "no answer", what)
              if (answer === "no answer") continue
              assert.strictEqual(answer.status, 400, `${what}: ${answer.body.slice(0, 300)}`)
              const error = JSON.parse(answer.body).error
              assert.strictEqual(error.code, code, what)
              assert.strictEqual(error.details.field, "body", what)
              assert.isBelow(answer.body.length, 1_000, `${what}: the answer does not echo the body`)
              assert.strictEqual(yield* log.latestId, before, `${what}: nothing written`)
            }
          }
        })
      )
    }))

  it.effect("content types other than JSON: 415 at once (multipart included); the v5 agent's JSON GETs still work", () =>
    Effect.gen(function*() {
      const { agentId, token } = yield* setup
      const { baseUrl } = yield* TestServer
      const multipart = Buffer.from(
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\nContent-Type: application/json\r\n\r\n{}\r\n--XyZ--\r\n"
      )
      yield* bothWays((way) =>
        Effect.gen(function*() {
          for (const [path, contentType] of [
            [`/api/agents/${agentId}/heartbeat`, "multipart/form-data; boundary=XyZ"],
            [`/api/agents/${agentId}/pricing-report`, "text/plain"],
            ["/api/agents/register", "application/x-www-form-urlencoded"],
            [`/api/agents/${agentId}/action-result`, "multipart/form-data; boundary=XyZ"],
            [`/api/agents/${agentId}/heartbeat`, "application/vnd.api+json"]
          ] as const) {
            const answer = yield* raw(baseUrl, [head("POST", path, { authorization: `Bearer ${token}`, "content-type": contentType }, multipart), multipart], 2_000)
            const what = `${way}: POST ${path} as ${contentType}`
            assert.notStrictEqual(answer, "no answer", what)
            if (answer === "no answer") continue
            assert.strictEqual(answer.status, 415, `${what}: ${answer.body}`)
            assert.strictEqual(JSON.parse(answer.body).error.code, "UnsupportedMediaType", what)
            assert.isBelow(answer.millis, 1_000, what)
          }
          // The v5 agent sends Content-Type: application/json on its GETs, with no body.
          const poll = yield* call("GET", `/api/agents/${agentId}/commands/pending`, { token, headers: { "content-type": "application/json" } })
          assert.strictEqual(poll.status, 200, `${way}: ${poll.text}`)
          const shared = yield* call("GET", `/api/agents/${agentId}/pending-commands`, { token, headers: { "content-type": "application/json" } })
          assert.strictEqual(shared.status, 200, `${way}: ${shared.text}`)
          const charset = yield* call("POST", `/api/agents/${agentId}/heartbeat`, { token, raw: "{}", headers: { "content-type": "application/json; charset=utf-8" } })
          assert.strictEqual(charset.status, 200, `${way}: ${charset.text}`)
        })
      )
    }))

  it.effect("a 10 MB chunked body: 413, seen by the client (no reset)", () =>
    Effect.gen(function*() {
      const { agentId, token } = yield* setup
      const { baseUrl } = yield* TestServer
      yield* bothWays((way) =>
        Effect.gen(function*() {
          for (const path of [`/api/agents/${agentId}/pricing-report`, `/api/agents/${agentId}/switch-report`]) {
            const answer = yield* chunkedUpload(baseUrl, path, token, 10 * 1024 * 1024)
            assert.deepInclude(answer, { status: 413 }, `${way}: ${path}: ${JSON.stringify(answer).slice(0, 300)}`)
          }
        })
      )
    }))

  it.effect("slow headers and slow bodies: 408 within the bound, the connection closed", () =>
    Effect.gen(function*() {
      const { agentId, token } = yield* setup
      const { baseUrl } = yield* TestServer
      // headers never finished
      const slowHeaders = yield* raw(baseUrl, [`POST /api/agents/${agentId}/heartbeat HTTP/1.1\r\nHost: x\r\n`], 5_000)
      assert.notStrictEqual(slowHeaders, "no answer")
      if (slowHeaders !== "no answer") {
        assert.strictEqual(slowHeaders.status, 408, slowHeaders.body)
        assert.strictEqual(JSON.parse(slowHeaders.body).error.code, "RequestTimeout")
        assert.isBelow(slowHeaders.millis, 3_500)
      }
      yield* bothWays((way) =>
        Effect.gen(function*() {
          for (const path of [`/api/agents/${agentId}/heartbeat`, `/api/agents/${agentId}/action-result`]) {
            const body = Buffer.from("{\"status\":\"online\"}")
            const slowBody = yield* raw(baseUrl, [
              head("POST", path, { authorization: `Bearer ${token}`, "content-type": "application/json" }, body),
              body.subarray(0, 5)
            ], 5_000)
            assert.notStrictEqual(slowBody, "no answer", `${way}: ${path}`)
            if (slowBody === "no answer") continue
            assert.strictEqual(slowBody.status, 408, `${way}: ${path}: ${slowBody.body}`)
            assert.strictEqual(slowBody.headers["connection"], "close")
            assert.isBelow(slowBody.millis, 4_000, `${way}: ${path}`)
          }
        })
      )
    }))

  it.effect("request fields in log lines are escaped (no raw CR/LF)", () =>
    Effect.gen(function*() {
      assert.strictEqual(escapeLogField("evil\r\nlevel=ERROR forged"), "evil\\u000d\\u000alevel=ERROR forged")
      assert.strictEqual(escapeLogField("a\u2028b\u0000"), "a\\u2028b\\u0000")
      const { token } = yield* setup
      const lines: Array<string> = []
      const spy = vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void lines.push(args.map(String).join(" ")))
      try {
        // An agent that cannot be placed is logged with its hostname.
        const reg = yield* call("POST", "/api/agents/register", {
          token,
          body: { hostname: "host\r\ntimestamp=x level=ERROR message=forged", agent_version: "5.0.1", instance_id: null, logical_agent_id: null }
        })
        assert.strictEqual(reg.status, 200, reg.text)
      } finally {
        spy.mockRestore()
      }
      const logged = lines.find((l) => l.includes("not placed"))
      assert.isDefined(logged, lines.join("\n"))
      assert.notMatch(logged!, /[\r\n]/)
      assert.include(logged!, "host\\u000d\\u000a")
    }))
})
