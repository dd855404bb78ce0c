import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { JOBS, QUEUES } from '../queue/queue-definitions.ts';
import type { FieldChanges } from '../../shared/field-changes.ts';
import { settlesWithin } from '../../shared/settles-within.ts';
import { waitForRedis } from '../redis/redis.ts';
import type { ClusterConfig } from './cluster.config.ts';
import { clusterMetricsFor } from './cluster.metrics.ts';
import { heartbeat, lead, leave, resign, setModeScript } from './cluster.scripts.ts';
import {
  decideAutoMode,
  estimateHourlyCost,
  NO_TRIGGER,
  type TriggerState,
  isDegradeMode,
  settingsFor,
  type ClusterFigures,
  type DegradeLevelSettings,
  type DegradeMode,
} from './degrade-mode.ts';

export type InstanceRole = 'web' | 'worker';

/** What one instance reports with each heartbeat (web instances; workers report zeros). */
export interface InstanceFigures {
  /** Requests in the figures' window. */
  requests: number;
  requestsPerMinute: number;
  p95Ms: number;
  /** Server faults only: 5xx other than 503 refusals (overload shedding, draining, a dependency down). */
  errorRatePercent: number;
  /** Distinct clients (address or customer) in the window, and those among them that hit a server fault. */
  clients?: number;
  faultClients?: number;
  /** A dependency (PostgreSQL, Redis) is down for this instance, as `/ready` reports: its latency and faults are not counted. */
  dependencyOutage?: boolean;
}

/** The cluster's degrade mode as stored in Redis. */
export interface ModeState {
  /** The mode every instance applies. */
  mode: DegradeMode;
  /** Set by an admin; `null` = automatic. */
  forced: DegradeMode | null;
  /** The level the thresholds call for (applies when not forced). */
  auto: DegradeMode;
  reason: string;
  changedAt: string | null;
}

/** The `degrade-mode-changed` notification written to the outbox on every transition. */
export interface DegradeModeChanged {
  from: DegradeMode;
  to: DegradeMode;
  trigger: 'auto' | 'admin';
  reason: string;
  at: string;
  instanceId: string;
}

/**
 * This process's membership in the cluster: heartbeat, the shared degrade mode, and (when it holds
 * the leader lease) automatic evaluation. Nothing runs until a role joins.
 */
export interface ClusterNode {
  /** The mode this instance applies now (normal until the first read from Redis). */
  mode(): DegradeMode;
  state(): ModeState;
  /** The effects of the current mode. */
  settings(): DegradeLevelSettings;
  liveInstances(): { web: number; worker: number };
  /** Starts the heartbeat for `role`; resolves once the current mode was read (or after a bounded wait). */
  join(role: InstanceRole, figures?: () => InstanceFigures): Promise<void>;
  /** Removes `role` from the live set at once. */
  leave(role: InstanceRole): Promise<void>;
  /**
   * Forces `mode` for the whole cluster, or returns to automatic with `null`. Throws when Redis is unreachable.
   * `change`: the applied `mode` and the `forced` level before → after, each only when it changed (from the
   * script's reply: no extra read); empty when nothing changed.
   */
  force(mode: DegradeMode | null, reason: string): Promise<{ state: ModeState; change: FieldChanges }>;
  /** Cluster-wide figures, read now from the last heartbeats. */
  figures(): Promise<ClusterFigures>;
  close(): Promise<void>;
}

export interface ClusterNodeDeps {
  config: ClusterConfig;
  /** The `normal` cache TTLs (CACHE_TTL_*). */
  normalTtl: DegradeLevelSettings['cacheTtl'];
  instanceId: string;
  prefix: string;
  redis: Redis;
  /** The process's shared pub/sub connection (opened on first use; its owner closes it). */
  subscriber: () => Redis;
  db: Database;
  metrics: Metrics;
  logger: Logger;
  /**
   * This process's clock. Only the gap between two readings is used: every time the cluster shares
   * (trigger clocks, the cost day) is on Redis's clock, which all instances agree on.
   * @defaultValue Date.now
   */
  clock?: () => number;
}

