import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { decideLoadLevel, type LoadLevel, type LoadSample, type ShedThresholds } from './load-shed.ts';

export interface LoadMonitor {
  /**
   * The decision from the last completed window (`normal` until the first one completes), raised at
   * once while the current turn of the event loop has run longer than a delay threshold.
   */
  level(): LoadLevel;
  /** How long the current turn of the event loop has kept timers from running, ms (≈0 when not stalled). */
  stallMs(): number;
  /** The last completed window's measurements. */
  sample(): LoadSample;
  start(): void;
  stop(): void;
}

/** Period of the stall clock: a timer that only records when it last ran. */
const TICK_MS = 10;

/**
 * Samples event loop delay (p99), event loop utilization and heap use every `sampleMs`, and decides
 * the load level for the next window. A blocked loop delays the sampler too, so the first callback
 * to run after a stall is the sampler seeing it (timers run before new I/O in each loop turn).
 *
 * A window's decision comes too late for a burst: when hundreds of requests arrive in one turn of the
 * loop, they are all admitted and queued before the sampler runs again, and the last waits for all
 * the others. So `level()` also reads a stall clock (the time since a 10 ms timer last ran): once the
 * current turn has run past a class's delay threshold, the rest of the burst is shed at once.
 */
export function createLoadMonitor(options: { sampleMs: number; thresholds: ShedThresholds }): LoadMonitor {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  let lastElu: EventLoopUtilization | undefined;
  let timer: NodeJS.Timeout | undefined;
  let current: LoadSample = { delayMs: 0, utilization: 0, heapRatio: 0 };
  let level: LoadLevel = 'normal';
  let ticker: NodeJS.Timeout | undefined;
  let lastTick = performance.now();
  const stallMs = () => (ticker ? Math.max(0, performance.now() - lastTick - TICK_MS) : 0);

  function measure(): void {
    const elu = performance.eventLoopUtilization();
    const utilization = lastElu ? performance.eventLoopUtilization(elu, lastElu).utilization : 0;
    lastElu = elu;
    const heap = getHeapStatistics();
    // The histogram records in nanoseconds; a window with no samples reports NaN/0.
    const p99 = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
    histogram.reset();
    current = { delayMs: p99, utilization, heapRatio: heap.used_heap_size / heap.heap_size_limit };
    level = decideLoadLevel(current, options.thresholds);
  }

  return {
    level() {
      const stall = stallMs();
      if (stall > options.thresholds.write.delayMs) return 'shed-all';
      if (level === 'normal' && stall > options.thresholds.browse.delayMs) return 'shed-browse';
      return level;
    },
    stallMs,
    sample: () => current,
    start() {
      if (timer) return;
      histogram.enable();
      lastElu = performance.eventLoopUtilization();
      timer = setInterval(measure, options.sampleMs);
      timer.unref();
      lastTick = performance.now();
      ticker = setInterval(() => {
        lastTick = performance.now();
      }, TICK_MS);
      ticker.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      clearInterval(ticker);
      ticker = undefined;
      histogram.disable();
      level = 'normal';
    },
  };
}
