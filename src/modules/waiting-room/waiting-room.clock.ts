import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Round trips a clock sample is chosen among (the shortest one's error is at most half of it). */
const SAMPLES = 10;

/**
 * The room's clock: this instance's clock corrected to Redis's, the clock admission runs on and
 * tickets and passes are stamped with. Every decision an instance takes on its own about a sale's
 * window — is it live, so does checkout need a pass; has it ended, so may one still join — reads
 * this one, so instances agree whatever their own clocks say: an instance 30 s behind sold a queued
 * sale's products without a pass for its first 30 s, one 30 s ahead refused them 30 s early.
 *
 * `sync` reads Redis's TIME (one round trip); the offset kept is that of the sample with the shortest
 * round trip among the last ten, so a slow reply (a busy event loop, a loaded Redis) does not move
 * it. Until the first sample, and if Redis cannot be read, the last offset holds (0 at first).
 */
export interface RoomClock {
  /** Now, ms since the epoch, on Redis's clock. */
  now(): number;
  /** Takes one sample of Redis's clock. */
  sync(): Promise<void>;
  start(): void;
  stop(): void;
}

export function createRoomClock(deps: {
  redis: Redis;
  /** How often to take a sample. */
  syncMs: number;
  logger: Logger;
  /** This process's clock. @defaultValue Date.now */
  local?: () => number;
}): RoomClock {
  const local = deps.local ?? Date.now;
  const samples: { roundTrip: number; offset: number }[] = [];
  let offset = 0;
  let timer: NodeJS.Timeout | undefined;
  let failing = false;

  return {
    now: () => local() + offset,
    async sync() {
      try {
        const sent = local();
        const [seconds, micros] = await deps.redis.time();
        const received = local();
        const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
        samples.push({ roundTrip: received - sent, offset: Math.round(redisNow - (sent + received) / 2) });
        if (samples.length > SAMPLES) samples.shift();
        offset = samples.reduce((best, sample) => (sample.roundTrip < best.roundTrip ? sample : best)).offset;
        failing = false;
      } catch (error) {
        if (!failing) deps.logger.warn({ err: error }, "waiting room: could not read Redis's clock; keeping the last offset");
        failing = true;
      }
    },
    start() {
      timer ??= setInterval(() => void this.sync(), deps.syncMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
