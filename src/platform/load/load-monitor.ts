import { monitorEventLoopDelay, performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { decideLoadLevel, type LoadLevel, type LoadSample, type ShedThresholds } from './load-shed.ts';

export interface LoadMonitor {
  /** The decision from the last completed window (`normal` until the first one completes). */
  level(): LoadLevel;
  /** The last completed window's measurements. */
  sample(): LoadSample;
  start(): void;
  stop(): void;
}

/**
 * Samples event loop delay (p99), event loop utilization and heap use every `sampleMs`, and decides
 * the load level for the next window. A blocked loop delays the sampler too, so the first callback
 * to run after a stall is the sampler seeing it (timers run before new I/O in each loop turn).
 */
export function createLoadMonitor(options: { sampleMs: number; thresholds: ShedThresholds }): LoadMonitor {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  let lastElu: EventLoopUtilization | undefined;
  let timer: NodeJS.Timeout | undefined;
  let current: LoadSample = { delayMs: 0, utilization: 0, heapRatio: 0 };
  let level: LoadLevel = 'normal';

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
    level: () => level,
    sample: () => current,
    start() {
      if (timer) return;
      histogram.enable();
      lastElu = performance.eventLoopUtilization();
      timer = setInterval(measure, options.sampleMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
      histogram.disable();
      level = 'normal';
    },
  };
}
