import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import type { IdempotencyBegin, IdempotencyStore } from '../platform/idempotency/idempotency-store.ts';
import { IdempotencyKeyReusedError, noEffect } from '../shared/errors.ts';
import { installErrorHandling } from './error-handler.ts';
import { idempotent } from '../platform/http/idempotent.ts';

/** A store whose `begin` answers `started` (uncertain or not) and which records how each attempt was abandoned. */
function recordingStore(uncertain: boolean) {
  const abandoned: { unknownOutcome: boolean }[] = [];
  const holds = { held: 0, released: 0 };
  const started: IdempotencyBegin = uncertain ? { kind: 'started', lease: 'l', uncertain: true } : { kind: 'started', lease: 'l' };
  const store: IdempotencyStore = {
    begin: async () => started,
    beginWithResult: async () => started,
    complete: async () => {},
    abandon: async (_scope, _key, _lease, unknownOutcome) => {
      abandoned.push({ unknownOutcome: unknownOutcome !== undefined });
    },
    hold: () => {
      holds.held++;
      return () => {
        holds.released++;
      };
    },
  };
  return { store, abandoned, holds };
}

async function failedAttempt(uncertain: boolean, error: Error): Promise<{ status: number; abandoned: { unknownOutcome: boolean }[] }> {
  const { store, abandoned } = recordingStore(uncertain);
  const app = Fastify();
  installErrorHandling(app);
  app.post('/act', (request, reply) =>
    idempotent(store, request, reply, { scope: 's', key: 'k', fingerprint: 'f' }, async () => {
      throw error;
    }),
  );
  try {
    const reply = await app.inject({ method: 'POST', url: '/act' });
    return { status: reply.statusCode, abandoned };
  } finally {
    await app.close();
  }
}

describe('idempotent: the mark of an unknown outcome', () => {
  it('marks the key of an attempt that failed while its effect was possible', async () => {
    const { status, abandoned } = await failedAttempt(false, new Error('connection lost at COMMIT'));
    assert.equal(status, 500);
    assert.deepEqual(abandoned, [{ unknownOutcome: true }]);
  });

  it('releases without a mark the key of an attempt that failed before it could have any effect', async () => {
    const { status, abandoned } = await failedAttempt(false, noEffect(new Error('stock gate unreachable, nothing written')));
    assert.equal(status, 500);
    assert.deepEqual(abandoned, [{ unknownOutcome: false }], 'no mark: the retry starts certain');
  });

  it("keeps the mark of an uncertain attempt that failed without effect: the earlier attempt's outcome is still unknown", async () => {
    const { abandoned } = await failedAttempt(true, noEffect(new Error('stock gate unreachable, nothing written')));
    assert.deepEqual(abandoned, [{ unknownOutcome: true }]);
  });
});

describe('idempotent: a refusal known beforehand', () => {
  async function withKnownRefusal(uncertain: boolean): Promise<{ status: number; answered: number; ran: number }> {
    const { store } = recordingStore(uncertain);
    let answered = 0;
    let ran = 0;
    const app = Fastify();
    installErrorHandling(app);
    app.post('/act', (request, reply) =>
      idempotent(
        store,
        request,
        reply,
        { scope: 's', key: 'k', fingerprint: 'f', knownRefusal: () => new IdempotencyKeyReusedError(), knownRefusalAnswered: () => answered++ },
        async () => {
          ran++;
          return { status: 201, body: { ok: true }, replayed: true };
        },
      ),
    );
    try {
      const reply = await app.inject({ method: 'POST', url: '/act' });
      return { status: reply.statusCode, answered, ran };
    } finally {
      await app.close();
    }
  }

  it('reports the known refusal it answers', async () => {
    assert.deepEqual(await withKnownRefusal(false), { status: 422, answered: 1, ran: 0 });
  });

  it("does not report it as the answer of a retry under the mark of an unknown outcome, which runs (its order may replay)", async () => {
    assert.deepEqual(await withKnownRefusal(true), { status: 201, answered: 0, ran: 1 });
  });
});

describe('idempotent: the lease renewal', () => {
  async function attempt(run: () => Promise<{ status: number; body: unknown }>): Promise<{ status: number; holds: { held: number; released: number } }> {
    const { store, holds } = recordingStore(false);
    const app = Fastify();
    installErrorHandling(app);
    app.post('/act', (request, reply) => idempotent(store, request, reply, { scope: 's', key: 'k', fingerprint: 'f' }, run));
    try {
      const reply = await app.inject({ method: 'POST', url: '/act' });
      return { status: reply.statusCode, holds };
    } finally {
      await app.close();
    }
  }

  it('stops renewing once the request has its result', async () => {
    assert.deepEqual(await attempt(async () => ({ status: 201, body: { ok: true } })), { status: 201, holds: { held: 1, released: 1 } });
  });

  it('stops renewing when the request fails', async () => {
    const failed = await attempt(async () => {
      throw new Error('connection lost at COMMIT');
    });
    assert.deepEqual(failed, { status: 500, holds: { held: 1, released: 1 } });
  });
});
