/**
 * A commit that dies between the aggregate write and the event write leaves neither behind.
 * A trigger on `events` (created in this file's own database only) stands in for the crash:
 * it either raises an error, or stalls the INSERT so the test can KILL the connection from
 * another one while the transaction holds the agent write.
 */
import { assert } from "@effect/vitest"
import { AgentStore, DomainEvent, Engine, EventLog, IdempotencyStore, Pool, PriceStore, Pricing, type StateMachine } from "@spotfleet/engine"
import { Effect, Either, Fiber, Option } from "effect"
import { admin, describeMysql, it, layerStore, TestDatabase } from "./utils.js"

const pool = Pool.make("t3.medium", "us-east-1a")
const unique = () => globalThis.crypto.randomUUID().slice(0, 12)

const TRIGGER = `CREATE TRIGGER crash_before_event BEFORE INSERT ON events FOR EACH ROW
BEGIN
  IF NEW.actor_id = 'crash:signal' THEN
    SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure';
  ELSEIF NEW.actor_id = 'crash:stall' THEN
    DO SLEEP(20);
  ELSEIF NEW.actor_id = 'slow' THEN
    DO SLEEP(1);
  END IF;
END`

const installTrigger = Effect.flatMap(TestDatabase, (db) =>
  admin(async (c) => {
    await c.query(`USE \`${db.name}\``)
    await c.query("DROP TRIGGER IF EXISTS crash_before_event")
    await c.query(TRIGGER)
  }))

const setup = Effect.gen(function*() {
  const engine = yield* Engine.Engine
  const store = yield* AgentStore.AgentStore
  const tenant = yield* engine.createTenant({ name: `crash-${unique()}`, tokenHash: `${unique()}${unique()}${unique()}` })
  const { agent } = yield* engine.register(tenant.id, { logicalAgentId: `agent-${unique()}`, cloudInstanceId: `i-${unique()}`, pool })
  const before = Option.getOrThrow(yield* store.load(agent.id))
  const log = yield* EventLog.EventLog
  const eventsBefore = yield* log.read({ tenantId: tenant.id, afterId: 0, limit: 1000 })
  return { store, log, tenant, before, eventsBefore }
})

/** A change to the agent and to its PRIMARY, with one event carrying the crash marker. */
const change = (before: StateMachine.AgentAggregate, marker: string) => ({
  before,
  after: {
    ...before,
    agent: { ...before.agent, version: before.agent.version + 1, metadata: { crashed: "no" } } as typeof before.agent,
    instances: before.instances.map((i) => ({ ...i, hourlyPrice: 9.99 }) as typeof i)
  },
  events: [
    DomainEvent.EventDraft.make({
      tenantId: before.agent.tenantId,
      agentId: before.agent.id,
      type: "ConfigChanged",
      at: 0,
      actor: DomainEvent.Actor.make({ kind: "system", id: marker }),
      data: {}
    })
  ]
})

