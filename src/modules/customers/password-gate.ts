import { PasswordCheckBusyError } from './customers.errors.ts';

/**
 * Bounds the password hashes one process computes at once and keeps waiting. A hash (argon2id, see
 * `password.ts`) costs about 80 ms of a core and 19 MiB, on libuv's thread pool (4 threads unless
 * UV_THREADPOOL_SIZE says otherwise), which DNS lookups, file reads and zlib share, and which the load
 * shedder (event-loop signals) does not see. Unbounded, a sign-in storm (a botnet trying emails from many
 * addresses, which neither the per-address nor the per-account limit stops, or a sale's opening minute)
 * queued hashes without end: every sign-in waited behind all of them, long after its client gave up, and
 * so did the DNS lookup of every outbound connection (the payment provider, the mail server).
 * Past `queueMax` waiting, a check is refused at once, before any hashing: 503 `PASSWORD_CHECK_BUSY`,
 * with Retry-After.
 */
export interface PasswordGate {
  /** Runs `task` (one hash) when a slot is free; throws {@link PasswordCheckBusyError} when too many wait. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

export function createPasswordGate(options: {
  /** Hashes computed at once. */
  concurrency: number;
  /** Hashes waiting for a slot; one more is refused. */
  queueMax: number;
}): PasswordGate {
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    // The slot passes straight to the next waiting check: `running` stays as it is.
    if (next) next();
    else running--;
  };
  return {
    async run(task) {
      if (running < options.concurrency) running++;
      else if (waiting.length >= options.queueMax) throw new PasswordCheckBusyError();
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
