/**
 * AWS price sources for `@spotfleet/engine`.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as AwsError from "./AwsError.js"
/** @since 0.1.0 */
export * as AwsSpotPriceSource from "./AwsSpotPriceSource.js"
/** @since 0.1.0 */
export * as OnDemandOffer from "./OnDemandOffer.js"
/** @since 0.1.0 */
export * as PriceSync from "./PriceSync.js"
