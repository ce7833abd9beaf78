/**
 * The engine's `InterruptionData` port read from the AWS Spot Instance Advisor feed
 * (`spot-advisor-data.json`): from a file or from a URL (by default AWS's public feed). The
 * engine holds the format and the lookups; this module only does the Node.js I/O, so the engine
 * keeps depending on `effect` alone. It lives in this package because the training pipeline reads
 * the same feed for its dataset, and a server that runs the decision loop already depends on it.
 *
 * @since 0.2.0
 */
import { InterruptionData } from "@spotfleet/engine"
import { Duration, Effect, Either, Layer } from "effect"
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"

/**
 * AWS's public Spot Instance Advisor feed.
 *
 * @since 0.2.0
 * @category constants
 */
export const DEFAULT_URL = "https://spot-bid-advisor.s3.amazonaws.com/spot-advisor-data.json"

/**
 * A decoded feed and where it came from (the sha256 of its bytes names the exact version a
 * dataset was built on).
 *
 * @since 0.2.0
 * @category models
 */
export interface Loaded {
  readonly table: InterruptionData.Table
  readonly description: string
  readonly sha256: string
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e))

/**
 * Decodes feed text (pure).
 *
 * @since 0.2.0
 * @category decoding
 */
export const fromText = (text: string, description: string): Either.Either<Loaded, InterruptionData.InterruptionDataError> =>
  Either.map(InterruptionData.decodeText(text, description), (table) => ({
    table,
    description,
    sha256: createHash("sha256").update(text).digest("hex")
  }))

/**
 * Reads the feed from a file.
 *
 * @since 0.2.0
 * @category sources
 */
export const fromFile = (path: string): Effect.Effect<Loaded, InterruptionData.InterruptionDataError> =>
  Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) => new InterruptionData.InterruptionDataError({ source: path, reason: `cannot read: ${messageOf(e)}` })
  }).pipe(Effect.flatMap((text) => fromText(text, path)))

/**
 * Fetches the feed from a URL (default AWS's public feed) within `timeout` (default 30 s).
 *
 * @since 0.2.0
 * @category sources
 */
export const fromUrl = (
  url: string = DEFAULT_URL,
  options: { readonly timeout?: Duration.DurationInput | undefined } = {}
): Effect.Effect<Loaded, InterruptionData.InterruptionDataError> =>
  Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(url, { signal })
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`)
      return response.text()
    },
    catch: (e) => new InterruptionData.InterruptionDataError({ source: url, reason: `cannot fetch: ${messageOf(e)}` })
  }).pipe(
    Effect.timeoutFail({
      duration: options.timeout ?? Duration.seconds(30),
      onTimeout: () => new InterruptionData.InterruptionDataError({ source: url, reason: "no answer in time" })
    }),
    Effect.flatMap((text) => fromText(text, url))
  )

/**
 * `InterruptionData` from a file, read once when the layer is built.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerFile = (path: string): Layer.Layer<InterruptionData.InterruptionData, InterruptionData.InterruptionDataError> =>
  Layer.effect(InterruptionData.InterruptionData, Effect.map(fromFile(path), (l) => InterruptionData.make(l.table)))

/**
 * `InterruptionData` from a URL, fetched once when the layer is built.
 *
 * @since 0.2.0
 * @category layers
 */
export const layerUrl = (
  url: string = DEFAULT_URL,
  options: { readonly timeout?: Duration.DurationInput | undefined } = {}
): Layer.Layer<InterruptionData.InterruptionData, InterruptionData.InterruptionDataError> =>
  Layer.effect(InterruptionData.InterruptionData, Effect.map(fromUrl(url, options), (l) => InterruptionData.make(l.table)))
