/**
 * The handler of {@link MetricsSummaryApi.MetricsSummaryApi}: brings the store gauges up to date
 * (as a scrape does), takes a snapshot of the metric registry and summarises it.
 *
 * @since 0.1.0
 */
import { HttpApiBuilder } from "@effect/platform"
import { Clock, Effect, Layer, Metric } from "effect"
import { Api } from "./Api.js"
import * as internal from "./internal/metricsSummary.js"
import { Metrics } from "./Metrics.js"

/**
 * The summary group's handlers.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<
  import("@effect/platform/HttpApiGroup").ApiGroup<"spotfleet", "metricsSummary">,
  never,
  Metrics | import("./Security.js").AdminAuth
> = HttpApiBuilder.group(Api, "metricsSummary", (handlers) =>
  Effect.gen(function*() {
    const metrics = yield* Metrics
    return handlers.handle("metricsSummary", () =>
      Effect.gen(function*() {
        yield* metrics.refresh
        const pairs = yield* Metric.snapshot
        return internal.summarize(pairs, yield* Clock.currentTimeMillis)
      }))
  }))
