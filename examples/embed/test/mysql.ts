/**
 * A throwaway database on the test server (`TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306`),
 * or null when the server is unreachable (the MySQL variants are then skipped loudly, and fail
 * under `CI=true`).
 */
import * as mysql from "mysql2/promise"

const baseUrl = process.env.TEST_MYSQL_URL ?? "mysql://root@127.0.0.1:3306"

/** A fresh database URL and its cleanup, or null when MySQL is unreachable. */
export const freshDatabase = async (): Promise<{ readonly url: string; readonly drop: () => Promise<void> } | null> => {
  let conn: mysql.Connection
  try {
    conn = await mysql.createConnection({ uri: baseUrl, connectTimeout: 3000 })
  } catch (e) {
    if (process.env.CI === "true") throw e
    console.warn(`!! SKIPPING the MySQL embed variants: ${baseUrl} is unreachable (${(e as Error).message})`)
    return null
  }
  const name = `spotfleet_embed_${crypto.randomUUID().replaceAll("-", "").slice(0, 12)}`
  await conn.query(`CREATE DATABASE \`${name}\``)
  await conn.end()
  const url = new URL(baseUrl)
  url.pathname = `/${name}`
  return {
    url: url.toString(),
    drop: async () => {
      const c = await mysql.createConnection({ uri: baseUrl })
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``)
      await c.end()
    }
  }
}
