import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import client from 'prom-client';
import { startEmfEmitter } from './emf.ts';

describe('CloudWatch Embedded Metric Format lines', () => {
  it('write CheckoutRate (orders since the last line) and DatabaseConnections in the configured namespace', async () => {
    const registry = new client.Registry();
    const placed = new client.Counter({ name: 'salescale_orders_placed_total', help: 'x', registers: [registry] });
    const lines: string[] = [];
    let connections = 7;
    const emf = startEmfEmitter({ namespace: 'Salescale', intervalMs: 60_000, registry, role: 'web', instanceId: 'web-1', databaseConnections: () => connections, write: (l) => lines.push(l), now: () => 1_700_000_000_000 });
    placed.inc(3);
    await emf.emit();
    placed.inc(5);
    connections = 9;
    await emf.emit();
    emf.stop();

    const [first, second] = lines.map((l) => JSON.parse(l));
    assert.deepEqual(first._aws, {
      Timestamp: 1_700_000_000_000,
      CloudWatchMetrics: [{ Namespace: 'Salescale', Dimensions: [['Role']], Metrics: [{ Name: 'CheckoutRate', Unit: 'Count' }, { Name: 'DatabaseConnections', Unit: 'Count' }] }],
    });
    assert.equal(first.Role, 'web');
    assert.equal(first.CheckoutRate, 3);
    assert.equal(first.DatabaseConnections, 7);
    assert.equal(second.CheckoutRate, 5);
    assert.equal(second.DatabaseConnections, 9);
  });

  it('reports a checkout rate of 0 before the orders module registers its counter', async () => {
    const lines: string[] = [];
    const emf = startEmfEmitter({ namespace: 'N', intervalMs: 60_000, registry: new client.Registry(), role: 'web', instanceId: 'i', databaseConnections: () => 0, write: (l) => lines.push(l) });
    await emf.emit();
    emf.stop();
    assert.equal(JSON.parse(lines[0]!).CheckoutRate, 0);
  });
});
