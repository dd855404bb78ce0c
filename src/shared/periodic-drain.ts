/**
 * Runs `pass` every `intervalMs` (the first after a random part of it, so instances started together do not run in
 * step) until stopped. A pass that returns a full `batch` is run again at once, so a burst is drained before the
 * next wait; a pass that throws is handed to `onError` and run again at the next interval. `stop` waits for the
 * pass in progress.
 */
export function startPeriodicDrain(options: { intervalMs: number; batch: number; pass: () => Promise<number>; onError: (error: unknown) => void }): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = () => {
    running = (async () => {
      try {
        while (!stopped && (await options.pass()) === options.batch) {}
      } catch (error) {
        options.onError(error);
      }
      if (!stopped) timer = setTimeout(tick, options.intervalMs);
    })();
  };
  timer = setTimeout(tick, Math.random() * options.intervalMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
