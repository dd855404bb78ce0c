import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const css = readFileSync(path.join(import.meta.dirname, 'assets', 'storefront.css'), 'utf8');
const variables = Object.fromEntries([...css.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{3,6})/gi)].map((m) => [m[1], m[2]]));
const colour = (value: string): string => (value.startsWith('var(') ? variables[value.slice(6, -1)]! : value);

/** WCAG 2 relative luminance and contrast ratio of two #rgb / #rrggbb colours. */
function luminance(hex: string): number {
  const full = hex.length === 4 ? hex.replace(/[0-9a-f]/gi, (c) => c + c) : hex;
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

describe('storefront colours', () => {
  it('keeps text at 4.5:1 against its background (WCAG AA)', () => {
    for (const [text, background] of [
      ['var(--ink)', 'var(--bg)'],
      ['var(--muted)', 'var(--bg)'],
      ['var(--accent)', 'var(--bg)'],
      ['var(--accent-ink)', 'var(--accent)'],
      ['var(--warn)', 'var(--bg)'],
      ['var(--ink)', '#fff4d6'],
      ['var(--accent)', '#fff4d6'],
    ] as const) {
      const ratio = contrast(colour(text), colour(background));
      assert.ok(ratio >= 4.5, `${text} on ${background}: ${ratio.toFixed(2)}:1`);
    }
  });

  // The focus ring is drawn 2px outside the control, on the page's background: WCAG 2.1 1.4.11 (non-text contrast)
  // and 2.4.7 ask that a keyboard user can see it, at 3:1 at least.
  it('draws the focus ring at 3:1 at least against the page', () => {
    const rings = [...css.matchAll(/:focus[^{]*\{[^}]*outline:\s*\d+px\s+solid\s+(#[0-9a-f]{3,6}|var\(--[a-z-]+\))/gi)].map((m) => colour(m[1]!));
    assert.ok(rings.length > 0, 'a focus rule with a solid outline');
    for (const ring of rings) {
      const ratio = contrast(ring, colour('var(--bg)'));
      assert.ok(ratio >= 3, `focus ring ${ring} on the page: ${ratio.toFixed(2)}:1`);
    }
  });
});
