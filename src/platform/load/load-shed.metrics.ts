import client from 'prom-client';
import type { LoadMonitor } from './load-monitor.ts';
import type { ShedThresholds } from './load-shed.ts';

export interface LoadShedMetrics {
  shed: client.Counter<'class'>;
}

/** The shed counter, plus gauges read at scrape time: the last sample and the configured thresholds. */
export function loadShedMetricsFor(registry: client.Registry, monitor: LoadMonitor, thresholds: ShedThresholds): LoadShedMetrics {
  new client.Gauge({
    name: 'load_shed_event_loop_delay_seconds',
    help: 'p99 event loop delay over the last load-shedding sample window',
    registers: [registry],
    collect() {
      this.set(monitor.sample().delayMs / 1000);
    },
  });
  new client.Gauge({
    name: 'load_shed_event_loop_utilization_ratio',
    help: 'Event loop utilization over the last load-shedding sample window (0..1)',
    registers: [registry],
    collect() {
      this.set(monitor.sample().utilization);
    },
  });
  new client.Gauge({
    name: 'load_shed_heap_used_ratio',
    help: 'V8 heap used divided by the heap size limit at the last sample',
    registers: [registry],
    collect() {
      this.set(monitor.sample().heapRatio);
    },
  });
  new client.Gauge({
    name: 'load_shed_level',
    help: 'Current load level: 0 normal, 1 shedding browsing, 2 shedding browsing and writes',
    registers: [registry],
    collect() {
      this.set({ normal: 0, 'shed-browse': 1, 'shed-all': 2 }[monitor.level()]);
    },
  });
  const limits = new client.Gauge({
    name: 'load_shed_threshold',
    help: 'Configured load-shedding thresholds by traffic class and signal (delay in seconds, ratios 0..1)',
    labelNames: ['class', 'signal'],
    registers: [registry],
  });
  for (const cls of ['browse', 'write'] as const) {
    const t = thresholds[cls];
    limits.set({ class: cls, signal: 'event_loop_delay_seconds' }, t.delayMs / 1000);
    if (Number.isFinite(t.utilization)) limits.set({ class: cls, signal: 'event_loop_utilization' }, t.utilization);
    limits.set({ class: cls, signal: 'heap_used_ratio' }, t.heapRatio);
  }
  return { shed: new client.Counter({ name: 'load_shed_total', help: 'Requests refused with 503 by load shedding, by traffic class', labelNames: ['class'], registers: [registry] }) };
}
