/**
 * Where model artifacts are kept: `SPOTFLEET_MODEL_DIR`, by default the user's data directory
 * (`$XDG_DATA_HOME/spotfleet/models`, else `~/.local/share/spotfleet/models`) — never the
 * current directory, so running the server or the CLI from a checkout writes nothing into it.
 */
import * as os from "node:os"
import * as path from "node:path"
import * as Config from "effect/Config"
import * as Effect from "effect/Effect"

/** The default artifact directory for an environment. */
export const defaultDir = (env: NodeJS.ProcessEnv = process.env): string => {
  const xdg = env["XDG_DATA_HOME"]
  const base = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".local", "share")
  return path.join(base, "spotfleet", "models")
}

/** The artifact directory from `SPOTFLEET_MODEL_DIR` (absolute), or {@link defaultDir}. */
export const modelDir: Effect.Effect<string> = Config.string("SPOTFLEET_MODEL_DIR").pipe(
  Config.withDefault(""),
  Effect.orDie,
  Effect.map((dir) => (dir.trim().length > 0 ? path.resolve(dir) : defaultDir()))
)
