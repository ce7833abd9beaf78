import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

interface Started {
  readonly child: ChildProcess
  readonly output: () => string
  readonly exited: Promise<number | null>
}

const start = (env: Record<string, string>): Started => {
  const child = spawn(process.execPath, [path.join(root, "scripts/start.mjs")], {
    cwd: root,
    env: { ...process.env, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let out = ""
  child.stdout!.on("data", (d) => (out += d))
  child.stderr!.on("data", (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  return { child, output: () => out, exited }
}

const waitFor = async (s: Started, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const m = s.output().match(pattern)
    if (m !== null) return m
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${s.output()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe("npm start", () => {
  it.live("boots, prints the URL and the generated admin token, serves, and exits 0 on SIGTERM", () =>
    Effect.promise(async () => {
      const bootstrap = `boot-${crypto.randomUUID()}`
      const s = start({ SPOTFLEET_BOOTSTRAP_TENANT_TOKEN: bootstrap, SPOTFLEET_ADMIN_TOKEN: "", MYSQL_URL: "" })
      try {
        const [, url] = await waitFor(s, /listening on (http:\/\/localhost:\d+)/)
        const [, adminToken] = await waitFor(s, /admin token \(generated for this demo run\): (\S+)/)
        const health = await fetch(`${url}/health`)
        assert.strictEqual(health.status, 200)
        assert.deepStrictEqual(await health.json(), { status: "ok" })
        // the bootstrap tenant exists with the given token
        const tenant = await fetch(`${url}/api/tenant`, { headers: { authorization: `Bearer ${bootstrap}` } })
        assert.strictEqual(tenant.status, 200)
        assert.strictEqual((await tenant.json()).name, "default")
        // the printed admin token works
        const tenants = await fetch(`${url}/api/admin/tenants`, { headers: { authorization: `Bearer ${adminToken}` } })
        assert.strictEqual(tenants.status, 200)
        // an open event stream does not keep the server from stopping
        const stream = await fetch(`${url}/api/events/stream?after=0`, { headers: { authorization: `Bearer ${bootstrap}` } })
        assert.strictEqual(stream.status, 200)
        const reading = stream.body!.pipeTo(new WritableStream()).then(() => "ended", () => "ended")
        s.child.kill("SIGTERM")
        assert.strictEqual(await s.exited, 0, s.output())
        assert.strictEqual(await reading, "ended")
        assert.match(s.output(), /shutting down/)
      } finally {
        s.child.kill("SIGKILL")
      }
    }), 60_000)

  it.live("refuses to start in production mode without an admin token", () =>
    Effect.promise(async () => {
      const s = start({ NODE_ENV: "production", SPOTFLEET_ADMIN_TOKEN: "", SPOTFLEET_DEMO: "0" })
      try {
        assert.strictEqual(await s.exited, 1)
        assert.match(s.output(), /^spotfleet: SPOTFLEET_ADMIN_TOKEN is not set — set it to the operator token \(required when NODE_ENV=production\)$/m)
        assert.notMatch(s.output(), /listening on/)
      } finally {
        s.child.kill("SIGKILL")
      }
    }), 60_000)
})
