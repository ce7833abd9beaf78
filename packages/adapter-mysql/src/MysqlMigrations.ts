/**
 * The adapter's schema as migrations in code (no files to ship or find at run time). They are
 * recorded in their own table, `spotfleet_migrations`, so they never clash with a host
 * application's `effect_sql_migrations`. Nothing runs implicitly: provide `layer` or run `run`
 * yourself (for example with the package's `migrate` command).
 *
 * ```ts
 * import { MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
 * const StoreLive = MysqlStore.layer.pipe(Layer.provide(MysqlMigrations.layer), Layer.provide(SqlLive))
 * ```
 *
 * @since 0.1.0
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as MysqlClient from "@effect/sql-mysql2/MysqlClient"
import { Effect, Layer, Redacted } from "effect"
import * as Schema from "./internal/schema.js"

/**
 * The name of the table recording which migrations ran.
 *
 * @since 0.1.0
 * @category constants
 */
export const table = "spotfleet_migrations"

/**
 * The name of the advisory lock (`GET_LOCK`) held while migrating, so two processes starting
 * together never run the same migration twice.
 *
 * @since 0.1.0
 * @category constants
 */
export const lockName = "spotfleet_migrations"

/**
 * The migrations, as a `Migrator` loader (`Migrator.fromRecord`).
 *
 * @since 0.1.0
 * @category loaders
 */
export const loader: Migrator.Loader = Migrator.fromRecord(
  Object.fromEntries(
    Schema.migrations.map((m) => [
      `${m.id}_${m.name}`,
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        for (const step of m.steps) {
          if (Schema.isDataStep(step)) {
            yield* step.run
            continue
          }
          if (step.skipIf !== undefined && (yield* sql.unsafe(step.skipIf).withoutTransform).length > 0) continue
          yield* sql.unsafe(step.sql).withoutTransform
        }
      })
    ])
  )
)

/**
 * The SQL statements of every migration, in order (read-only; for review and tooling). A
 * statement that cannot be re-run as it is (an `ALTER TABLE`) carries a guard the migrator
 * checks first, so it is skipped when it already took effect.
 *
 * @since 0.1.0
 * @category models
 */
export const statements: ReadonlyArray<{ readonly id: number; readonly name: string; readonly statements: ReadonlyArray<string> }> =
  Schema.migrations

const migrate = Migrator.make({})({ loader, table })

/**
 * Runs every migration that has not run yet and returns the ones it ran (`[id, name]`).
 * Running it again is a no-op. Holds a `GET_LOCK` advisory lock (up to 60 seconds) while it
 * works, so concurrent starts serialize instead of racing.
 *
 * @since 0.1.0
 * @category migrations
 */
export const run: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* Effect.scoped(Effect.gen(function*() {
    // A lock is held by one session: take it on a reserved connection for the whole run.
    const conn = yield* sql.reserve
    yield* Effect.acquireRelease(
      Effect.flatMap(
        conn.executeRaw("SELECT GET_LOCK(?, 60) AS locked", [lockName]),
        (rows) =>
          (rows as ReadonlyArray<{ locked: number | null }>)[0]?.locked === 1
            ? Effect.void
            : Effect.fail(new Migrator.MigrationError({ reason: "locked", message: "another process is migrating" }))
      ),
      () => Effect.ignore(conn.executeRaw("SELECT RELEASE_LOCK(?)", [lockName]))
    )
    return yield* migrate
  }))
})

/**
 * A layer that runs the migrations when built (opt-in: provide it before the store layer).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<never, Migrator.MigrationError | SqlError, SqlClient.SqlClient> = Layer.effectDiscard(run)

/**
 * `run` as a Promise for hosts without Effect: connects to a URL
 * (`mysql://user:password@host:3306/database`), runs the pending migrations, closes the
 * connection pool and resolves with the ones it ran. Call it before
 * `createEngine({ store: MysqlStore.layerFromUrl(url) })`.
 *
 * @since 0.1.0
 * @category migrations
 */
export const runFromUrl = (url: string | Redacted.Redacted<string>): Promise<ReadonlyArray<readonly [id: number, name: string]>> =>
  Effect.runPromise(
    // Not a one-connection pool: `run` holds its lock on a reserved connection while it migrates on another.
    run.pipe(Effect.provide(MysqlClient.layer({ url: Redacted.isRedacted(url) ? url : Redacted.make(url), maxConnections: 2 })))
  )
