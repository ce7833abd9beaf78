/**
 * What the benches share: the repo root, a fresh MariaDB/MySQL database per run, and starting and
 * stopping server processes (from TypeScript sources, with tsx as a loader).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as mysql from "mysql2/promise"

/** The repository root. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")

/** The server to create bench databases on (BENCH_MYSQL_URL, else TEST_MYSQL_URL, else local root). */
export const baseMysql = process.env.BENCH_MYSQL_URL ?? process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"

/** A unique database name with a prefix, and its URL. */
export const freshDatabase = (prefix: string): { readonly database: string; readonly url: string } => {
  const database = `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  const u = new URL(baseMysql)
  u.pathname = `/${database}`
  return { database, url: u.toString() }
}

/** Runs one statement on the server (create/drop databases). */
export const admin = async (sql: string): Promise<void> => {
  const conn = await mysql.createConnection({ uri: baseMysql })
  try {
    await conn.query(sql)
  } finally {
    await conn.end()
  }
}

/** Starts a TypeScript entry point and resolves with its URL once it prints `listening on <url>`. */
export const startProcess = (
  args: ReadonlyArray<string>,
  env: Record<string, string>
): Promise<{ readonly child: ChildProcess; readonly url: string }> =>
  new Promise((resolve, reject) => {
    // BENCH_CPU_PROF=<dir>: the started process writes a CPU profile there when it stops.
    const profile = process.env.BENCH_CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    const child = spawn(process.execPath, [...profile, "--import", "tsx", "--conditions=@spotfleet/source", ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m !== null) resolve({ child, url: m[1]!.replace("localhost", "127.0.0.1") })
    }
    child.stdout!.on("data", onData)
    child.stderr!.on("data", onData)
    child.on("exit", (code) => reject(new Error(`process exited with ${code}:\n${out}`)))
  })

/** Stops a started process with SIGTERM and waits for it to exit. */
export const stop = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    child.removeAllListeners("exit")
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })
