import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { findRedisServer, LocalStackError } from './local-stack.ts';

describe('findRedisServer', () => {
  it('refuses with the install hint, not a crash, when PATH holds neither redis-server nor a shell', () => {
    // Windows has no `sh`, and a trimmed PATH (a container, a service unit) may lack one: `up` must still say in one
    // line what is missing instead of throwing a TypeError from the lookup.
    const empty = mkdtempSync(path.join(tmpdir(), 'salescale-empty-path-'));
    const saved = process.env.PATH;
    process.env.PATH = empty;
    try {
      assert.throws(() => findRedisServer(), (error: unknown) => error instanceof LocalStackError && /redis-server was not found on PATH/.test(error.message));
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
