import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../platform/logger/logger.ts';
import type { Db } from '../../platform/db/client.ts';
import type { AuditRepository, NewAdminAction } from './audit.repository.ts';
import { createAuditService } from './audit.service.ts';

const action = (requestId: string): NewAdminAction => ({ method: 'PATCH', route: '/api/v1/admin/products/:id', target: { id: 1 }, status: 200, requestId, client: '127.0.0.1' });

describe('the audit service', () => {
  // The list is newest first by id, which the insert takes when it runs: two actions a moment apart (a PUT of stock,
  // then a PATCH of the product) each wrote on its own connection, and the second could take its id first, so the
  // trail showed the later change as the earlier one. The store here answers its inserts in the order it is told.
  it('stores the actions of one process in the order they were answered, even when an earlier write is slower', async () => {
    const started: string[] = [];
    const stored: string[] = [];
    const finish = new Map<string, () => void>();
    const repo = {
      insert: (_db: Db, row: NewAdminAction) => {
        started.push(row.requestId);
        return new Promise<void>((resolve) =>
          finish.set(row.requestId, () => {
            stored.push(row.requestId);
            resolve();
          }),
        );
      },
      list: async () => [],
    } as unknown as AuditRepository;
    const audit = createAuditService({ db: () => ({}) as Db, repo, logger: createLogger({ level: 'silent' }) });

    audit.record(action('first'));
    audit.record(action('second'));
    await new Promise((resolve) => setImmediate(resolve));
    // The second write never starts before the first was stored: the database would number it first.
    assert.deepEqual(started, ['first'], 'the second write started while the first was still on its way');
    finish.get('first')!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(started, ['first', 'second']);
    finish.get('second')!();
    await audit.settle();
    assert.deepEqual(stored, ['first', 'second']);
  });

  it('goes on storing after a write that failed', async () => {
    const stored: string[] = [];
    const repo = {
      insert: async (_db: Db, row: NewAdminAction) => {
        if (row.requestId === 'fails') throw new Error('connection terminated');
        stored.push(row.requestId);
      },
      list: async () => [],
    } as unknown as AuditRepository;
    const audit = createAuditService({ db: () => ({}) as Db, repo, logger: createLogger({ level: 'silent' }) });
    audit.record(action('fails'));
    audit.record(action('after'));
    await audit.settle();
    assert.deepEqual(stored, ['after']);
  });
});
