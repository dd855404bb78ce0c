import { ConfigError, bool, int, timerMs } from '../config/env-schema.ts';
import type { ShedThresholds } from './load-shed.ts';

export const loadShedEnv = {
  LOAD_SHED_ENABLED: bool(true),
  LOAD_SHED_SAMPLE_MS: timerMs({ default: 500, min: 50 }),
  LOAD_SHED_BROWSE_DELAY_MS: int({ default: 200, min: 0 }),
  LOAD_SHED_WRITE_DELAY_MS: int({ default: 1000, min: 0 }),
  LOAD_SHED_BROWSE_UTILIZATION_PERCENT: int({ default: 98, min: 0, max: 100 }),
  LOAD_SHED_BROWSE_HEAP_PERCENT: int({ default: 85, min: 0, max: 100 }),
  LOAD_SHED_WRITE_HEAP_PERCENT: int({ default: 95, min: 0, max: 100 }),
};

type LoadShedEnv = { [K in keyof typeof loadShedEnv]: ReturnType<(typeof loadShedEnv)[K]['parse']> };

export interface LoadShedConfig {
  enabled: boolean;
  /** How often the event loop and memory are sampled; each decision holds until the next sample. */
  sampleMs: number;
  thresholds: ShedThresholds;
}

/**
 * Below these an idle process already sheds: the delay histogram's resolution and the stall clock's
 * period are 10 ms (an idle loop's p99 reads about 11 ms), and an idle process uses some of its loop
 * and heap. Such a value refused every request and held `/ready` at 503 on every instance at once.
 */
const MIN_DELAY_MS = 20;
const MIN_PERCENT = 50;
const OFF = 'to turn load shedding off, set LOAD_SHED_ENABLED=false';

function checkThresholds(e: LoadShedEnv): void {
  for (const name of ['LOAD_SHED_BROWSE_DELAY_MS', 'LOAD_SHED_WRITE_DELAY_MS'] as const) {
    if (e[name] < MIN_DELAY_MS) throw new ConfigError(name, `must be at least ${MIN_DELAY_MS} ms (an idle event loop's p99 delay reads about 11 ms, so ${e[name]} sheds every request); ${OFF}`);
  }
  for (const name of ['LOAD_SHED_BROWSE_UTILIZATION_PERCENT', 'LOAD_SHED_BROWSE_HEAP_PERCENT', 'LOAD_SHED_WRITE_HEAP_PERCENT'] as const) {
    if (e[name] < MIN_PERCENT) throw new ConfigError(name, `must be at least ${MIN_PERCENT} (a process that light is not overloaded; ${e[name]} sheds an idle one); ${OFF}`);
  }
  if (e.LOAD_SHED_BROWSE_DELAY_MS > e.LOAD_SHED_WRITE_DELAY_MS) {
    throw new ConfigError('LOAD_SHED_BROWSE_DELAY_MS', `must not exceed LOAD_SHED_WRITE_DELAY_MS (${e.LOAD_SHED_WRITE_DELAY_MS}): browsing is shed before checkout, never after`);
  }
  if (e.LOAD_SHED_BROWSE_HEAP_PERCENT > e.LOAD_SHED_WRITE_HEAP_PERCENT) {
    throw new ConfigError('LOAD_SHED_BROWSE_HEAP_PERCENT', `must not exceed LOAD_SHED_WRITE_HEAP_PERCENT (${e.LOAD_SHED_WRITE_HEAP_PERCENT}): browsing is shed before checkout, never after`);
  }
}

/** Throws a ConfigError for thresholds that would shed an idle process, or writes before browsing (only while shedding is on). */
export function loadShedConfigFrom(e: LoadShedEnv): LoadShedConfig {
  if (e.LOAD_SHED_ENABLED) checkThresholds(e);
  return {
    enabled: e.LOAD_SHED_ENABLED,
    sampleMs: e.LOAD_SHED_SAMPLE_MS,
    thresholds: {
      browse: { delayMs: e.LOAD_SHED_BROWSE_DELAY_MS, utilization: e.LOAD_SHED_BROWSE_UTILIZATION_PERCENT / 100, heapRatio: e.LOAD_SHED_BROWSE_HEAP_PERCENT / 100 },
      // Writes (checkout) are shed only when the process is about to fall over: utilization alone never sheds them.
      write: { delayMs: e.LOAD_SHED_WRITE_DELAY_MS, utilization: Number.POSITIVE_INFINITY, heapRatio: e.LOAD_SHED_WRITE_HEAP_PERCENT / 100 },
    },
  };
}
