/**
 * Every start-up failure a new user meets prints one line with the cause and the fix, and no
 * stack trace (the full cause only with `--verbose` or `DEBUG`): the server on a database that
 * does not exist and on a port in use, the embed example `start:plain` on a missing database,
 * `npm run migrate` without `MYSQL_URL`, and the `spotfleet` CLI with a bad value, a missing
 * source and `--register` without a store (refused before any training). Each runs as the user
 * runs it: a child process, its output piped (so no colours either).
 */
import { spawn } from "node:child_process"
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as mysql from "mysql2/promise"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const base = process.env["TEST_MYSQL_URL"] ?? "mysql://root@127.0.0.1:3306"
const reachable = await mysql.createConnection({ uri: base, connectTimeout: 3000 }).then(
  async (c) => (await c.end(), true),
  () => false
)
if (!reachable && process.env["CI"] === "true") throw new Error(`MySQL at ${base} is unreachable; CI=true requires it`)
if (!reachable) console.warn(`\n*** SKIPPED (partly): the missing-database cases need MySQL at ${base} ***\n`)

interface Ran {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its end (at most 60 s) with the environment changes given (undefined removes). */
const run = (command: string, args: ReadonlyArray<string>, env: Record<string, string | undefined>, cwd = root): Promise<Ran> =>
  new Promise((resolve, reject) => {
    const full: Record<string, string | undefined> = { ...process.env, NODE_ENV: "", DEBUG: undefined, FORCE_COLOR: undefined, ...env }
    for (const [k, v] of Object.entries(full)) if (v === undefined) delete full[k]
    const child = spawn(command, args, { cwd, env: full as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`${command} ${args.join(" ")} did not end in 60 s:\n${stdout}\n${stderr}`))
    }, 60_000)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })

const server = (env: Record<string, string | undefined>) =>
  run(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", "examples/server/src/main.ts"], {
    PORT: "0", HOST: "127.0.0.1", SPOTFLEET_ADMIN_TOKEN: "sfadmin_test", SPOTFLEET_DEMO: "0", MYSQL_URL: undefined, ...env
  })
// The CLI's bundle is built into a cache directory of this test's own (see bin/spotfleet.mjs).
const cliCache = mkdtempSync(path.join(tmpdir(), "spotfleet-cli-cache-"))
const cli = (...args: Array<string>) =>
  run(process.execPath, [path.join(root, "examples/server/bin/spotfleet.mjs"), ...args], { MYSQL_URL: undefined, XDG_CACHE_HOME: cliCache })

/** The lines a failure printed (npm's own trailer of a failed script left out). */
const lines = (text: string) => text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("npm error") && !l.startsWith("> ") && !l.startsWith("npm warn"))

const expectOneLine = (ran: Ran, pattern: RegExp) => {
  const printed = lines(ran.stderr + ran.stdout)
  expect(printed, `output:\n${ran.stdout}\n${ran.stderr}`).toHaveLength(1)
  expect(printed[0]).toMatch(pattern)
  expect(ran.stderr + ran.stdout).not.toMatch(/^\s+at /m) // no stack trace
  expect(ran.stderr + ran.stdout).not.toContain(`${String.fromCharCode(27)}[`) // no ANSI escapes into a pipe
  expect(ran.stderr + ran.stdout).not.toMatch(/_tag|<redacted>|Cause/) // no error objects dumped
}

const missingDb = `spotfleet_missing_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
const missingUrl = (() => {
  const u = new URL(base)
  u.pathname = `/${missingDb}`
  return u.toString()
})()

describe("start-up failures: one line with the cause and the fix", () => {
  let holder: Server
  let busyPort: number
  let scratch: string

  beforeAll(async () => {
    holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve))
    busyPort = (holder.address() as AddressInfo).port
    scratch = mkdtempSync(path.join(tmpdir(), "spotfleet-startup-"))
  })
  afterAll(async () => {
    await new Promise((resolve) => holder.close(resolve))
    rmSync(scratch, { recursive: true, force: true })
    rmSync(cliCache, { recursive: true, force: true })
  })

  it.skipIf(!reachable)("the server on a database that does not exist", async () => {
    const ran = await server({ MYSQL_URL: missingUrl })
    expect(ran.code).toBe(1)
    expectOneLine(ran, new RegExp(`^spotfleet: database "${missingDb}" does not exist — create it \\(CREATE DATABASE \`${missingDb}\`\\) or set MYSQL_URL to an existing one$`))
  }, 60_000)

  it.skipIf(!reachable)("…and the full cause with --verbose", async () => {
    const ran = await run(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", "examples/server/src/main.ts", "--verbose"], {
      PORT: "0", HOST: "127.0.0.1", SPOTFLEET_ADMIN_TOKEN: "sfadmin_test", SPOTFLEET_DEMO: "0", MYSQL_URL: missingUrl
    })
    expect(ran.code).toBe(1)
    expect(ran.stderr).toMatch(/^spotfleet: database ".*" does not exist/)
    expect(ran.stderr).toMatch(/^\s+at /m)
  }, 60_000)

  it("the server on a port in use", async () => {
    const ran = await server({ PORT: String(busyPort) })
    expect(ran.code).toBe(1)
    expectOneLine(ran, new RegExp(`^spotfleet: port ${busyPort} is in use — stop the process that holds it or set PORT to a free port$`))
  }, 60_000)

  it("the server with a PORT that is not a number", async () => {
    const ran = await server({ PORT: "eighty" })
    expect(ran.code).toBe(1)
    expectOneLine(ran, /^spotfleet: PORT: expected an integer, got "eighty" — fix PORT$/)
  }, 60_000)

  it.skipIf(!reachable)("the embed example start:plain with the documented MYSQL_URL on a missing database", async () => {
    const ran = await run(process.execPath, ["--import", "tsx", "--conditions=@spotfleet/source", "examples/embed/src/plain.ts"], {
      PORT: "0", MYSQL_URL: missingUrl
    })
    expect(ran.code).toBe(1)
    expectOneLine(ran, new RegExp(`^plain host: database "${missingDb}" does not exist — create it`))
  }, 60_000)

  it("npm run migrate without MYSQL_URL", async () => {
    const ran = await run("npm", ["run", "migrate", "-w", "packages/adapter-mysql"], { MYSQL_URL: undefined })
    expect(ran.code).not.toBe(0)
    expectOneLine(ran, /^spotfleet-mysql-migrate: MYSQL_URL is not set — set it to the database to migrate, e\.g\. MYSQL_URL=mysql:\/\//)
  }, 60_000)

  it("the CLI with a bad option value", async () => {
    const ran = await cli("ml", "export-dataset", "--generated", "--out", path.join(scratch, "ds"), "--window-days", "ninety")
    expect(ran.code).toBe(2)
    expectOneLine(ran, /^spotfleet: --window-days: expected a whole number, got "ninety"$/)
  }, 60_000)

  it("the CLI without a price source", async () => {
    const ran = await cli("ml", "export-dataset", "--out", path.join(scratch, "ds"))
    expect(ran.code).toBe(1)
    expectOneLine(ran, /^spotfleet: no price source — give --history <file>, --from-store or --generated$/)
  }, 60_000)

  it("the CLI refuses --register without a store before it trains", async () => {
    const out = path.join(scratch, "model.onnx")
    const ran = await cli("ml", "train", "--dataset", scratch, "--out", out, "--register")
    expect(ran.code).toBe(1)
    expectOneLine(ran, /^spotfleet: MYSQL_URL is not set — --register needs the server's store/)
    expect(existsSync(out)).toBe(false)
  }, 60_000)
})
