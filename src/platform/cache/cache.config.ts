import { bool, int } from '../config/env-schema.ts';

/** The in-process cache layer in front of the Redis cache (see `createLocalLayer` in cache.ts). */
export const cacheLocalEnv = {
  CACHE_LOCAL_ENABLED: bool(true),
  CACHE_LOCAL_MAX_ENTRIES: int({ default: 10_000, min: 1 }),
};

type CacheLocalEnv = { [K in keyof typeof cacheLocalEnv]: ReturnType<(typeof cacheLocalEnv)[K]['parse']> };

export interface CacheLocalConfig {
  enabled: boolean;
  maxEntries: number;
}

export function cacheLocalConfigFrom(e: CacheLocalEnv): CacheLocalConfig {
  return { enabled: e.CACHE_LOCAL_ENABLED, maxEntries: e.CACHE_LOCAL_MAX_ENTRIES };
}
