/**
 * moto (the AWS API emulator, `pip install 'moto[server]'`) for tests of code that calls AWS:
 * started on a free loopback port, waited for until it answers, stopped after. When it is not
 * installed, {@link available} says so loudly (tests skip) and throws under `CI=true`.
 *
 * moto 5.2 answers `DescribeSpotPriceHistory` with one record per instance type offering of the
 * region (product `Linux/UNIX (Amazon VPC)`, price 0.00001, one 2006 timestamp), ignores
 * `MaxResults`, `NextToken`, `ProductDescriptions` and the time window, and cannot be seeded.
 * {@link start} with a seed file runs moto with that one handler replaced: the seeded records are
 * served as AWS documents the call (filters, window with the price in effect at its start, newest
 * first, `MaxResults` pages chained by `NextToken`); everything else (request parsing, the query protocol's XML, the server) is
 * moto's.
 *
 * @since 0.1.0
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { createServer } from "node:net"
import { seededMotoPython } from "./internal/seededMoto.js"

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

/**
 * The Python interpreter that runs `moto_server` (found on PATH, through pyenv when present), or
 * null after a loud message that the tests needing it are skipped; throws under `CI=true`.
 *
 * @since 0.1.0
 */
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

/**
 * A running moto: its endpoint (`http://127.0.0.1:<port>`) and how to stop it.
 *
 * @since 0.1.0
 */
export interface Moto {
  readonly endpoint: string
  readonly stop: () => Promise<void>
}

/**
 * Starts moto on a free loopback port: stock moto, or, with `options.seedFile`, moto whose
 * `DescribeSpotPriceHistory` serves that JSON file (`{"<region>": [{"InstanceType",
 * "ProductDescription", "SpotPrice", "AvailabilityZone", "Timestamp"}, …]}`).
 *
 * @since 0.1.0
 */
export const start = async (
  python: string,
  options: {
    /** Serve `DescribeSpotPriceHistory` from this JSON file. */
    readonly seedFile?: string | undefined
    /** More environment for moto (`INITIAL_NO_AUTH_ACTION_COUNT=0` turns on its IAM authentication). */
    readonly env?: Readonly<Record<string, string>> | undefined
  } = {}
): Promise<Moto> => {
  const seedFile = options.seedFile
  const port = await freePort()
  const args = seedFile === undefined
    ? ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)]
    : ["-c", seededMotoPython, "-H", "127.0.0.1", "-p", String(port)]
  const child: ChildProcess = spawn(python, args, {
    env: { ...process.env, ...options.env, ...(seedFile === undefined ? {} : { MOTO_SPOT_SEED: seedFile }) },
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
