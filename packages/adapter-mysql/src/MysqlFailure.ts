/**
 * Why the database could not be used, in one line with the fix: for start-up failures of a host
 * (a server, the migrate command, an embedding service) whose cause is buried in a `SqlError`,
 * a layer's `Cause` or a mysql2 error several levels down.
 *
 *     database "fleet" does not exist — create it (CREATE DATABASE `fleet`) or set MYSQL_URL to an existing one
 *
 * Only the driver's error code, the host, port, user and database name are used: never the
 * password or SQL text.
 *
 * @since 0.1.0
 */
import { Cause, Redacted, Runtime } from "effect"

/**
 * The parts of a URL named in a message (never the password).
 *
 * @since 0.1.0
 * @category models
 */
export interface Target {
  readonly host?: string | undefined
  readonly port?: string | undefined
  readonly user?: string | undefined
  readonly database?: string | undefined
}

/**
 * The host, port, user and database of a `mysql://` URL (empty when it does not parse).
 *
 * @since 0.1.0
 * @category utils
 */
export const targetOf = (url: string | Redacted.Redacted<string> | undefined): Target => {
  if (url === undefined) return {}
  try {
    const u = new URL(Redacted.isRedacted(url) ? Redacted.value(url) : url)
    return {
      host: u.hostname || undefined,
      port: u.port || "3306",
      user: decodeURIComponent(u.username) || undefined,
      database: decodeURIComponent(u.pathname.replace(/^\//, "")) || undefined
    }
  } catch {
    return {}
  }
}

interface DriverLike {
  readonly code?: unknown
  readonly errno?: unknown
  readonly message?: unknown
  readonly sqlMessage?: unknown
  readonly address?: unknown
  readonly port?: unknown
  readonly hostname?: unknown
  readonly cause?: unknown
}

/** Every error in a cause chain (`Error.cause`, `SqlError.cause`, an Effect `Cause`), outermost first. */
const chain = (error: unknown): ReadonlyArray<DriverLike> => {
  const seen: Array<DriverLike> = []
  const visit = (e: unknown, depth: number): void => {
    if (depth > 8 || e === null || e === undefined || typeof e !== "object") return
    if (Cause.isCause(e)) {
      for (const failure of Cause.failures(e)) visit(failure, depth + 1)
      for (const defect of Cause.defects(e)) visit(defect, depth + 1)
      return
    }
    if (Runtime.isFiberFailure(e)) {
      visit(e[Runtime.FiberFailureCauseId], depth + 1)
      return
    }
    if (seen.includes(e as DriverLike)) return
    seen.push(e as DriverLike)
    // AggregateError (a failed connect to every address of a host name)
    const errors = (e as { errors?: unknown }).errors
    if (Array.isArray(errors)) for (const inner of errors) visit(inner, depth + 1)
    visit((e as DriverLike).cause, depth + 1)
  }
  visit(error, 0)
  return seen
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined)

const where = (t: Target, e: DriverLike): string => {
  const host = str(e.address) ?? str(e.hostname) ?? t.host ?? "the configured host"
  const port = typeof e.port === "number" ? String(e.port) : t.port
  return port === undefined ? host : `${host}:${port}`
}

/**
 * One line naming the cause and the fix when `error` (anything: a `SqlError`, a `Cause`, a
 * mysql2 or socket error) is a failure to reach or use the MySQL database; undefined otherwise.
 * `url` (the `MYSQL_URL` in use) fills in what the driver's error leaves out; `variable` names the
 * setting to fix (default `MYSQL_URL`).
 *
 * @since 0.1.0
 * @category utils
 */
export const explain = (
  error: unknown,
  options: { readonly url?: string | Redacted.Redacted<string> | undefined; readonly variable?: string | undefined } = {}
): string | undefined => {
  const t = targetOf(options.url)
  const variable = options.variable ?? "MYSQL_URL"
  for (const e of chain(error)) {
    const code = str(e.code)
    const text = str(e.sqlMessage) ?? str(e.message) ?? ""
    switch (code) {
      case "ER_BAD_DB_ERROR": {
        const db = /Unknown database '([^']*)'/.exec(text)?.[1] ?? t.database ?? "?"
        return `database "${db}" does not exist — create it (CREATE DATABASE \`${db}\`) or set ${variable} to an existing one`
      }
      case "ER_ACCESS_DENIED_ERROR":
      case "ER_ACCESS_DENIED_NO_PASSWORD_ERROR": {
        const user = /user '([^']*)'/.exec(text)?.[1] ?? t.user ?? "?"
        return `MySQL refused user "${user}" (access denied) — fix the user and password in ${variable}`
      }
      case "ER_DBACCESS_DENIED_ERROR": {
        const m = /user '([^']*)'@'[^']*' to database '([^']*)'/.exec(text)
        return `user "${m?.[1] ?? t.user ?? "?"}" may not use database "${m?.[2] ?? t.database ?? "?"}" — grant it access or set ${variable} to another database`
      }
      case "ECONNREFUSED":
        return `cannot reach MySQL at ${where(t, e)} (connection refused) — start MySQL/MariaDB there or fix the host and port in ${variable}`
      case "ENOTFOUND":
      case "EAI_AGAIN":
        return `MySQL host "${str(e.hostname) ?? t.host ?? "?"}" not found — fix the host in ${variable}`
      case "ETIMEDOUT":
      case "ECONNRESET":
      case "EHOSTUNREACH":
      case "ENETUNREACH":
        return `cannot reach MySQL at ${where(t, e)} (${code}) — check the host, the port and the network, or fix ${variable}`
      case "ER_CON_COUNT_ERROR":
        return `MySQL at ${where(t, e)} has too many connections — raise max_connections or stop idle clients`
      case "ERR_INVALID_URL":
        return `${variable} is not a valid URL — use mysql://user:password@host:3306/database`
    }
    if (e instanceof TypeError && /Invalid URL/.test(text)) {
      return `${variable} is not a valid URL — use mysql://user:password@host:3306/database`
    }
  }
  return undefined
}
