import client from 'prom-client';

export interface WaitingRoomMetrics {
  /** Visitors admitted, by the instance whose admission step admitted them (sum over instances: the cluster's). */
  admitted: client.Counter<'sale_event'>;
  /** How long a visitor waited for the line to move: see `getWaitSeconds`. */
  wait: client.Histogram<'sale_event'>;
  /** Lifetime of this instance's event streams, observed when each closes (admitted, left, shut down). */
  streamSeconds: client.Histogram<'sale_event'>;
  /** Passes presented at checkout for the first time. */
  passesUsed: client.Counter<'sale_event'>;
  /** Checkouts refused for a missing, forged or expired pass. */
  refused: client.Counter<'sale_event' | 'code'>;
}

/**
 * The wait `salescale_waiting_room_wait_seconds` records for a visitor admitted at `admittedAtMs`: from when the
 * line started moving for them — joining, or the sale's start for a visitor who joined before it (the pre-queue)
 * — to admission. Time spent in line before the start is waiting for the sale, not for capacity: counted, it put
 * the p95 over WaitingRoomLongWait's 10 minutes at the start of every sale whose line opened that early.
 * All three on Redis's clock.
 */
export function getWaitSeconds(admittedAtMs: number, joinedAtMs: number, startsAtMs: number): number {
  return Math.max(0, admittedAtMs - Math.max(joinedAtMs, startsAtMs)) / 1000;
}

/** Seconds; a queue can last from a blink to the whole sale. */
export const WAIT_BUCKETS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

export function waitingRoomMetricsFor(
  registry: client.Registry,
  read: {
    queueLengths(): Promise<Map<number, number>>;
    rates(): Map<number, number>;
    soldOut(): Map<number, boolean>;
    /** This instance's open event streams per event. */
    streamsOpen(): Map<number, number>;
  },
): WaitingRoomMetrics {
  new client.Gauge({
    name: 'salescale_waiting_room_queue_length',
    help: 'Visitors waiting in a sale event’s waiting room (cluster-wide; every instance reports the same figure)',
    labelNames: ['sale_event'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [event, length] of await read.queueLengths().catch(() => new Map<number, number>())) this.set({ sale_event: String(event) }, length);
    },
  });
  new client.Gauge({
    name: 'salescale_waiting_room_admission_rate',
    help: 'Admission rate set for a live waiting room (visitors/s); 0 while paused',
    labelNames: ['sale_event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, rate] of read.rates()) this.set({ sale_event: String(event) }, rate);
    },
  });
  new client.Gauge({
    name: 'salescale_waiting_room_sold_out',
    help: '1 while a live waiting room’s products are sold out (everyone waiting was told)',
    labelNames: ['sale_event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, sold] of read.soldOut()) this.set({ sale_event: String(event) }, sold ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'salescale_waiting_room_streams_open',
    help: 'Waiting-room event streams (Server-Sent Events) this instance holds open; each holds a connection for the whole wait',
    labelNames: ['sale_event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, open] of read.streamsOpen()) this.set({ sale_event: String(event) }, open);
    },
  });
  return {
    admitted: new client.Counter({ name: 'salescale_waiting_room_admitted_total', help: 'Visitors admitted from the waiting room', labelNames: ['sale_event'], registers: [registry] }),
    wait: new client.Histogram({
      name: 'salescale_waiting_room_wait_seconds',
      help: 'Time a visitor waited for the line to move: from joining the waiting room, or from the sale’s start for a visitor who joined before it, to admission',
      labelNames: ['sale_event'],
      buckets: WAIT_BUCKETS,
      registers: [registry],
    }),
    streamSeconds: new client.Histogram({
      name: 'salescale_waiting_room_stream_seconds',
      help: 'How long waiting-room event streams stayed open on this instance (not in http_request_duration_seconds)',
      labelNames: ['sale_event'],
      buckets: WAIT_BUCKETS,
      registers: [registry],
    }),
    passesUsed: new client.Counter({ name: 'salescale_waiting_room_passes_used_total', help: 'Admission passes used at checkout (each counted once)', labelNames: ['sale_event'], registers: [registry] }),
    refused: new client.Counter({
      name: 'salescale_waiting_room_checkouts_refused_total',
      help: 'Checkouts of a queued sale’s products refused for want of a valid pass',
      labelNames: ['sale_event', 'code'],
      registers: [registry],
    }),
  };
}
