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

const cpuOf = (pids: number[]) =>
  pids.reduce((sum, pid) => {
    try {
      return sum + cpuSecondsOf(pid);
    } catch {
      return sum; // the backend ended during the window
    }
  }, 0);

/** The Redis server's pid when it runs on this machine (loopback), else undefined. */
export async function localRedisPid(redis: Redis): Promise<number | undefined> {
  const pid = Number(/^process_id:(\d+)/m.exec(await redis.info('server'))?.[1]);
  return pid > 0 && existsSync(`/proc/${pid}/stat`) && readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('redis') ? pid : undefined;
}

/**
 * Starts the window (call at the first completion; it reads PostgreSQL's pids, so await it off the
 * hot path) and returns the function that closes it after `jobs` jobs over `wallMs`.
 */
export async function startSideCosts(pool: pg.Pool, redisPid: number | undefined): Promise<(jobs: number, wallMs: number) => SideCosts> {
  const cpu = process.cpuUsage();
  const sched = schedstat();
  const redis = redisPid ? cpuSecondsOf(redisPid) : undefined;
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE (datname = current_database() AND pid <> pg_backend_pid()) OR backend_type = 'walwriter'`,
  );
  const pids = rows.map((row) => row.pid).filter((pid) => existsSync(`/proc/${pid}/stat`));
  const postgres = pids.length > 0 ? cpuOf(pids) : undefined;
  return (jobs, wallMs) => {
    const used = process.cpuUsage(cpu);
    const now = schedstat();
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
      ...(redisPid && redis !== undefined ? { redisCpuUsPerJob: perJob(cpuSecondsOf(redisPid) - redis) } : {}),
      ...(postgres !== undefined ? { postgresCpuUsPerJob: perJob(cpuOf(pids) - postgres) } : {}),
    };
  };
}
