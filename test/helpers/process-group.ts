import { execFileSync } from 'node:child_process';
import type { Instance } from './instances.ts';

/** Processes still in the process group led by `pgid` (zombies left out). */
export function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid=,stat='], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, group, stat]) => pid && Number(group) === pgid && !stat?.startsWith('Z'))
    .map(([pid]) => Number(pid));
}

/** SIGKILLs the whole group led by `pgid`, if anything of it is left. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Signals `instance` and resolves with its exit code, or with a message when it is still running after `ms`. */
export async function stopWithin(instance: Instance, signal: NodeJS.Signals, ms: number): Promise<number | null | string> {
  instance.process.kill(signal);
  return Promise.race([instance.exited, new Promise<string>((resolve) => setTimeout(() => resolve(`still running ${ms} ms after ${signal}`), ms))]);
}

/** The pid of the redis-server listening on `port` (to freeze it with SIGSTOP: a black-holed Redis). */
export function redisServerPid(port: number): number {
  const line = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .find((entry) => entry.includes('redis-server') && entry.includes(`:${port}`));
  return Number(line?.trim().split(/\s+/)[0]);
}
