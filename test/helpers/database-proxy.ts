import { startInstance, type Instance } from './instances.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface InstancesBehindDatabaseProxy {
  /** Between the instances and PostgreSQL: hold, drop or cut their statements and replies. */
  proxy: TcpProxy;
  /** The instances' environment (DATABASE_URL through the proxy), to start more of them. */
  env: Record<string, string>;
  instances: Instance[];
  /** Restores the proxy, stops the instances (their output printed with DEBUG_INSTANCES), then closes the proxy. */
  stop(): Promise<void>;
}

/**
 * `count` real `salescale serve` processes whose PostgreSQL connections go through a TCP proxy the test can cut, so
 * an order's statement can commit while its reply is lost (an outcome unknown to the instance). Logs are silent
 * unless DEBUG_INSTANCES is set.
 */
export async function startInstancesBehindDatabaseProxy(appEnv: Record<string, string>, count = 2): Promise<InstancesBehindDatabaseProxy> {
  const database = new URL(appEnv.DATABASE_URL!);
  const proxy = await startTcpProxy(Number(database.port || 5432), 'postgres');
  database.port = String(proxy.port);
  const env = { ...appEnv, DATABASE_URL: database.toString(), DB_POOL_MAX: '10', LOG_LEVEL: process.env.DEBUG_INSTANCES ? 'warn' : 'silent' };
  const started = await Promise.allSettled(Array.from({ length: count }, () => startInstance({ env })));
  const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await proxy.restore();
    await Promise.all(instances.map((instance) => instance.stop()));
    if (process.env.DEBUG_INSTANCES) console.log(...instances.map((instance) => instance.output()));
    await proxy.close();
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { proxy, env, instances, stop };
}

/**
 * Starts an order (`send`) whose `place_order` statement's connection the proxy drops: on its `request` (PostgreSQL
 * never sees it: not placed) or on its `reply` (it ran and committed: placed, its reply lost). Either way the outcome
 * is unknown to the instance, which answers 503. Resolves with that answer.
 */
export async function orderWithOutcomeLost<T>(proxy: TcpProxy, on: 'request' | 'reply', send: () => Promise<T>): Promise<T> {
  const held = proxy.holdOn('place_order', on);
  const reply = send();
  await held;
  proxy.dropHeld();
  return reply;
}
