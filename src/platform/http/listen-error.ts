/**
 * A listener that could not open for a reason the operator fixes in the configuration (a port taken or privileged,
 * a HOST that is not an address of this machine or does not resolve): the CLI says it in one line, `salescale: cannot listen: …`, and
 * exits 2. Any other listen failure is left as it is (a bug keeps its stack).
 */
export class ListenError extends Error {
  readonly code: string;

  constructor(message: string, cause: NodeJS.ErrnoException) {
    super(message, { cause });
    this.name = 'ListenError';
    this.code = cause.code ?? 'ELISTEN';
  }
}

/** Where a listener was asked to listen, and the variable that chose its port (PORT, WORKER_PORT, METRICS_PORT). */
export interface ListenTarget {
  host: string;
  port: number;
  portVariable: string;
}

/** `error` from listening on `target` as a {@link ListenError} when it is a setting to fix, else `error` itself. */
export function explainListenError(error: unknown, target: ListenTarget): unknown {
  const cause = error as NodeJS.ErrnoException;
  switch (cause?.code) {
    case 'EADDRINUSE':
    case 'EACCES':
      return new ListenError(`${cause.message} (choose another ${target.portVariable})`, cause);
    case 'EADDRNOTAVAIL':
      return new ListenError(`${cause.message} (HOST ${target.host} is not an address of this machine: set HOST to one of its addresses, or 0.0.0.0 for all)`, cause);
    // A name looked up to listen on: PostgreSQL and Redis fail the same way, so the variable is named here, where it is known.
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      if (cause.syscall !== 'getaddrinfo') return error;
      return new ListenError(`HOST ${target.host} does not resolve (${cause.message}): set HOST to an address of this machine (0.0.0.0 for all) or a name that resolves to one`, cause);
    default:
      return error;
  }
}

/** Runs `listen`, turning a failure that is a setting to fix into a {@link ListenError} (see {@link explainListenError}). */
export async function listenOrExplain<T>(target: ListenTarget, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    throw explainListenError(error, target);
  }
}
