/**
 * The KEDA triggers a worker ScaledObject uses, as KEDA's scalers report them to the operator and
 * to the HPA (kedacore/keda `pkg/scalers/redis_scaler.go`, `cron_scaler.go`): at an instant each
 * trigger gives one metric value, the AverageValue target the HPA divides it by, and its activity.
 * Pure: a reading depends only on the key lengths and the instant.
 */
import { ScalingInputError } from '../errors.ts';

/** BullMQ key types a worker autoscaler reads (`${prefix}:${queue}:${type}`). */
export type BullMqKeyType = 'wait' | 'prioritized';

/** `bull:<queue>:wait` (list, LLEN) / `bull:<queue>:prioritized` (zset, ZCARD); default prefix `bull`. */
export function getBullMqKey(queue: string, type: BullMqKeyType, prefix = 'bull'): string {
  return `${prefix}:${queue}:${type}`;
}

/** A `redis` trigger: the length of one key (LLEN / ZCARD / SCARD / HLEN by key type). */
export interface KedaRedisTrigger {
  type: 'redis';
  name: string;
  /** The key read, e.g. `bull:jobs:wait`. A missing key reads 0, as LLEN does. */
  listName: string;
  /** AverageValue target: jobs per replica. @defaultValue 5 (KEDA) */
  listLength: number;
  /** The trigger is active when the length is above this. @defaultValue 0 */
  activationListLength: number;
}

/**
 * A `cron` trigger resolved to one window (the real trigger's `timezone`/`start`/`end` cron fields are
 * rendered by `schedule/schedule.ts` from the same windows).
 */
export interface KedaCronTrigger {
  type: 'cron';
  name: string;
  /** Window start (ms since epoch), inclusive. */
  startMs: number;
  /** Window end, exclusive. */
  endMs: number;
  desiredReplicas: number;
}

export type KedaTrigger = KedaRedisTrigger | KedaCronTrigger;

/** KEDA's redis scaler defaults. */
export const DEFAULT_REDIS_TRIGGER = { listLength: 5, activationListLength: 0 } as const;

/** A whole number as KEDA's TypedConfig reads one into an int64 field (a JSON integer). */
const JSON_INTEGER = /^\s*-?(0|[1-9]\d*)\s*$/;

/**
 * `parseRedisMetadata` (TypedConfig over `redisMetadata`) for the fields the simulation uses: `listName`
 * required, `listLength` (default 5) and `activationListLength` (default 0) whole numbers; every
 * problem is reported at once, as KEDA joins them. An empty value counts as missing. The connection
 * fields (address, host/port, credentials, TLS) are the scaler's plumbing and are not read here.
 * KEDA accepts a listLength of 0 or below at this stage; `createScaledObject` (keda.ts) does not (the
 * HPA's AverageValue target must be positive).
 */
export function parseRedisTriggerMetadata(name: string, metadata: Readonly<Record<string, string>>): KedaRedisTrigger {
  const problems: string[] = [];
  const value = (key: string) => (metadata[key] === undefined || metadata[key] === '' ? undefined : metadata[key]);
  const integer = (key: string, fallback: number) => {
    const raw = value(key);
    if (raw === undefined) return fallback;
    if (!JSON_INTEGER.test(raw)) problems.push(`unable to set param "${key}" value "${raw}": not a whole number`);
    return Number(raw);
  };
  const listName = value('listName');
  if (listName === undefined) problems.push('missing required parameter "listName" in [triggerMetadata]');
  const listLength = integer('listLength', DEFAULT_REDIS_TRIGGER.listLength);
  const activationListLength = integer('activationListLength', DEFAULT_REDIS_TRIGGER.activationListLength);
  if (problems.length > 0) throw new ScalingInputError('INVALID_OPTION', `trigger ${name}: error parsing redis metadata: ${problems.join('; ')}`);
  return { type: 'redis', name, listName: listName ?? '', listLength, activationListLength };
}

/** What one trigger reports: the HPA metric and KEDA's activity flag. */
export interface TriggerReading {
  name: string;
  /**
   * Metric value: the key's length; the cron scaler's desiredReplicas inside its window, else 0
   * (KEDA ≥ 2.18, kedacore/keda#6888; it was 1 before, which kept a `scalingModifiers` formula such
   * as `queue * cron` from ever reaching 0).
   */
  value: number;
  /** AverageValue target per replica (listLength; 1 for cron). */
  targetAverageValue: number;
  /** The scaler's activity: `length > activationListLength`; the cron scaler inside its window. */
  active: boolean;
  /** Set when the scaler failed to answer (Redis unreachable): `value` is then meaningless, `active` false. */
  error?: string;
}

/**
 * Reads every trigger at an instant. `readLength` answers LLEN/ZCARD for a key; if it throws (Redis
 * unreachable) the reading carries the error, as the scaler's GetMetricsAndActivity returns one.
 */
export function readTriggers(triggers: readonly KedaTrigger[], readLength: (key: string) => number, nowMs: number): TriggerReading[] {
  return triggers.map((t) => {
    if (t.type === 'redis') {
      let value: number;
      try {
        value = readLength(t.listName);
      } catch (error) {
        return { name: t.name, value: 0, targetAverageValue: t.listLength, active: false, error: error instanceof Error ? error.message : String(error) };
      }
      return { name: t.name, value, targetAverageValue: t.listLength, active: value > t.activationListLength };
    }
    const inside = t.startMs <= nowMs && nowMs < t.endMs;
    return { name: t.name, value: inside ? t.desiredReplicas : 0, targetAverageValue: 1, active: inside };
  });
}
