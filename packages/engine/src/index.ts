/**
 * @spotfleet/engine: the control-plane engine for cloud VM fleets on spot capacity.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Agent from "./Agent.js"
/** @since 0.1.0 */
export * as AgentStore from "./AgentStore.js"
/** @since 0.1.0 */
export * as AutoSwitch from "./AutoSwitch.js"
/** @since 0.2.0 */
export * as Batcher from "./Batcher.js"
/** @since 0.1.0 */
export * as Command from "./Command.js"
/** @since 0.1.0 */
export * as Consolidation from "./Consolidation.js"
/** @since 0.1.0 */
export * as ConsolidationJob from "./ConsolidationJob.js"
/** @since 0.1.0 */
export * as DecisionLog from "./DecisionLog.js"
/** @since 0.1.0 */
export * as DecisionModel from "./DecisionModel.js"
/** @since 0.1.0 */
export * as DomainEvent from "./DomainEvent.js"
/** @since 0.1.0 */
export * as Engine from "./Engine.js"
/** @since 0.1.0 */
export * as EngineClient from "./EngineClient.js"
/** @since 0.1.0 */
export * as EngineMetrics from "./EngineMetrics.js"
/** @since 0.1.0 */
export * as EngineError from "./EngineError.js"
/** @since 0.1.0 */
export * as EventLog from "./EventLog.js"
/** @since 0.1.0 */
export * as GuardRails from "./GuardRails.js"
/** @since 0.1.0 */
export * as IdempotencyStore from "./IdempotencyStore.js"
/** @since 0.1.0 */
export * as Ids from "./Ids.js"
/** @since 0.1.0 */
export * as Instance from "./Instance.js"
/** @since 0.2.0 */
export * as InterruptionData from "./InterruptionData.js"
/** @since 0.1.0 */
export * as JobLease from "./JobLease.js"
/** @since 0.1.0 */
export * as Jobs from "./Jobs.js"
/** @since 0.1.0 */
export * as MemoryStore from "./MemoryStore.js"
/** @since 0.1.0 */
export * as ModelRegistry from "./ModelRegistry.js"
/** @since 0.2.0 */
export * as Notification from "./Notification.js"
/** @since 0.1.0 */
export * as Pool from "./Pool.js"
/** @since 0.1.0 */
export * as PoolLedger from "./PoolLedger.js"
/** @since 0.1.0 */
export * as PriceHistorySource from "./PriceHistorySource.js"
/** @since 0.1.0 */
export * as PriceService from "./PriceService.js"
/** @since 0.1.0 */
export * as PriceStore from "./PriceStore.js"
/** @since 0.1.0 */
export * as Pricing from "./Pricing.js"
/** @since 0.2.0 */
export * as Product from "./Product.js"
/** @since 0.1.0 */
export * as Savings from "./Savings.js"
/** @since 0.1.0 */
export * as SavingsAccrual from "./SavingsAccrual.js"
/** @since 0.1.0 */
export * as StateMachine from "./StateMachine.js"
/** @since 0.2.0 */
export * as SwitchGuards from "./SwitchGuards.js"
/** @since 0.1.0 */
export * as SwitchHistory from "./SwitchHistory.js"
/** @since 0.2.0 */
export * as SwitchSimulation from "./SwitchSimulation.js"
/** @since 0.1.0 */
export * as Tenant from "./Tenant.js"
/** @since 0.1.0 */
export * as TenantStore from "./TenantStore.js"
/** @since 0.2.0 */
export * as Timing from "./Timing.js"

/** @since 0.1.0 */
export { createEngine } from "./EngineClient.js"
