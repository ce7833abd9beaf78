import type { SqlError } from "@effect/sql/SqlError"
import { EngineError } from "@spotfleet/engine"

/** The parts of a mysql2 error the adapter looks at (never its SQL text). */
export interface DriverError {
  readonly errno?: number | undefined
  readonly code?: string | undefined
  readonly sqlMessage?: string | undefined
}

export const ER_DUP_ENTRY = 1062
export const ER_LOCK_WAIT_TIMEOUT = 1205
export const ER_LOCK_DEADLOCK = 1213
/** MySQL 8: check constraint violated. */
export const ER_CHECK_CONSTRAINT_VIOLATED = 3819
/** MariaDB: CONSTRAINT `x` failed. */
export const ER_CONSTRAINT_FAILED = 4025

export const driverError = (error: SqlError): DriverError => {
  const cause = error.cause as DriverError | null | undefined
  return typeof cause === "object" && cause !== null ? cause : {}
}

/** A deadlock or lock wait timeout: the transaction was (or will be) rolled back and may be retried. */
export const isRetryable = (error: SqlError): boolean => {
  const errno = driverError(error).errno
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT
}

/** A unique-key violation, with the name of the violated key (if the driver reported it). */
export const duplicateKeyName = (error: SqlError): string | null => {
  const d = driverError(error)
  if (d.errno !== ER_DUP_ENTRY) return null
  // MariaDB: "... for key 'uq_x'"; MySQL 8: "... for key 'table.uq_x'".
  const m = /for key '(?:[^'.]*\.)?([^']*)'/.exec(d.sqlMessage ?? "")
  return m?.[1] ?? ""
}

/** The value a unique-key violation names (`Duplicate entry 'value' for key …`; composite keys joined with `-`). */
export const duplicateEntry = (error: SqlError): string | null => {
  const d = driverError(error)
  if (d.errno !== ER_DUP_ENTRY) return null
  const m = /^Duplicate entry '(.*)' for key '/s.exec(d.sqlMessage ?? "")
  return m?.[1] ?? null
}

export const isConstraintViolation = (error: SqlError): boolean => {
  const errno = driverError(error).errno
  return errno === ER_CHECK_CONSTRAINT_VIOLATED || errno === ER_CONSTRAINT_FAILED
}

/**
 * Maps a driver failure to the engine's StoreError. The reason names the error class and code
 * only: no SQL text, no parameter values.
 */
export const toStoreError = (operation: string) => (error: SqlError): EngineError.StoreError => {
  const d = driverError(error)
  const reason = d.errno === ER_LOCK_DEADLOCK
    ? "deadlock (retries exhausted)"
    : d.errno === ER_LOCK_WAIT_TIMEOUT
    ? "lock wait timeout (retries exhausted)"
    : isConstraintViolation(error)
    ? "a database constraint rejected the write"
    : d.errno === ER_DUP_ENTRY
    ? "a unique key rejected the write"
    : d.code !== undefined
    ? `database error ${d.code}${d.errno === undefined ? "" : ` (${d.errno})`}`
    : "database unavailable"
  return new EngineError.StoreError({ operation, reason })
}
