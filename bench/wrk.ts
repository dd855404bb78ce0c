/** wrk as a cross-check of autocannon's figures, when the binary is installed (`apt-get install -y wrk`). */
import { execFile } from 'node:child_process';

export type WrkResult =
  | { available: true; requestsPerSecond: number; requests: number; latencyMs: { p50: number; p99: number }; non2xx: number; errors: number }
  | { available: false; reason: string };

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === 'us' ? n / 1000 : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n;
}

/** Parses `wrk --latency` output (exported for the unit test). */
export function parseWrkOutput(out: string): Omit<Extract<WrkResult, { available: true }>, 'available'> {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!rps) throw new Error(`unexpected wrk output: ${out.slice(0, 200)}`);
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)`, 'm').exec(out);
    return m ? Math.round(toMs(m[1]!, m[2]!) * 100) / 100 : Number.NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = errs ? errs.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0;
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  return { requestsPerSecond: Number(rps[1]), requests, latencyMs: { p50: pct('50'), p99: pct('99') }, non2xx, errors };
}

export function wrk(options: { url: string; connections: number; durationSeconds: number; threads?: number }): Promise<WrkResult> {
  const args = [`-t${options.threads ?? 1}`, `-c${options.connections}`, `-d${options.durationSeconds}s`, '--latency', options.url];
  return new Promise((resolve) => {
    execFile('wrk', args, { timeout: (options.durationSeconds + 30) * 1000 }, (error, stdout) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        resolve({ available: false, reason: 'wrk is not installed (apt-get install -y wrk)' });
        return;
      }
      if (error) {
        resolve({ available: false, reason: `wrk failed: ${error.message}` });
        return;
      }
      resolve({ available: true, ...parseWrkOutput(stdout) });
    });
  });
}
