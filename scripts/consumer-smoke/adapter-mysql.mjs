// @spotfleet/adapter-mysql from its tarball: migrations and the engine on MariaDB/MySQL, in a
// database of its own (created and dropped here). SMOKE_MYSQL_URL names the server.
import { MysqlFailure, MysqlMigrations, MysqlStore } from "@spotfleet/adapter-mysql"
import { createEngine, Pool } from "@spotfleet/engine"
import { Effect, Layer } from "effect"
import * as mysql from "mysql2/promise"

const base = process.env.SMOKE_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"
const database = `spotfleet_smoke_${process.version.replace(/\W/g, "")}_${Math.random().toString(36).slice(2, 8)}`
const admin = await mysql.createConnection({ uri: base })
await admin.query(`CREATE DATABASE \`${database}\``)
const url = new URL(base)
url.pathname = `/${database}`
const engine = createEngine({
  store: MysqlStore.layerFromUrl(url.toString()).pipe(Layer.tap((ctx) => MysqlMigrations.run.pipe(Effect.provide(ctx))))
})
try {
  const tenant = await engine.createTenant({ name: "smoke", tokenHash: "2".repeat(64) })
  const { agent } = await engine.register(tenant.id, { logicalAgentId: "db-1", cloudInstanceId: "i-0smoke3", pool: Pool.make("c5a.large", "us-east-1c") })
  const view = await engine.getAgent(tenant.id, agent.id)
  if (view.instances.length !== 1 || view.instances[0].role !== "PRIMARY") throw new Error(`unexpected instances ${JSON.stringify(view.instances)}`)
  const explained = MysqlFailure.explain({ code: "ER_BAD_DB_ERROR", sqlMessage: "Unknown database 'fleet'" })
  if (!explained?.startsWith('database "fleet" does not exist')) throw new Error(`MysqlFailure.explain: ${explained}`)
  console.log(`adapter-mysql: migrated ${database}, agent ${agent.logicalAgentId} stored with its PRIMARY`)
} finally {
  await engine.dispose()
  await admin.query(`DROP DATABASE IF EXISTS \`${database}\``)
  await admin.end()
}
