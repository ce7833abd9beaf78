/** Builds the dashboard once, before the browser tests, when dist/ is missing or stale. */
import { buildIfStale } from "./browser.js"

export default async function setup() {
  await buildIfStale()
}
