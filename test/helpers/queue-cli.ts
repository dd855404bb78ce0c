import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { createQueueFixture, type QueueFixture } from './queues.ts';

const MAIN = join(import.meta.dirname, '../../src/main.ts');

export interface SalescaleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `salescale <args>` as a child process with `env` (and this process's PATH), for a minute at most. */
export function runSalescale(env: Record<string, string>, args: string[]): Promise<SalescaleRun> {
  return new Promise((resolve) =>
    execFile(process.execPath, [MAIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    ),
  );
}

/** A queue fixture (no worker) and its queues to inspect; the fixture's `close` closes both. */
export async function createInspectedQueueFixture(extraEnv: Record<string, string> = {}): Promise<{ f: QueueFixture; queues: QueueSet }> {
  const f = await createQueueFixture(extraEnv);
  try {
    return { f, queues: await f.inspect() };
  } catch (error) {
    await f.close();
    throw error;
  }
}
