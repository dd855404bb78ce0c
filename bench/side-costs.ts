/**
 * Where one in-process side of the `queue` scenario spends a job, from the kernel's own accounting:
 * this process's CPU (all threads), its main thread's time on a CPU and in the run queue
 * (`/proc/self/schedstat`: the event loop either runs, waits for a core, or waits for I/O), and the
 * CPU of the Redis server and of this database's PostgreSQL backends (plus the WAL writer) over the
 * same window. Requests/s of a shared machine say little; these shares and µs per job say why a side
 * is slower (its own CPU, the cores it shares with Redis and PostgreSQL, or idle waiting).
 */
import { existsSync, readFileSync } from 'node:fs';
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { cpuSecondsOf } from './lib.ts';

export interface SideCosts {
  /** µs of this process's CPU (user + system, every thread: GC and libuv included) per job. */
  cpuUsPerJob: number;
  /** Shares of the window: the main thread (event loop) on a CPU, waiting in the run queue for one, and neither (idle: waiting on Redis or PostgreSQL). */
  loopOnCpu: number;
  loopRunQueue: number;
  loopIdle: number;
  /** µs of the Redis server's CPU per job (absent when its process is not on this machine). */
  redisCpuUsPerJob?: number;
  /** µs of CPU per job of this database's PostgreSQL backends and the WAL writer. */
  postgresCpuUsPerJob?: number;
}

function schedstat(): { onCpuNs: number; runQueueNs: number } {
  const [onCpu, runQueue] = readFileSync('/proc/self/schedstat', 'utf8').split(' ');
  return { onCpuNs: Number(onCpu), runQueueNs: Number(runQueue) };
}

/** CPU seconds of a process, or undefined once it has exited. */
function cpuIfAlive(pid: number): number | undefined {
  try {
    return cpuSecondsOf(pid);
  } catch {
    return undefined;
  }
}

/** This database's PostgreSQL backends (not the pool's querying one) and the WAL writer, with their start (ms since the epoch). */
async function postgresBackends(pool: pg.Pool): Promise<Array<{ pid: number; startedMs: number }>> {
  const { rows } = await pool.query<{ pid: number; started_ms: number }>(
    `SELECT pid, (extract(epoch FROM backend_start) * 1000)::float8 AS started_ms FROM pg_stat_activity
     WHERE (datname = current_database() AND pid <> pg_backend_pid()) OR backend_type = 'walwriter'`,
  );
  return rows.map((row) => ({ pid: row.pid, startedMs: Number(row.started_ms) }));
}

/** The Redis server's pid when it runs on this machine (loopback), else undefined. */
export async function localRedisPid(redis: Redis): Promise<number | undefined> {
  const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
  return pid > 0 && existsSync(`/proc/${pid}/stat`) && readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis') ? pid : undefined;
}

/** An open cost window: `close` reads every counter at once, then resolves. */
export interface SideCostsWindow {
  /** Closes the window after `jobs` jobs over `wallMs`; call it at the last completion (its readings are taken synchronously). */
  close(jobs: number, wallMs: number): Promise<SideCosts>;
}

/**
 * Opens the window now (call at the first completion: the process, loop and Redis readings are taken
 * synchronously). PostgreSQL's CPU is summed over the union of the backends alive at either end:
 * a backend started during the window counts from 0 (its whole CPU is the window's), one that exits
 * during it counts up to its last reading (the start, so its work inside the window is missed: the
 * bench's pools keep their connections, so this is rare), and the backends found at the start are read
 * when the query listing them answers, a few ms into the window.
 */
export function startSideCosts(pool: pg.Pool, redisPid: number | undefined): SideCostsWindow {
  const openedMs = Date.now();
  const cpu = process.cpuUsage();
  const sched = schedstat();
  const redis = redisPid ? cpuSecondsOf(redisPid) : undefined;
  const atStart = postgresBackends(pool).then((backends) => {
    const readings = new Map<number, number>();
    for (const { pid, startedMs } of backends) {
      const seconds = cpuIfAlive(pid);
      if (seconds !== undefined) readings.set(pid, startedMs >= openedMs ? 0 : seconds);
    }
    return readings;
  });
  atStart.catch(() => {}); // reported by close
  return {
    async close(jobs, wallMs) {
      const closedMs = Date.now();
      const used = process.cpuUsage(cpu);
      const now = schedstat();
      const redisNow = redisPid ? cpuSecondsOf(redisPid) : undefined;
      const start = await atStart;
      let postgres = 0;
      for (const [pid, before] of start) postgres += (cpuIfAlive(pid) ?? before) - before;
      // Backends started during the window: all of their CPU up to now is the window's.
      for (const { pid, startedMs } of await postgresBackends(pool)) {
        if (start.has(pid) || startedMs > closedMs) continue;
        postgres += cpuIfAlive(pid) ?? 0;
      }
      const wallNs = wallMs * 1e6;
      const share = (ns: number) => Math.round((ns / wallNs) * 100) / 100;
      const loopOnCpu = share(now.onCpuNs - sched.onCpuNs);
      const loopRunQueue = share(now.runQueueNs - sched.runQueueNs);
      const perJob = (seconds: number) => Math.round((seconds * 1e6) / jobs);
      return {
        cpuUsPerJob: Math.round((used.user + used.system) / jobs),
        loopOnCpu,
        loopRunQueue,
        loopIdle: Math.max(0, Math.round((1 - loopOnCpu - loopRunQueue) * 100) / 100),
        ...(redis !== undefined && redisNow !== undefined ? { redisCpuUsPerJob: perJob(redisNow - redis) } : {}),
        ...(start.size > 0 ? { postgresCpuUsPerJob: perJob(postgres) } : {}),
      };
    },
  };
}
