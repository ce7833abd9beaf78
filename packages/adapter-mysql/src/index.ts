/**
 * @spotfleet/adapter-mysql: the store ports of `@spotfleet/engine` on MySQL 8 / MariaDB 10.6+.
 *
 * @since 0.1.0
 */

/**
 * The engine's model registry on MySQL (one active version per name, enforced by a key).
 *
 * @since 0.1.0
 */
export * as MysqlModelRegistry from "./MysqlModelRegistry.js"

/**
 * The schema as migrations in code, in their own `spotfleet_migrations` table.
 *
 * @since 0.1.0
 */
export * as MysqlMigrations from "./MysqlMigrations.js"

/**
 * The store ports (AgentStore, EventLog, IdempotencyStore, TenantStore) on MySQL.
 *
 * @since 0.1.0
 */
export * as MysqlStore from "./MysqlStore.js"

/**
 * The `JobLease` port (singleton background jobs across server processes) on MySQL.
 *
 * @since 0.1.0
 */
export * as MysqlJobLease from "./MysqlJobLease.js"

/**
 * The `DecisionLog` port (automatic-switch decisions) on MySQL.
 *
 * @since 0.1.0
 */
export * as MysqlDecisionLog from "./MysqlDecisionLog.js"

/**
 * The `NotificationStore` port (operator notifications) on MySQL.
 *
 * @since 0.2.0
 */
export * as MysqlNotificationStore from "./MysqlNotificationStore.js"

/**
 * Why the database could not be used, in one line with the fix (start-up failures).
 *
 * @since 0.1.0
 */
export * as MysqlFailure from "./MysqlFailure.js"
