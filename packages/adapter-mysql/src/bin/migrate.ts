#!/usr/bin/env node
/**
 * Runs the adapter's migrations against `MYSQL_URL` and prints what ran.
 *
 *     MYSQL_URL=mysql://user:pass@host:3306/spotfleet npx spotfleet-mysql-migrate
 *
 * @since 0.1.0
 */
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { Config, Console, Effect, Exit, Layer } from "effect"
import * as MysqlMigrations from "../MysqlMigrations.js"

const program = Effect.gen(function*() {
  const ran = yield* MysqlMigrations.run
  yield* Console.log(
    ran.length === 0
      ? "spotfleet: schema up to date (no migration to run)"
      : `spotfleet: ran ${ran.map(([id, name]) => `${id}_${name}`).join(", ")}`
  )
}).pipe(Effect.provide(MysqlClient.layerConfig({ url: Config.redacted("MYSQL_URL"), maxConnections: Config.succeed(2) }).pipe(Layer.orDie)))

Effect.runPromiseExit(program).then((exit) => {
  if (Exit.isFailure(exit)) {
    console.error("spotfleet: migration failed:", exit.cause._tag === "Fail" ? String(exit.cause.error) : "see the cause below")
    if (exit.cause._tag !== "Fail") console.error(exit.cause)
    process.exitCode = 1
  }
})
