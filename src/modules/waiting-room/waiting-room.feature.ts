import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type client from 'prom-client';
import type { StockGate } from '../inventory/index.ts';
import type { SaleEvent } from '../sale-events/index.ts';
import type { WaitingRoomConfig } from '../../platform/config/waiting-room.config.ts';
import type { Database } from '../../platform/db/client.ts';
import type { AdmissionDeps } from './waiting-room.admission.ts';
import { waitingRoomMetricsFor } from './waiting-room.metrics.ts';
import { createCheckoutRule } from './waiting-room.checkout.ts';
import { createRoomClock } from './waiting-room.clock.ts';
import { createEventRegistry } from './waiting-room.registry.ts';
import type { WaitingRoomRepository } from './waiting-room.repository.ts';
import { ensureVisitorCookie, holdersOf, passesOf, renewVisitorCookie, waitingRoomRoutes } from './waiting-room.routes.ts';
import { Ticket, TicketStatus } from './waiting-room.schemas.ts';
import { roomKeys } from './waiting-room.scripts.ts';
import { createWaitingRoom, type RoomNotice, type WaitingRoom } from './waiting-room.service.ts';
import { createStreamHub, type StreamHub } from './waiting-room.streams.ts';
import { createTokenSigner } from './waiting-room.tokens.ts';

export const waitingRoomSchemas = [TicketStatus, Ticket];

export interface WaitingRoomFeatureDeps {
  config: WaitingRoomConfig;
  prefix: string;
  /** The process's shared pub/sub connection (the room's notices are one channel on it; its owner closes it). */
  subscriber: Redis;
  /** The web role's state connection (fast-fail). */
  redis: Redis;
  /** Where the checkout rule records spent passes (`repo`'s table). */
  db: Database;
  repo: WaitingRoomRepository;
  sessionSecret: string;
  secureCookies: boolean;
  gate: Pick<StockGate, 'peek' | 'ensure'>;
  /** Products whose gate was invalidated, here or elsewhere (the stock view's `onForget`): see `AdmissionDeps.stockChanges`. */
  stockChanges?: AdmissionDeps['stockChanges'];
  listWaitingRooms: (endedAfter: Date) => Promise<SaleEvent[]>;
  liveWebInstances: () => number;
  instanceId: string;
  capacityRps: number;
  registry: client.Registry;
  logger: Logger;
  /** PostgreSQL's statement timeout (DB_STATEMENT_TIMEOUT_MS): see the checkout rule's `statementTimeoutMs`. Absent: 0. */
  statementTimeoutMs?: number;
}

/**
 * The waiting room as the web role runs it: the registry of queued sale events, the admission step
 * (every instance runs it; it is atomic in Redis), the event streams fed by Redis pub/sub, the routes,
 * and the checkout rule. `plugin` starts and stops all of it with the app.
 */
