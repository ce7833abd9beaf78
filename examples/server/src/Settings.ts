/**
 * The server's configuration, all of it read here at start-up (docs/DEPLOYMENT_RUNBOOK.md lists
 * every variable; `test/Runbook.test.ts` runs {@link settings} and compares what it asks for
 * with that list).
 */
import { Auth, HttpConfig, Serving } from "@spotfleet/adapter-http"
import { Config, Data, Duration, Effect, Option, Redacted } from "effect"
import * as Dashboard from "./Dashboard.js"
import * as ServerInterruptions from "./ServerInterruptions.js"
import * as ServerJobs from "./ServerJobs.js"
import * as ServerModels from "./ServerModels.js"

/** A setting that keeps the server from starting. */
export class StartupError extends Data.TaggedError("StartupError")<{ readonly message: string }> {}

/** A secret setting; an empty value counts as unset. */
const nonEmpty = (name: string) =>
  Effect.map(Config.option(Config.redacted(name)), Option.filter((v) => Redacted.value(v).length > 0))

/** Every setting of the server, from the environment (or the ConfigProvider in context). */
export const settings = Effect.gen(function*() {
  const production = (yield* Config.string("NODE_ENV").pipe(Config.withDefault(""))) === "production"
  const demo = yield* Config.boolean("SPOTFLEET_DEMO").pipe(Config.withDefault(false))
  const configuredAdmin = yield* Config.option(Config.redacted("SPOTFLEET_ADMIN_TOKEN"))
  let adminToken: Redacted.Redacted<string>
  let generated = false
  if (Option.isSome(configuredAdmin) && Redacted.value(configuredAdmin.value).length > 0) {
    adminToken = configuredAdmin.value
  } else if (production) {
    return yield* Effect.fail(
      new StartupError({ message: "SPOTFLEET_ADMIN_TOKEN is not set — set it to the operator token (required when NODE_ENV=production)" })
    )
  } else if (!demo) {
    return yield* Effect.fail(
      new StartupError({ message: "SPOTFLEET_ADMIN_TOKEN is not set — set it to the operator token, or set SPOTFLEET_DEMO=1 for a generated one" })
    )
  } else {
    adminToken = Redacted.make(Auth.generateToken("sfadmin_"))
    generated = true
  }
  return {
    port: yield* Config.integer("PORT").pipe(Config.withDefault(8080)),
    host: yield* Config.string("HOST").pipe(Config.withDefault("0.0.0.0")),
    production,
    demo,
    adminToken,
    generated,
    mysqlUrl: yield* nonEmpty("MYSQL_URL"),
    bootstrapToken: yield* nonEmpty("SPOTFLEET_BOOTSTRAP_TENANT_TOKEN"),
    http: yield* HttpConfig.options,
    serving: yield* Serving.options,
    agentFastPath: yield* Config.boolean("SPOTFLEET_AGENT_FAST_PATH").pipe(Config.withDefault(true)),
    drain: Duration.seconds(yield* Config.integer("SPOTFLEET_DRAIN_SECONDS").pipe(Config.withDefault(10))),
    jobs: yield* ServerJobs.config,
    decisionModel: yield* ServerJobs.decisionModel,
    modelDir: yield* ServerModels.modelDir,
    dashboardDir: yield* Config.string("SPOTFLEET_DASHBOARD_DIR").pipe(Config.withDefault(Dashboard.defaultDir)),
    spotAdvisor: yield* ServerInterruptions.source
  }
})
