/**
 * `npm start -w @spotfleet/example-simulator -- --url http://127.0.0.1:8080 --token <tenant token>
 * [--agents 50] [--scale 1] [--seconds 0] [--seed n]`: runs a simulated fleet against a server,
 * prints a progress line every 10 s and the summary at the end (after `--seconds`, or on Ctrl-C).
 * With `--scale` below 0.5 an agent polls more than 10 times a second, past the server's default
 * per-agent rate limit: start that server with `SPOTFLEET_RATE_LIMIT_AGENT=off` (or a higher rate).
 */
import { Console, Effect, Exit } from "effect"
import * as Simulator from "./Simulator.js"
import * as Stats from "./Stats.js"

const args = new Map<string, string>()
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i]!
  if (a.startsWith("--")) {
    const [k, v] = a.slice(2).split("=", 2) as [string, string | undefined]
    if (v !== undefined) args.set(k, v)
    else args.set(k, process.argv[++i] ?? "")
  }
}
const num = (k: string, d: number) => (args.has(k) ? Number(args.get(k)) : d)
const url = args.get("url") ?? process.env.SPOTFLEET_URL ?? "http://127.0.0.1:8080"
const token = args.get("token") ?? process.env.SPOTFLEET_TOKEN
if (token === undefined) {
  console.error("simulator: give --token <tenant API token> (or SPOTFLEET_TOKEN)")
  process.exit(2)
}
const agents = num("agents", 50)
const seconds = num("seconds", 0)

const fiber = Effect.runFork(
  Simulator.runFetch({
    baseUrl: url,
    token,
    agents,
    timeScale: num("scale", 1),
    seed: num("seed", Date.now()),
    ...(seconds > 0 ? { duration: `${seconds} seconds` as const } : {}),
    stop: Effect.async<void>((resume) => {
      process.once("SIGINT", () => resume(Effect.void))
    })
  }).pipe(Effect.tap((s) => Console.log(Stats.table(s))))
)
fiber.addObserver((exit) => {
  if (Exit.isFailure(exit) && !Exit.isInterrupted(exit)) {
    console.error(exit.cause)
    process.exitCode = 1
  }
})
