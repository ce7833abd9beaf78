// @spotfleet/adapter-mysql from its tarball: migrations and the engine on MariaDB/MySQL, in a
// database of its own, created and dropped by the package's test kit (the `./testing` entry
// point). SMOKE_MYSQL_URL names the server.
import { MysqlFailure, MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { MysqlTestDatabase } from "@spotfleet/adapter-mysql/testing"
import { createEngine, Pool } from "@spotfleet/engine"
import { Effect, Layer } from "effect"

// The kit reads its server from TEST_MYSQL_URL.
process.env.TEST_MYSQL_URL = process.env.SMOKE_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
if (!(await MysqlTestDatabase.reachable("the adapter-mysql smoke program"))) throw new Error(`MySQL at ${process.env.TEST_MYSQL_URL} is unreachable`)
const database = await MysqlTestDatabase.create({ prefix: `spotfleet_smoke_${process.version.replace(/\W/g, "")}` })
const engine = createEngine({
  store: MysqlStore.layerFromUrl(database.url).pipe(Layer.tap((ctx) => MysqlMigrations.run.pipe(Effect.provide(ctx))))
})
try {
  const tenant = await engine.createTenant({ name: "smoke", tokenHash: "2".repeat(64) })
  const { agent } = await engine.register(tenant.id, { logicalAgentId: "db-1", cloudInstanceId: "i-0smoke3", pool: Pool.make("c5a.large", "us-east-1c") })
  const view = await engine.getAgent(tenant.id, agent.id)
  if (view.instances.length !== 1 || view.instances[0].role !== "PRIMARY") throw new Error(`unexpected instances ${JSON.stringify(view.instances)}`)
  const explained = MysqlFailure.explain({ code: "ER_BAD_DB_ERROR", sqlMessage: "Unknown database 'fleet'" })
  if (!explained?.startsWith('database "fleet" does not exist')) throw new Error(`MysqlFailure.explain: ${explained}`)
  console.log(`adapter-mysql: migrated ${database.name} (made by ./testing), agent ${agent.logicalAgentId} stored with its PRIMARY`)
} finally {
  await engine.dispose()
  await database.drop()
}
