/**
 * A start-up failure of the server (or of a CLI command) in one line with its cause and the fix,
 * e.g. `database "fleet" does not exist — create it (CREATE DATABASE `fleet`) or set MYSQL_URL to
 * an existing one` or `port 8080 is in use — stop the process that holds it or set PORT to a free
 * port`. The full cause (with stack traces) only with `--verbose` or `DEBUG` set.
 */
import { MysqlFailure } from "@spotfleet/adapter-mysql"
import { Cause, ConfigError } from "effect"

/** Whether the full cause is wanted: `--verbose` on the command line or `DEBUG` set (not empty). */
export const verbose = (argv: ReadonlyArray<string> = process.argv, env: NodeJS.ProcessEnv = process.env): boolean =>
  argv.includes("--verbose") || (env["DEBUG"] ?? "") !== ""

/** A failure whose message already names the cause and the fix. */
export class Explained extends Error {
  constructor(message: string) {
    super(message)
    this.name = "Explained"
  }
}

const configLine = (e: ConfigError.ConfigError): string => {
  switch (e._op) {
    case "And":
    case "Or":
      return configLine(e.left)
    case "MissingData":
      return `${e.path.join("_")} is not set — set it in the environment`
    case "InvalidData": {
      const name = e.path.join("_")
      const detail = e.message.replace(/^Expected (an? )?/, "expected $1").replace(/ value but received /, ", got ")
      return `${name}: ${detail} — fix ${name}`
    }
    case "SourceUnavailable":
    case "Unsupported":
      return `${e.path.join("_")}: ${e.message}`
  }
}

const errorsIn = (cause: Cause.Cause<unknown>): ReadonlyArray<unknown> => {
  const out: Array<unknown> = []
  const visit = (e: unknown, depth: number) => {
    if (depth > 6 || e === null || e === undefined) return
    out.push(e)
    if (typeof e === "object") visit((e as { cause?: unknown }).cause, depth + 1)
  }
  for (const e of [...Cause.failures(cause), ...Cause.defects(cause)]) visit(e, 0)
  return out
}

/**
 * One line for a failed start: the cause and the fix. `mysqlUrl` and `port` fill in what the
 * errors leave out.
 */
export const explain = (
  cause: Cause.Cause<unknown>,
  context: { readonly mysqlUrl?: string | undefined; readonly port?: string | undefined } = {}
): string => {
  const errors = errorsIn(cause)
  for (const e of errors) {
    if (e instanceof Explained) return e.message
    if (ConfigError.isConfigError(e)) return configLine(e)
    const tag = (e as { _tag?: unknown })._tag
    if (tag === "StartupError" || tag === "Explained") return String((e as { message?: unknown }).message)
  }
  for (const e of errors) {
    const code = (e as { code?: unknown }).code
    const port = (e as { port?: unknown }).port ?? context.port
    if (code === "EADDRINUSE") return `port ${String(port ?? "?")} is in use — stop the process that holds it or set PORT to a free port`
    if (code === "EACCES" && (e as { syscall?: unknown }).syscall === "listen") {
      return `may not listen on port ${String(port ?? "?")} (permission denied) — use a port above 1023 or set PORT`
    }
    if (code === "EADDRNOTAVAIL") return `cannot listen on HOST ${String((e as { address?: unknown }).address ?? "?")} (no such address here) — fix HOST`
  }
  const mysql = MysqlFailure.explain(cause, { url: context.mysqlUrl })
  if (mysql !== undefined) return mysql
  const first = Cause.squash(cause)
  const message = first instanceof Error ? first.message : String(first)
  return `${message.split("\n")[0]} (run with --verbose or DEBUG=1 for the full cause)`
}

/** Prints a failed start on stderr: `<prefix>: <one line>`, then the full cause when verbose. */
export const report = (
  prefix: string,
  cause: Cause.Cause<unknown>,
  context: { readonly mysqlUrl?: string | undefined; readonly port?: string | undefined } = {}
): void => {
  console.error(`${prefix}: ${explain(cause, context)}`)
  if (verbose()) console.error(Cause.pretty(cause, { renderErrorCause: true }))
}
