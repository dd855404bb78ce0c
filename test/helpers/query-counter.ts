import { AsyncLocalStorage } from 'node:async_hooks';
import type pg from 'pg';

/** What one counted piece of work sent to PostgreSQL through a pool. */
export interface QueryCount {
  /** Every query sent, in order (its SQL, shortened): each is one round trip. */
  statements: string[];
  /** Connections checked out of the pool (each transaction, each query outside one). */
  checkouts: number;
  /** Transactions begun (`begin`). */
  transactions: number;
}

type ConnectFn = (callback?: (error: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void) => unknown;

/**
 * Counts the round trips a piece of work makes to PostgreSQL through `pool`: every query sent on a connection checked
 * out while `count`'s function runs (in its async context), including `begin` and `commit`. A connection is counted
 * from its checkout to its release, so other work on the pool (another request, the app's background timers) is not
 * counted. Measured at the pg client: one `query` call is one round trip (parse, bind and execute go in one flight).
 */
export function queryCounter(pool: pg.Pool): { count<T>(fn: () => PromiseLike<T>): Promise<{ result: T; counted: QueryCount }> } {
  const als = new AsyncLocalStorage<QueryCount>();
  const checkedOut = new Map<pg.PoolClient, QueryCount>();
  const patched = new WeakSet<pg.PoolClient>();

  function track(client: pg.PoolClient, store: QueryCount): void {
    store.checkouts++;
    checkedOut.set(client, store);
    if (!patched.has(client)) {
      patched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      client.query = ((...args: unknown[]) => {
        const counting = checkedOut.get(client);
        if (counting) {
          const first = args[0] as string | { text?: string };
          const text = (typeof first === 'string' ? first : (first?.text ?? '')).replace(/\s+/g, ' ').trim();
          counting.statements.push(text.slice(0, 120));
          if (/^begin\b/i.test(text)) counting.transactions++;
        }
        return query(...args);
      }) as typeof client.query;
    }
    const release = client.release.bind(client);
    client.release = ((error?: Error | boolean) => {
      checkedOut.delete(client);
      return release(error);
    }) as typeof client.release;
  }

  const connect = pool.connect.bind(pool) as ConnectFn;
  pool.connect = ((callback?: Parameters<ConnectFn>[0]) => {
    const store = als.getStore();
    if (!store) return connect(callback);
    if (callback) {
      return connect((error, client, done) => {
        if (client) track(client, store);
        callback(error, client, done);
      });
    }
    return (connect() as Promise<pg.PoolClient>).then((client) => {
      track(client, store);
      return client;
    });
  }) as typeof pool.connect;

  return {
    async count(fn) {
      const counted: QueryCount = { statements: [], checkouts: 0, transactions: 0 };
      // Awaited inside the context: a lazy thenable (a Drizzle query, `app.inject`) starts only when awaited.
      const result = await als.run(counted, async () => await fn());
      return { result, counted };
    },
  };
}
