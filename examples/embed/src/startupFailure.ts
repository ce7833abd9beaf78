/**
 * A failed start of an example host in one line with the cause and the fix (a missing database,
 * MySQL unreachable, the port in use), the full error only with `--verbose` or `DEBUG` set. A host
 * of your own would do the same with `MysqlFailure.explain` from @spotfleet/adapter-mysql.
 */
import { MysqlFailure } from "@spotfleet/adapter-mysql"
import { Cause, ConfigError } from "effect"

/** One line naming the cause of a failed start and the fix. */
export const explain = (error: unknown, context: { readonly mysqlUrl?: string | undefined; readonly port?: string | number | undefined } = {}): string => {
  const mysql = MysqlFailure.explain(error, { url: context.mysqlUrl })
  if (mysql !== undefined) return mysql
  if (Cause.isCause(error)) {
    const first = Cause.squash(error)
    if (ConfigError.isConfigError(first)) {
      const name = first._op === "MissingData" || first._op === "InvalidData" ? first.path.join("_") : "a setting"
      return first._op === "MissingData" ? `${name} is not set — set it in the environment` : `${name}: ${first.message} — fix ${name}`
    }
    const nested = (first as { cause?: unknown }).cause
    return explain(nested !== undefined && (first as { code?: unknown }).code === undefined ? nested : first, context)
  }
  const e = error as { code?: unknown; port?: unknown; message?: unknown }
  if (e?.code === "EADDRINUSE") return `port ${String(e.port ?? context.port ?? "?")} is in use — stop the process that holds it or set PORT to a free port`
  if (e?.code === "EACCES") return `may not listen on port ${String(e.port ?? context.port ?? "?")} (permission denied) — use a port above 1023 or set PORT`
  const message = typeof e?.message === "string" ? e.message : String(error)
  return `${message.split("\n")[0]} (run with --verbose or DEBUG=1 for the full error)`
}

/** Prints the line (and, when verbose, the error) on stderr and exits with code 1. */
export const exitWith = (prefix: string, error: unknown, context: { readonly mysqlUrl?: string | undefined; readonly port?: string | number | undefined } = {}): never => {
  console.error(`${prefix}: ${explain(error, context)}`)
  if (process.argv.includes("--verbose") || (process.env["DEBUG"] ?? "") !== "") console.error(error)
  process.exit(1)
}
