#!/usr/bin/env node
/**
 * Runs the adapter's migrations against `MYSQL_URL` and prints what ran.
 *
 *     MYSQL_URL=mysql://user:pass@host:3306/spotfleet npx spotfleet-mysql-migrate
 *
 * A failure prints one line with its cause and the fix (exit code 1); `--verbose` or `DEBUG` set
 * adds the full cause.
 *
 * @since 0.1.0
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { Cause, Console, Effect, Exit, Layer, Redacted } from "effect"
import * as MysqlFailure from "../MysqlFailure.js"
import * as MysqlMigrations from "../MysqlMigrations.js"

const verbose = process.argv.includes("--verbose") || (process.env["DEBUG"] ?? "") !== ""
const url = (process.env["MYSQL_URL"] ?? "").trim()

const fail = (line: string, cause?: Cause.Cause<unknown>) => {
  console.error(`spotfleet-mysql-migrate: ${line}`)
  if (verbose && cause !== undefined) console.error(Cause.pretty(cause))
  process.exitCode = 1
}

if (url === "") {
  fail("MYSQL_URL is not set — set it to the database to migrate, e.g. MYSQL_URL=mysql://user:password@127.0.0.1:3306/spotfleet")
} else {
  const program = Effect.gen(function*() {
    const ran = yield* MysqlMigrations.run
    yield* Console.log(
      ran.length === 0
        ? "spotfleet: schema up to date (no migration to run)"
        : `spotfleet: ran ${ran.map(([id, name]) => `${id}_${name}`).join(", ")}`
    )
  }).pipe(Effect.provide(MysqlClient.layer({ url: Redacted.make(url), maxConnections: 2 }).pipe(Layer.orDie)))

  void Effect.runPromiseExit(program).then((exit) => {
    if (Exit.isFailure(exit)) {
      const explained = MysqlFailure.explain(exit.cause, { url })
      const first = Cause.squash(exit.cause)
      const message = first instanceof Error ? first.message : String(first)
      fail(
        explained ?? `migration failed: ${message.split("\n")[0]}${verbose ? "" : " (--verbose or DEBUG=1 for the full cause)"}`,
        exit.cause
      )
    }
  })
}
