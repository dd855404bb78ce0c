import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatQueueReport, getQueueReport } from '../../src/cli/queues.ts';
import { loadConfig } from '../../src/platform/config/config.ts';
import { JOBS } from '../../src/platform/queue/queue-definitions.ts';
import type { QueueSet } from '../../src/platform/queue/queues.ts';
import { createInspectedQueueFixture, runSalescale } from '../helpers/queue-cli.ts';
import type { QueueFixture } from '../helpers/queues.ts';

let f: QueueFixture;
let queues: QueueSet;
before(async () => {
  ({ f, queues } = await createInspectedQueueFixture());
});
after(async () => {
  await f?.close();
});

const salescale = (args: string[]) => runSalescale(f.env, args);

describe('a paused queue (paused from the dashboard, say)', () => {
  before(async () => {
    // No worker runs: the job waits either way, and only the paused state tells why it is not taken.
    await queues.get('email').add(JOBS.sendWelcomeEmail, {}, { jobId: 'waits-1' });
    await queues.get('email').pause();
  });

  it('is shown paused by `salescale queues`, in the report, its table and --json', async () => {
    const report = await getQueueReport(loadConfig(f.env));
    const [header, ...rows] = formatQueueReport(report).split('\n').map((line) => line.trim().split(/\s{2,}/));
    const column = header!.indexOf('paused');
    const pausedCell = (queue: string) => rows.find((cells) => cells[0] === queue)?.[column];
    const json = await salescale(['queues', '--json']);
    assert.deepEqual(
      {
        paused: Object.fromEntries(report.queues.map((q) => [q.queue, q.paused])),
        table: { email: pausedCell('email'), order: pausedCell('order') },
        jsonCode: json.code,
        jsonPaused: (JSON.parse(json.code === 0 ? json.stdout : '{}') as { queues?: { queue: string; paused: boolean }[] }).queues?.find((q) => q.queue === 'email')?.paused,
      },
      { paused: { email: true, order: false, inventory: false, notifications: false }, table: { email: 'yes', order: 'no' }, jsonCode: 0, jsonPaused: true },
      'a paused queue shows as one whose jobs merely wait',
    );
  });

  it('is resumed by `salescale queues resume`, and any queue paused by `salescale queues pause`, each saying what it did', async () => {
    const runs = [];
    for (const args of [['resume', 'email'], ['resume', 'email'], ['pause', 'order'], ['pause', 'order']]) runs.push(await salescale(['queues', ...args]));
    assert.deepEqual(
      {
        runs: runs.map((r) => [r.code, r.stdout, r.stderr]),
        email: await queues.get('email').isPaused(),
        order: await queues.get('order').isPaused(),
      },
      {
        runs: [
          [0, 'email: running\n', ''],
          [0, 'email: already running\n', ''],
          [0, 'order: paused\n', ''],
          [0, 'order: already paused\n', ''],
        ],
        email: false,
        order: true,
      },
    );
  });
});
