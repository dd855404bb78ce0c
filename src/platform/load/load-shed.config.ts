import { bool, int } from '../config/env-schema.ts';
import type { ShedThresholds } from './load-shed.ts';

export const loadShedEnv = {
  LOAD_SHED_ENABLED: bool(true),
  LOAD_SHED_SAMPLE_MS: int({ default: 500, min: 50 }),
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

export function loadShedConfigFrom(e: LoadShedEnv): LoadShedConfig {
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