export function createWaitingRoomFeature(deps: WaitingRoomFeatureDeps) {
  const channel = `${deps.prefix}:waiting-room`;
  const registry = createEventRegistry({ list: deps.listWaitingRooms, refreshMs: deps.config.eventsRefreshMs, logger: deps.logger });
  const publish = (notice: RoomNotice) =>
    void deps.redis.publish(channel, JSON.stringify(notice)).catch((error: unknown) => deps.logger.warn({ err: error }, 'waiting room: could not publish a notice'));
  let metricsReader: Pick<WaitingRoom, 'queueLengths' | 'rates' | 'soldOut'> | undefined;
  let streamsReader: Pick<StreamHub, 'countByEvent'> | undefined;
  const metrics = waitingRoomMetricsFor(deps.registry, {
    queueLengths: () => metricsReader?.queueLengths() ?? Promise.resolve(new Map()),
    rates: () => metricsReader?.rates() ?? new Map(),
    soldOut: () => metricsReader?.soldOut() ?? new Map(),
    streamsOpen: () => streamsReader?.countByEvent() ?? new Map(),
  });
  const signer = createTokenSigner(deps.sessionSecret);
  const clock = createRoomClock({ redis: deps.redis, syncMs: deps.config.eventsRefreshMs, logger: deps.logger });
  const room = createWaitingRoom({
    redis: deps.redis,
    prefix: deps.prefix,
    config: deps.config,
    signer,
    registry,
    gate: deps.gate,
    ...(deps.stockChanges ? { stockChanges: deps.stockChanges } : {}),
    liveWebInstances: deps.liveWebInstances,
    instanceId: deps.instanceId,
    capacityRps: deps.capacityRps,
    metrics,
    logger: deps.logger,
    notify: publish,
    clock: clock.now,
    isSpent: (eventId, ticketId) => deps.repo.isSpent(deps.db.primary, { saleEventId: eventId, ticketId }),
    recordMerges: (eventId, merges) => deps.repo.recordMerges(deps.db.primary, eventId, merges),
    replacedOf: (eventId, ticketIds) => deps.repo.replacedOf(deps.db.primary, eventId, ticketIds),
    withRoomHold: (eventId, use) => deps.repo.withRoomHold(deps.db.primary, eventId, use),
  });
  metricsReader = room;
  const roomKey = roomKeys(deps.prefix).key;
  const checkoutRule = createCheckoutRule({
    db: deps.db,
    repo: deps.repo,
    registry,
    signer,
    metrics,
    logger: deps.logger,
    clock: clock.now,
    statementTimeoutMs: deps.statementTimeoutMs ?? 0,
    notify: publish,
    mergedAway: (pass) =>
      deps.redis.hexists(roomKey(pass.e, 'merged'), pass.t).then(
        (found) => found === 1,
        (error: unknown) => {
          deps.logger.warn({ err: error, saleEvent: pass.e }, 'waiting room: could not read whether a pass was merged away; taking it as not');
          return false;
        },
      ),
  });
  const hub = createStreamHub({ room, subscriber: deps.subscriber, channel, refreshMs: deps.config.streamRefreshMs, keepAliveMs: deps.config.keepAliveMs, logger: deps.logger, metrics });
  streamsReader = hub;

  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onReady', async () => {
      await Promise.all([registry.refresh(), clock.sync()]);
      registry.start();
      clock.start();
      hub.start();
      room.start();
    });
    // Before the server waits for open connections: end the streams (clients reconnect elsewhere).
    app.addHook('preClose', async () => {
      registry.stop();
      clock.stop();
      deps.logger.info({ streams: hub.count() }, 'waiting room: ending the event streams');
      hub.close();
      await room.stop();
    });
  };
  Object.assign(plugin, { [Symbol.for('skip-override')]: true });

  return {
    room,
    hub,
    registry,
    plugin,
    routes: waitingRoomRoutes({ room, hub, secureCookies: deps.secureCookies }),
    /**
     * A sale whose room this instance serves now, not ended (the storefront's waiting-room page, for a sale its reused
     * list of sales does not hold yet): the same view the routes answer from, and like them it looks for a room not
     * known here in a read begun after the request (`confirm`), so a room just saved is served at once.
     */
    async queuedSale(id: number): Promise<{ id: number; name: string; startsAt: string; endsAt: string; queued: true; productIds: number[] } | undefined> {
      const event = registry.get(id) ?? ((await registry.confirm()) ? registry.get(id) : undefined);
      if (!event || clock.now() >= event.endsAtMs) return undefined;
      return { id: event.id, name: event.name, startsAt: new Date(event.startsAtMs).toISOString(), endsAt: new Date(event.endsAtMs).toISOString(), queued: true, productIds: event.productIds };
    },
    /** Gives a visitor without one the visitor cookie (the storefront's waiting-room page, before it joins). */
    ensureVisitor: (request: FastifyRequest, reply: FastifyReply): void => void ensureVisitorCookie(request, reply, deps.secureCookies),
    /** Gives the browser a new visitor cookie (at sign-out: the old visitor's tickets and passes stay the account's only). */
    renewVisitor: (request: FastifyRequest, reply: FastifyReply): void => renewVisitorCookie(request, reply, deps.secureCookies),
    /** The checkout's pass rule, for the orders routes (their `CheckoutAdmission`). */
    checkout: {
      // From a line's opening (the pre-queue), not only from the start: see the checkout rule.
      active: () => registry.guarded(clock.now()).length > 0,
      async check(request: FastifyRequest, productIds: readonly number[], orderRef: string) {
        const { passes, expired } = checkoutRule.check(productIds, passesOf(request), holdersOf(request, deps.secureCookies));
        // Before the order's idempotency record is read, and not kept by it: a fresh pass then buys the order.
        if (expired.length > 0) await checkoutRule.refuseExpired(expired, orderRef);
        const spending = [...passes, ...expired];
        if (spending.length === 0) return undefined;
        return {
          spend: <T>(ref: string, place: () => Promise<T>, placed?: () => Promise<boolean>) => checkoutRule.spend(spending, ref, place, placed),
          saleEventIds: spending.map((pass) => pass.e),
        };
      },
    },
  };
}
