import { int, num } from './env-schema.ts';

/** The waiting room of sale events (see `src/modules/waiting-room/README.md`). */
export const waitingRoomEnv = {
  WAITING_ROOM_PASS_S: int({ default: 600, min: 10 }),
  WAITING_ROOM_TICK_MS: int({ default: 100, min: 10, max: 5000 }),
  WAITING_ROOM_STREAM_REFRESH_MS: int({ default: 1000, min: 100, max: 60_000 }),
  WAITING_ROOM_EVENTS_REFRESH_MS: int({ default: 1000, min: 100, max: 60_000 }),
  WAITING_ROOM_KEEPALIVE_MS: int({ default: 15_000, min: 1000, max: 300_000 }),
  WAITING_ROOM_TICKETS_PER_ADDRESS: int({ default: 1, min: 1, max: 1_000_000 }),
  // A share of the capacity measured within the SLO: above 1 the room would admit more than the shop serves.
  WAITING_ROOM_SAFETY_FACTOR: num({ default: 0.5, min: 0.01, max: 1 }),
  WAITING_ROOM_REQUESTS_PER_VISITOR: num({ default: 20, min: 1 }),
  WAITING_ROOM_CAPACITY_RPS: num({ default: 0, min: 0 }),
};

type WaitingRoomEnv = { [K in keyof typeof waitingRoomEnv]: ReturnType<(typeof waitingRoomEnv)[K]['parse']> };

export interface WaitingRoomConfig {
  /** How long an admission pass is valid after admission. */
  passS: number;
  /** How often each instance runs the (atomic, cluster-wide) admission step. */
  tickMs: number;
  /** How often open event streams are refreshed with their position. */
  streamRefreshMs: number;
  /** How often each instance re-reads which sale events have a waiting room. */
  eventsRefreshMs: number;
  /**
   * How often each open event stream gets a keep-alive comment (`: keep-alive`), so that a proxy or load balancer
   * between the visitor and the instance does not close a quiet stream: below the shortest idle timeout on the way.
   */
  keepAliveMs: number;
  /** New guest tickets per address class (an IPv4 address, an IPv6 /64) per event; signed-in customers are not counted. */
  ticketsPerAddress: number;
  /** Share of the measured capacity the derived admission rate uses. */
  safetyFactor: number;
  /** Requests an admitted visitor makes (product pages, cart, checkout) in the derived rate. */
  requestsPerVisitor: number;
  /**
   * Requests/s one web instance serves within the SLO (the rendered manifests set the deployment spec's
   * per-pod figure); 0: `bench/results/capacity.json` beside the sources, else that per-pod figure
   * (`src/web/capacity.ts`).
   */
  capacityRps: number;
}

export function waitingRoomConfigFrom(e: WaitingRoomEnv): WaitingRoomConfig {
  return {
    passS: e.WAITING_ROOM_PASS_S,
    tickMs: e.WAITING_ROOM_TICK_MS,
    streamRefreshMs: e.WAITING_ROOM_STREAM_REFRESH_MS,
    eventsRefreshMs: e.WAITING_ROOM_EVENTS_REFRESH_MS,
    keepAliveMs: e.WAITING_ROOM_KEEPALIVE_MS,
    ticketsPerAddress: e.WAITING_ROOM_TICKETS_PER_ADDRESS,
    safetyFactor: e.WAITING_ROOM_SAFETY_FACTOR,
    requestsPerVisitor: e.WAITING_ROOM_REQUESTS_PER_VISITOR,
    capacityRps: e.WAITING_ROOM_CAPACITY_RPS,
  };
}
