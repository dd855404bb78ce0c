/**
 * MSTL (periods 24 and 168) with AutoETS on the seasonally adjusted series, from augurs (Grafana's
 * Rust port of R's `mstl` + `forecast::ets`, as WebAssembly). As R's `stlm`, the seasonal parts are
 * forecast by their last cycle and the adjusted series by the ETS model chosen by AICc.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MSTL, initSync } from '@bsull/augurs/mstl';
import { WEEK } from './seasonal-models.ts';

let ready = false;

function init(): void {
  if (ready) return;
  // The package exports only its JS entry points; the .wasm sits beside them.
  const entry = createRequire(import.meta.url).resolve('@bsull/augurs/mstl');
  initSync({ module: readFileSync(join(dirname(entry), 'mstl_bg.wasm')) });
  ready = true;
}

/** Weeks of history MSTL sees (the most recent ones): enough for two weekly cycles, fast. */
export const MSTL_WEEKS = 6;

export function forecastMstlEts(z: readonly number[], h: number): number[] | undefined {
  if (z.length < 3 * WEEK) return undefined;
  init();
  const model = MSTL.ets([24, WEEK]);
  try {
    model.fit(Float64Array.from(z.slice(-MSTL_WEEKS * WEEK)));
    const point = model.predict(h).point;
    return point.every(Number.isFinite) ? point : undefined;
  } finally {
    model.free();
  }
}
