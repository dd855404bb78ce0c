import type client from 'prom-client';

/**
 * CloudWatch Embedded Metric Format: a JSON log line CloudWatch Logs turns into metrics without an
 * API call (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 * The seed strategy's two custom metrics: `CheckoutRate` (orders placed since the previous line) and
 * `DatabaseConnections` (connections this instance holds open to PostgreSQL), dimension `Role`.
 */
export function buildEmfLine(input: { namespace: string; timestamp: number; role: string; instanceId: string; checkoutRate: number; databaseConnections: number }): string {
  return JSON.stringify({
    _aws: {
      Timestamp: input.timestamp,
      CloudWatchMetrics: [
        {
          Namespace: input.namespace,
          Dimensions: [['Role']],
          Metrics: [
            { Name: 'CheckoutRate', Unit: 'Count' },
            { Name: 'DatabaseConnections', Unit: 'Count' },
          ],
        },
      ],
    },
    Role: input.role,
    InstanceId: input.instanceId,
    CheckoutRate: input.checkoutRate,
    DatabaseConnections: input.databaseConnections,
  });
}

/** Sum of a counter's series in a registry (0 while the metric is not registered). */
export async function getCounterTotal(registry: client.Registry, name: string): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.reduce((sum, v) => sum + v.value, 0);
}

export interface EmfEmitter {
  /** Writes one line now (also called by the timer). */
  emit(): Promise<void>;
  stop(): void;
}

/** Writes an EMF line every `intervalMs` to stdout (where the container's log driver ships it). */
export function startEmfEmitter(deps: {
  namespace: string;
  intervalMs: number;
  registry: client.Registry;
  role: string;
  instanceId: string;
  databaseConnections: () => number;
  write?: (line: string) => void;
  now?: () => number;
}): EmfEmitter {
  const write = deps.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = deps.now ?? Date.now;
  let lastOrders: number | undefined;
  const emit = async () => {
    const orders = await getCounterTotal(deps.registry, 'salescale_orders_placed_total');
    const checkoutRate = lastOrders === undefined ? orders : Math.max(0, orders - lastOrders);
    lastOrders = orders;
    write(buildEmfLine({ namespace: deps.namespace, timestamp: now(), role: deps.role, instanceId: deps.instanceId, checkoutRate, databaseConnections: deps.databaseConnections() }));
  };
  const timer = setInterval(() => void emit().catch(() => undefined), deps.intervalMs);
  timer.unref();
  return { emit, stop: () => clearInterval(timer) };
}