const ZERO: InstanceFigures = { requests: 0, requestsPerMinute: 0, p95Ms: 0, errorRatePercent: 0 };

export function createClusterNode(deps: ClusterNodeDeps): ClusterNode {
  const { config, redis, logger } = deps;
  const base = `${deps.prefix}:{cluster}`;
  const keys = {
    instances: `${base}:instances`,
    figures: (member: string) => `${base}:figures:${member}`,
    mode: `${base}:mode`,
    leader: `${base}:leader`,
    cost: (day: string) => `${base}:cost:${day}`,
    trigger: `${base}:trigger`,
  };
  const channel = `${deps.prefix}:cluster:mode-changed`;
  const staleMs = config.heartbeatMs * 3;
  const clock = deps.clock ?? Date.now;
  /** Redis's clock minus ours, from the last heartbeat (each beat reads Redis's TIME). */
  let redisOffsetMs = 0;
  /** Now on Redis's clock: the leader's trigger clocks are read by the next leader, whose own clock may differ. */
  const redisNow = () => clock() + redisOffsetMs;

  const roles = new Map<InstanceRole, () => InstanceFigures>();
  let state: ModeState = { mode: 'normal', forced: null, auto: 'normal', reason: 'initial', changedAt: null };
  let settings = settingsFor('normal', deps.normalTtl, config.levels);
  let autoChangedAt = 0;
  let members: string[] = [];
  let leading = false;
  let lastCostAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;
  let subscriber: Redis | undefined;
  let redisDown = false;

  const live = () => {
    const counts = { web: 0, worker: 0 };
    for (const member of members) {
      const role = member.slice(0, member.indexOf(':'));
      if (role === 'web' || role === 'worker') counts[role] += 1;
    }
    return counts;
  };
  const hourlyCost = () => estimateHourlyCost(members.length, config.instanceHourCostUsd);
  /** When `members` was last read (this process's clock); a reading older than `staleMs` no longer says who is live. */
  let membersReadAt = Number.NEGATIVE_INFINITY;
  const membersKnown = () => clock() - membersReadAt <= staleMs;
  const metrics = clusterMetricsFor(deps.metrics.registry, {
    mode: () => state.mode,
    liveInstances: () => (membersKnown() ? live() : undefined),
    costPerHourUsd: () => (membersKnown() ? hourlyCost() : undefined),
  });

  /** Applies the stored mode hash (fields from HGETALL as a flat list). */
  function apply(fields: string[]): void {
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) hash[fields[i]!] = fields[i + 1]!;
    const mode = isDegradeMode(hash.effective) ? hash.effective : 'normal';
    const next: ModeState = {
      mode,
      forced: isDegradeMode(hash.forced) ? hash.forced : null,
      auto: isDegradeMode(hash.auto) ? hash.auto : 'normal',
      reason: hash.reason ?? 'initial',
      changedAt: hash.changedAt ? new Date(Number(hash.changedAt)).toISOString() : null,
    };
    autoChangedAt = Number(hash.autoChangedAt ?? 0);
    if (next.mode !== state.mode) {
      logger.info({ from: state.mode, to: next.mode, reason: next.reason }, 'degrade mode applied');
      settings = settingsFor(next.mode, deps.normalTtl, config.levels);
    }
    state = next;
  }

  async function refresh(): Promise<void> {
    const flat = (await redis.hgetall(keys.mode)) as Record<string, string>;
    apply(Object.entries(flat).flat());
  }

  async function beat(role: InstanceRole, figures: () => InstanceFigures): Promise<void> {
    const member = `${role}:${deps.instanceId}`;
    const reply = await heartbeat.run(redis, { instances: keys.instances, figures: keys.figures(member), mode: keys.mode }, member, JSON.stringify({ role, ...figures() }), staleMs);
    redisOffsetMs = reply.now - clock();
    members = reply.members;
    membersReadAt = clock();
    apply(reply.modeFields);
  }

  async function recordTransition(from: DegradeMode, to: DegradeMode, trigger: DegradeModeChanged['trigger'], reason: string, at: string): Promise<void> {
    metrics.transitions.inc({ from, to, trigger });
    logger.warn({ from, to, trigger, reason }, 'degrade mode transition');
    const notice: DegradeModeChanged = { from, to, trigger, reason, at, instanceId: deps.instanceId };
    // Not in one transaction with the Redis write: a crash between them loses the notice, never the mode.
    await enqueueInTransaction(deps.db.primary, { queue: QUEUES.notifications, name: JOBS.degradeModeChanged, data: notice }).catch((error) =>
      logger.error({ err: error, from, to }, 'could not queue the degrade mode notification'),
    );
  }

  /** Sets `kind`; returns the applied mode and the value of `kind` it replaced ('' when unset). */
  async function setMode(kind: 'forced' | 'auto', value: DegradeMode | null, reason: string): Promise<{ previous: string; before: string }> {
    // The script returns the fields it set: re-reading them in a second call could fail on a Redis blip after
    // the change was made, answering 503 "not changed" for a change in force and losing its notice.
    const { changed, previous, before, modeFields } = await setModeScript.run(redis, { mode: keys.mode }, kind, value ?? '', reason, channel);
    apply(modeFields);
    if (changed && isDegradeMode(previous)) {
      await recordTransition(previous, state.mode, kind === 'forced' ? 'admin' : 'auto', state.reason, state.changedAt ?? new Date(redisNow()).toISOString());
    }
    return { previous, before };
  }

  async function readFigures(): Promise<ClusterFigures> {
    const day = new Date(redisNow()).toISOString().slice(0, 10);
    const [reports, costToday] = await Promise.all([
      members.length > 0 ? redis.mget(members.map(keys.figures)) : Promise.resolve([] as (string | null)[]),
      redis.get(keys.cost(day)),
    ]);
    let requests = 0;
    let errors = 0;
    let rpm = 0;
    let p95 = 0;
    let clients = 0;
    let faultClients = 0;
    let outageInstances = 0;
    const instances: ClusterFigures['instances'] = [];
    for (const raw of reports) {
      if (!raw) continue;
      const f = JSON.parse(raw) as InstanceFigures;
      rpm += f.requestsPerMinute;
      // An instance that reports a dependency down is `/ready`'s business: its latency and faults are left out.
      if (f.dependencyOutage) {
        outageInstances += 1;
        continue;
      }
      requests += f.requests;
      errors += (f.errorRatePercent / 100) * f.requests;
      clients = Math.max(clients, f.clients ?? 0);
      faultClients = Math.max(faultClients, f.faultClients ?? 0);
      if (f.requests > 0) {
        p95 = Math.max(p95, f.p95Ms);
        instances.push({ p95Ms: f.p95Ms, errorRatePercent: f.errorRatePercent });
      }
    }
    return {
      requestsPerMinute: rpm,
      sampleRequests: requests,
      p95Ms: p95,
      errorRatePercent: requests === 0 ? 0 : (errors / requests) * 100,
      instances,
      clients,
      faultClients,
      outageInstances,
      liveInstances: live(),
      costPerHourUsd: hourlyCost(),
      costTodayUsd: Number(costToday ?? 0),
    };
  }

  /** The leader's share of a tick: add this beat's cost, evaluate, and write the auto level. */
  async function evaluate(): Promise<void> {
    const now = redisNow();
    const elapsed = lastCostAt === 0 ? config.heartbeatMs : Math.min(now - lastCostAt, staleMs);
    lastCostAt = now;
    const day = new Date(now).toISOString().slice(0, 10);
    await redis.multi().incrbyfloat(keys.cost(day), (hourlyCost() * elapsed) / 3_600_000).expire(keys.cost(day), 2 * 86_400).exec();
    const [figures, storedTrigger] = await Promise.all([readFigures(), redis.get(keys.trigger)]);
    const decision = decideAutoMode({
      figures,
      thresholds: config.thresholds,
      current: state.auto,
      now,
      trigger: storedTrigger ? (JSON.parse(storedTrigger) as TriggerState) : NO_TRIGGER,
      sustainMs: config.sustainMs,
      minHoldMs: config.minHoldMs,
      maxHoldMs: config.maxHoldMs,
      holdFactor: config.holdFactor,
      recoveryRatio: config.recoveryRatio,
      gates: { minSampleRequests: config.minSampleRequests, minClients: config.minClients },
    });
    // The trigger state outlives a leader: whoever leads next carries on with the same clocks.
    await redis.set(keys.trigger, JSON.stringify(decision.trigger), 'PX', Math.max(staleMs * 10, config.maxHoldMs * 2));
    if (decision.mode !== state.auto || autoChangedAt === 0) await setMode('auto', decision.mode, decision.reason);
  }

  async function tick(): Promise<void> {
    try {
      for (const [role, figures] of roles) await beat(role, figures);
      const held = await lead.run(redis, { lease: keys.leader }, deps.instanceId, staleMs);
      if (held !== leading) logger.info({ instanceId: deps.instanceId }, held ? 'leading degrade mode evaluation' : 'no longer leading degrade mode evaluation');
      leading = held;
      if (leading) await evaluate();
      if (redisDown) logger.info('cluster heartbeat restored');
      redisDown = false;
    } catch (error) {
      // The last known mode stays in force while Redis is away.
      if (!redisDown) logger.warn({ err: error }, 'cluster heartbeat failed; keeping the last known degrade mode');
      redisDown = true;
      leading = false;
    }
  }

  const runTick = () => {
    ticking ??= tick().finally(() => {
      ticking = undefined;
    });
    return ticking;
  };

  const onMessage = (from: string) => {
    if (from === channel) void refresh().catch((error) => logger.warn({ err: error }, 'could not re-read the degrade mode'));
  };
  const listen = () =>
    void subscriber?.subscribe(channel).catch((error) => logger.warn({ err: error }, 'could not subscribe to degrade mode changes; following them by heartbeat'));
  // (Re)subscribe on every connect, and re-read after a reconnect: a change published while disconnected was missed.
  const onReady = () => {
    listen();
    void refresh().catch(() => {});
  };

  async function start(): Promise<void> {
    subscriber = deps.subscriber();
    subscriber.on('message', onMessage);
    subscriber.on('ready', onReady);
    if (subscriber.status === 'ready') listen();
    timer = setInterval(() => void runTick(), config.heartbeatMs);
    timer.unref();
  }

  async function stop(): Promise<void> {
    clearInterval(timer);
    timer = undefined;
    await ticking;
    if (subscriber) {
      subscriber.off('message', onMessage);
      subscriber.off('ready', onReady);
      // Bounded: a black-holed Redis keeps the connection 'ready' and never answers (no command timeout on pub/sub).
      if (subscriber.status === 'ready') await settlesWithin(subscriber.unsubscribe(channel), 1000);
    }
    subscriber = undefined;
    if (leading) await resign.run(redis, { lease: keys.leader }, deps.instanceId).catch(() => {});
    leading = false;
  }

  return {
    mode: () => state.mode,
    state: () => state,
    settings: () => settings,
    liveInstances: live,
    async join(role, figures = () => ZERO) {
      const first = roles.size === 0;
      roles.set(role, figures);
      if (first) await start();
      // A new instance starts in the cluster's current mode; an unreachable Redis delays start by at most ~2 s.
      const ready = await waitForRedis(redis, 2000).then(
        () => true,
        () => false,
      );
      if (ready) await Promise.race([runTick(), new Promise((resolve) => setTimeout(resolve, 1500).unref())]);
      else logger.warn({ mode: state.mode }, 'Redis not ready: starting in the last known degrade mode; following the cluster once it answers');
    },
    async leave(role) {
      if (!roles.delete(role)) return;
      const member = `${role}:${deps.instanceId}`;
      if (roles.size === 0) await stop();
      await leave.run(redis, { instances: keys.instances, figures: keys.figures(member) }, member).catch(() => {});
    },
    async force(mode, reason) {
      const { previous, before } = await setMode('forced', mode, reason);
      const change: FieldChanges = {};
      if (previous !== state.mode) change.mode = { before: previous, after: state.mode };
      if (before !== (mode ?? '')) change.forced = { before: before === '' ? null : before, after: mode };
      return { state, change };
    },
    figures: readFigures,
    async close() {
      for (const role of [...roles.keys()]) await this.leave(role);
    },
  };
}
