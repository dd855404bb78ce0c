/**
 * How the long-running commands (serve, worker, up) meet SIGTERM, SIGINT (and for `up` SIGHUP). The handlers are
 * installed before anything starts, this module loading nothing heavy: a signal at any moment of start-up (loading
 * the role's code, waiting for PostgreSQL or Redis, listening) stops the process with exit 0 once what started is
 * closed. Installed after the start was awaited, they left the default action to a signal during it: death by the
 * signal (exit 143), no drain, nothing closed (a worker waiting for an unreachable Redis at start).
 */

/** What a started role offers to stop it. */
export interface Stoppable {
  /** Drains and closes what the role started. */
  shutdown(reason: string): Promise<void>;
}

const FOREVER = new Promise<never>(() => {});

/**
 * Installs the termination handlers, then calls `start`. A signal during start-up aborts `interrupted` (a start
 * with steps left may skip them) and waits for `start` to settle, then shuts down what it returned; when `start`
 * fails instead, its error is the process's outcome (the CLI says it and exits), not the signal.
 * @defaultValue signals: SIGTERM and SIGINT
 */
export function runUntilSignal<R extends Stoppable>(start: (interrupted: AbortSignal) => Promise<R>, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): Promise<R> {
  const interrupted = new AbortController();
  // Assigned before any signal can be handled: handlers run from the event loop, after this function returns.
  let starting: Promise<R> = FOREVER;
  onTerminationSignals(async (signal) => {
    interrupted.abort(signal);
    const role = await starting.catch(() => undefined);
    if (role === undefined) return FOREVER;
    await role.shutdown(signal);
  }, signals);
  starting = start(interrupted.signal);
  return starting;
}

/**
 * Calls `stop` once on the first of `signals`, flushes buffered spans, then exits with 0 (or 1 if stopping
 * failed). A second signal while stopping exits at once with 1 (an impatient second Ctrl-C), through
 * process.exit so that 'exit' listeners (which signal detached local servers) still run.
 * @defaultValue signals: SIGTERM and SIGINT
 */
export function onTerminationSignals(stop: (signal: string) => Promise<void>, signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT']): void {
  let called = false;
  // Loaded when a signal comes (the telemetry modules are heavy): by then the role has loaded them anyway.
  const flushTracing = () => import('../platform/telemetry/trace-context.ts').then((telemetry) => telemetry.flushTracing()).catch(() => {});
  const handler = (signal: string) => {
    if (called) process.exit(1);
    called = true;
    stop(signal).then(
      () => flushTracing().then(() => process.exit(0)),
      (error) => {
        console.error(error);
        void flushTracing().then(() => process.exit(1));
      },
    );
  };
  for (const signal of signals) process.on(signal, () => handler(signal));
}
