/**
 * @spotfleet/aws/testing: the test kit of the AWS package. Tests of code that calls AWS get an
 * emulator of their own (moto, on a loopback port), and the same rule when it is not installed
 * (fail under `CI=true`, skip loudly otherwise).
 *
 * ```ts
 * import { MotoServer } from "@spotfleet/aws/testing"
 * ```
 *
 * @since 0.1.0
 */

/**
 * moto_server for tests: `available`, `start` (stock, or with a seeded spot price history).
 *
 * @since 0.1.0
 */
export * as MotoServer from "./MotoServer.js"