describeMysql("crash safety", () => {
  it.layer(layerStore(), { timeout: "60 seconds" })((it) => {
    it.effect("an error raised while writing the events rolls back the aggregate write", () =>
      Effect.gen(function*() {
        yield* installTrigger
        const { before, eventsBefore, log, store, tenant } = yield* setup
        const error = yield* Effect.flip(store.commit(change(before, "crash:signal")))
        assert.strictEqual(error._tag, "StoreError")
        assert.notInclude(error.message, "INSERT")
        assert.notInclude(error.message, "injected")
        assert.deepStrictEqual(Option.getOrThrow(yield* store.load(before.agent.id)), before)
        assert.deepStrictEqual(yield* log.read({ tenantId: tenant.id, afterId: 0, limit: 1000 }), eventsBefore)
      }).pipe(Effect.provide(Engine.layer())))

    it.effect("a connection killed after the aggregate write, during the event write, leaves neither", () =>
      Effect.gen(function*() {
        yield* installTrigger
        const db = yield* TestDatabase
        const { before, eventsBefore, log, store, tenant } = yield* setup
        const fiber = yield* Effect.fork(store.commit(change(before, "crash:stall")))
        // Wait until the commit's connection is inside the event INSERT (stalled by the trigger).
        let victim: { id: number; modified: number } | null = null
        for (let attempt = 0; attempt < 200 && victim === null; attempt++) {
          victim = yield* admin(async (c) => {
            const [rows] = await c.query(
              "SELECT p.ID AS id, t.trx_rows_modified AS modified FROM information_schema.PROCESSLIST p " +
                "JOIN information_schema.INNODB_TRX t ON t.trx_mysql_thread_id = p.ID " +
                // While the trigger stalls, the thread's current statement is the trigger's SLEEP.
                "WHERE p.DB = ? AND p.INFO LIKE 'DO SLEEP(20)%'",
              [db.name]
            )
            const row = (rows as Array<{ id: number; modified: number }>)[0]
            return row === undefined ? null : { id: Number(row.id), modified: Number(row.modified) }
          })
          if (victim === null) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 25)))
        }
        assert.isNotNull(victim, "the commit never reached the event write")
        // The agent and instance rows are written (uncommitted) when the connection dies: a
        // dirty read from another connection sees both.
        const dirty = yield* admin(async (c) => {
          await c.query("SET SESSION TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
          const [agents] = await c.query(`SELECT version FROM \`${db.name}\`.agents WHERE id = ?`, [before.agent.id])
          const [instances] = await c.query(`SELECT hourly_price FROM \`${db.name}\`.instances WHERE agent_id = ?`, [before.agent.id])
          return {
            version: Number((agents as Array<{ version: number }>)[0]!.version),
            prices: (instances as Array<{ hourly_price: unknown }>).map((r) => Number(r.hourly_price))
          }
        })
        assert.strictEqual(dirty.version, before.agent.version + 1)
        assert.deepStrictEqual(dirty.prices, [9.99])
        yield* admin((c) => c.query(`KILL ${victim!.id}`))
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(exit._tag === "Failure")
        assert.deepStrictEqual(Option.getOrThrow(yield* store.load(before.agent.id)), before)
        assert.deepStrictEqual(yield* log.read({ tenantId: tenant.id, afterId: 0, limit: 1000 }), eventsBefore)
        // The store keeps working on its other connections afterwards.
        const ok = change(before, "fine")
        yield* store.commit(ok)
        assert.strictEqual(Option.getOrThrow(yield* store.load(before.agent.id)).agent.version, before.agent.version + 1)
      }).pipe(Effect.provide(Engine.layer())))

    it.effect("event ids follow commit order: a commit that starts later cannot publish a larger id first", () =>
      Effect.gen(function*() {
        yield* installTrigger
        const first = yield* setup
        const second = yield* setup
        // The first commit takes its event id, then stalls for a second before committing.
        const slow = yield* Effect.fork(first.store.commit(change(first.before, "slow")))
        yield* Effect.promise(() => new Promise((r) => setTimeout(r, 300)))
        const fast = yield* second.store.commit(change(second.before, "fast"))
        // By the time the later commit returns, the earlier one is visible, with a smaller id:
        // a reader that saw the later event can never miss the earlier one.
        const visible = yield* first.log.read({ tenantId: first.tenant.id, afterId: 0, limit: 1000 })
        const slowEvents = yield* Fiber.join(slow)
        assert.isTrue(visible.some((e) => e.id === slowEvents[0]!.id), "the earlier commit was not visible yet")
        assert.isBelow(slowEvents[0]!.id, fast[0]!.id)
      }).pipe(Effect.provide(Engine.layer())))
  })

  // A price report's log commit: key first, then its snapshots and on-demand price, then its
  // event (where the trigger kills it), then the event ids into the record.
  const logCommitDies = (label: string, options: Parameters<typeof layerStore>[0]) =>
    it.layer(layerStore(options), { timeout: "60 seconds" })((it) => {
      it.effect(`${label}: a log commit that dies at its event leaves no snapshot, no on-demand price, no record; its batch-mates are written`, () =>
        Effect.gen(function*() {
          yield* installTrigger
          const { log, tenant } = yield* setup
          const prices = yield* PriceStore.PriceStore
          const idempotency = yield* IdempotencyStore.IdempotencyStore
          const instanceType = `cs${unique()}.large`
          const commitOf = (key: string, n: number, marker: string) =>
            log.commit({
              events: [
                DomainEvent.EventDraft.make({
                  tenantId: tenant.id,
                  agentId: null,
                  type: "PriceReported",
                  at: 0,
                  actor: DomainEvent.Actor.make({ kind: "agent", id: marker }),
                  data: { n }
                })
              ],
              snapshots: [
                Pricing.SnapshotDraft.make({
                  tenantId: tenant.id,
                  pool,
                  price: n,
                  observedAt: 5_000 + n,
                  reporterAgentId: null,
                  reporterRole: null,
                  source: "agent",
                  receivedAt: 0
                })
              ],
              onDemand: marker === "crash:signal" ? [Pricing.OnDemandPrice.make({ instanceType, region: "us-east-1", price: 1, observedAt: 0 })] : [],
              idempotency: IdempotencyStore.IdempotencyRecord.make({ tenantId: tenant.id, key, operation: "op", response: { eventIds: [] }, createdAt: 0 })
            })
          // Alone, then made together with others (one script, then one by one after the failure).
          const alone = yield* Effect.flip(commitOf("dies-alone", 1, "crash:signal"))
          assert.strictEqual(alone._tag, "StoreError")
          const together = yield* Effect.all(
            [commitOf("ok-1", 2, "fine"), commitOf("dies-together", 3, "crash:signal"), commitOf("ok-2", 4, "fine")].map(Effect.either),
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual(together.map(Either.isRight), [true, false, true])
          const snapshots = yield* prices.snapshots({ from: 5_000, to: 5_100, pools: [pool] })
          assert.sameMembers(snapshots.filter((x) => x.tenantId === tenant.id).map((x) => x.price), [2, 4])
          assert.deepStrictEqual((yield* prices.onDemandPrices).filter((p) => p.instanceType === instanceType), [])
          for (const key of ["dies-alone", "dies-together"]) assert.isTrue(Option.isNone(yield* idempotency.get(tenant.id, key)))
          const events = yield* log.read({ tenantId: tenant.id, afterId: 0, limit: 1000 })
          assert.sameMembers(events.filter((e) => e.type === "PriceReported").map((e) => e.data.n), [2, 4])
          for (const [i, key] of [[0, "ok-1"], [2, "ok-2"]] as const) {
            const written = together[i]!
            assert.isTrue(Either.isRight(written))
            const record = Option.getOrThrow(yield* idempotency.get(tenant.id, key))
            assert.deepStrictEqual(record.response, { eventIds: Either.isRight(written) ? written.right.map((e) => e.id) : [] })
          }
        }).pipe(Effect.provide(Engine.layer())))
    })
  logCommitDies("own pool", undefined)
  logCommitDies("SqlClient only", { store: { rawPoolConnections: 0 } })
})
