/**
 * moto_server (the AWS API emulator) for the tests: started on a free loopback port, waited for
 * until it answers, killed after. Absent, the tests that need it are skipped with a loud message,
 * and fail under CI=true.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createServer } from "node:net"
import { fileURLToPath } from "node:url"

const ci = process.env.CI === "true" || process.env.CI === "1"

/** The interpreter moto_server runs on (its shebang), so the seeded launcher imports the same moto. */
const motoPython = (): string | null => {
  const which = spawnSync("sh", ["-c", "command -v pyenv >/dev/null && pyenv which moto_server || command -v moto_server"], { encoding: "utf8" })
  const path = which.stdout.trim().split("\n").pop() ?? ""
  if (which.status !== 0 || path === "") return null
  const head = spawnSync("head", ["-1", path], { encoding: "utf8" }).stdout.trim()
  const python = head.startsWith("#!") ? head.slice(2).trim().split(/\s+/).pop() ?? "" : ""
  if (python === "") return null
  return spawnSync(python, ["-c", "import moto.server"], { encoding: "utf8" }).status === 0 ? python : null
}

/** The python with moto, or null (after a loud message; throws under CI=true). */
export const available = (): string | null => {
  const python = motoPython()
  if (python === null) {
    const message = "moto_server (pip install 'moto[server]') is not on PATH: the AWS emulator tests are SKIPPED"
    if (ci) throw new Error(`CI=true: ${message.replace(": the AWS emulator tests are SKIPPED", "")}`)
    console.warn(`\n*** ${message} ***\n`)
  }
  return python
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** A running moto. */
export interface Moto {
  readonly endpoint: string
  readonly stop: () => Promise<void>
}

/**
 * Starts moto on a free loopback port: stock moto_server, or with `seedFile` the launcher that
 * serves DescribeSpotPriceHistory from that file (test/moto/seeded_moto.py says why).
 */
export const start = async (python: string, seedFile?: string): Promise<Moto> => {
  const port = await freePort()
  const args = seedFile === undefined
    ? ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
    : [fileURLToPath(new URL("./moto/seeded_moto.py", import.meta.url)), "-H", "127.0.0.1", "-p", String(port)]
  const child: ChildProcess = spawn(python, args, {
    env: { ...process.env, ...(seedFile === undefined ? {} : { MOTO_SPOT_SEED: seedFile }) },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000)
  })
  const endpoint = `http://127.0.0.1:${port}`
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("exit", () => resolve())
      child.kill("SIGTERM")
      setTimeout(() => child.kill("SIGKILL"), 3000).unref()
    })
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto exited (${child.exitCode}): ${stderr}`)
    try {
      const r = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) })
      if (r.status < 500) return { endpoint, stop }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  await stop()
  throw new Error(`moto did not answer on ${endpoint} within 30 s: ${stderr}`)
}
