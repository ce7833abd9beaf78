/**
 * @spotfleet/adapter-http: the spotfleet engine over HTTP (agent API v1, admin and dashboard API,
 * SSE, Prometheus metrics, OpenAPI, typed client, web handler).
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AgentFastPath from "./AgentFastPath.js"
/** @since 0.1.0 */
export * as Api from "./Api.js"
/** @since 0.1.0 */
export * as ApiError from "./ApiError.js"
/** @since 0.1.0 */
export * as ApiLive from "./ApiLive.js"
/** @since 0.1.0 */
export * as Auth from "./Auth.js"
/** @since 0.1.0 */
export * as Client from "./Client.js"
/** @since 0.1.0 */
export * as Events from "./Events.js"
/** @since 0.1.0 */
export * as HttpConfig from "./HttpConfig.js"
/** @since 0.1.0 */
export * as LegacyApi from "./LegacyApi.js"
/** @since 0.1.0 */
export * as LegacyLive from "./LegacyLive.js"
/** @since 0.1.0 */
export * as Metrics from "./Metrics.js"
/** @since 0.1.0 */
export * as MetricsSummaryApi from "./MetricsSummaryApi.js"
/** @since 0.1.0 */
export * as MetricsSummaryLive from "./MetricsSummaryLive.js"
/** @since 0.1.0 */
export * as ModelsApi from "./ModelsApi.js"
/** @since 0.1.0 */
export * as ModelsLive from "./ModelsLive.js"
/** @since 0.2.0 */
export * as NotificationsApi from "./NotificationsApi.js"
/** @since 0.2.0 */
export * as NotificationsLive from "./NotificationsLive.js"
/** @since 0.1.0 */
export * as OpenApiSpec from "./OpenApiSpec.js"
/** @since 0.1.0 */
export * as PricingApi from "./PricingApi.js"
/** @since 0.1.0 */
export * as PricingLive from "./PricingLive.js"
/** @since 0.1.0 */
export * as RateLimit from "./RateLimit.js"
/** @since 0.1.0 */
export * as Serving from "./Serving.js"
/** @since 0.1.0 */
export * as WebHandler from "./WebHandler.js"
