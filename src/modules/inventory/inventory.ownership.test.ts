import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const SRC = path.join(import.meta.dirname, '..', '..');
const INVENTORY = path.join(SRC, 'modules', 'inventory');
// Applied history: the first versions of the stock SQL, replaced by inventory.sql at every migrate.
const HISTORY = path.join(SRC, 'platform', 'db', 'migrations');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return file === HISTORY ? [] : sources(file);
    return /\.(ts|sql)$/.test(file) && !file.endsWith('.test.ts') ? [file] : [];
  });
}

describe('inventory owns stock', () => {
  it('no statement outside modules/inventory writes product_stock', () => {
    const offending: string[] = [];
    for (const file of sources(SRC)) {
      if (file.startsWith(INVENTORY + path.sep)) continue;
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          const names = /product_stock|productStock|inventory\.tables/.test(line);
          if (names && (/\b(insert|update|delete|truncate)\b/i.test(line) || /productStock|inventory\.tables/.test(line))) offending.push(`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offending, []);
  });

  it('place_order takes stock through take_stock, which inventory.sql defines', () => {
    const orders = readFileSync(path.join(SRC, 'modules', 'orders', 'orders.sql'), 'utf8');
    assert.match(orders, /PERFORM take_stock\(/);
    assert.doesNotMatch(orders, /product_stock/);
    assert.match(readFileSync(path.join(INVENTORY, 'inventory.sql'), 'utf8'), /CREATE OR REPLACE FUNCTION take_stock\(/);
  });
});
