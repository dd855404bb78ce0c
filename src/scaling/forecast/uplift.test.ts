import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../lib/rng.ts';
import type { HourlyPoint } from './csv.ts';
import { forecastHourly } from './forecast.ts';
import { applyUpliftCurves, getEventKind, learnUpliftCurves, parseEventsCsv, removeEventHours } from './uplift.ts';

const HOUR = 3_600_000;

/** Shop-like traffic with a known Black Friday: 4-hour linear ramp to ×6, then ×6 to midnight. */
function getTrueMultiplier(t: number, bfStarts: readonly number[]): number {
  for (const s of bfStarts) {
    if (t >= s && t < s + 24 * HOUR) {
      const h = (t - s) / HOUR;
      return h < 4 ? 1 + (5 * (h + 1)) / 4 : 6;
    }
  }
  return 1;
}

function getBase(t: number): number {
  const d = new Date(t);
  const hour = d.getUTCHours();
  const daily = 0.25 + Math.max(0, Math.sin(((hour - 6) / 24) * 2 * Math.PI)) * 1.2;
  const weekly = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 1.3 : 1;
  return 1000 * daily * weekly;
}

function makeHistory(from: string, to: string, bfStarts: readonly number[]): HourlyPoint[] {
  const rand = createRng(7);
  const out: HourlyPoint[] = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += HOUR) {
    out.push({ hour: new Date(t), requests: Math.round(getBase(t) * getTrueMultiplier(t, bfStarts) * (1 + (rand() - 0.5) * 0.1)) });
  }
  return out;
}

const BF_2024 = Date.parse('2024-11-29T00:00:00Z');
const BF_2025 = Date.parse('2025-11-28T00:00:00Z');
const BF_2026 = Date.parse('2026-11-27T00:00:00Z');
const events = parseEventsCsv(
  ['name,start,end,kind', 'Black Friday,2024-11-29T00:00:00Z,2024-11-30T00:00:00Z,black-friday', 'Black Friday,2025-11-28T00:00:00Z,2025-11-29T00:00:00Z,black-friday', 'Black Friday,2026-11-27T00:00:00Z,2026-11-28T00:00:00Z,black-friday', 'Spring sale,2027-03-01T00:00:00Z,2027-03-02T00:00:00Z,'].join('\n'),
);

describe('learned sale uplift', () => {
  it('parses name,start,end,kind and takes the kind from the name when empty', () => {
    assert.equal(events.length, 4);
    assert.equal(events[3].kind, 'spring-sale');
    assert.equal(getEventKind('Black Friday'), 'black-friday');
    assert.throws(() => parseEventsCsv('name,start,end\nx,2026-01-02,2026-01-01\n'), { code: 'INVALID_DATE' });
    // A name with a comma in it, quoted as spreadsheets write it.
    assert.deepEqual(
      parseEventsCsv('name,start,end,kind\n"Black Friday, 2025",2025-11-28T00:00:00Z,2025-11-29T00:00:00Z,black-friday\n').map((e) => [e.name, e.kind, e.startsAt.toISOString()]),
      [['Black Friday, 2025', 'black-friday', '2025-11-28T00:00:00.000Z']],
    );
  });

  it('learns a 6× peak with a 4-hour ramp from two past Black Fridays and forecasts the next one within 15 %', () => {
    const history = makeHistory('2024-09-02T00:00:00Z', '2026-11-20T00:00:00Z', [BF_2024, BF_2025]);
    const curves = learnUpliftCurves(history, events);
    const curve = curves.get('black-friday');
    assert.ok(curve);
    assert.equal(curve.learnedFrom.length, 2);
    const upcoming = applyUpliftCurves(events, curves, history[history.length - 1].hour);
    const bf = upcoming.find((e) => e.startsAt.getTime() === BF_2026);
    assert.ok(bf?.source?.startsWith('learned from 2 past event(s)'), bf?.source);
    // The baseline is known here (the generator's); the uplift alone is under test.
    const hours = forecastHourly({ events: upcoming, learnedBase: new Map(Array.from({ length: 24 }, (_, i) => [BF_2026 + i * HOUR, getBase(BF_2026 + i * HOUR) / 3600])) }, new Date(BF_2026), new Date(BF_2026 + 24 * HOUR));
    for (let i = 4; i < 24; i++) {
      const truth = (getBase(BF_2026 + i * HOUR) * 6) / 3600;
      assert.ok(Math.abs(hours[i].meanRequestsPerSecond / truth - 1) < 0.15, `hour ${i}: ${hours[i].meanRequestsPerSecond} vs ${truth}`);
    }
    // The ramp is learned too: the first hour is far below the peak.
    assert.ok(hours[0].eventMultiplier < 3.5, `first hour ×${hours[0].eventMultiplier}`);
  });

  it('replaces the hours of past events by their baseline for the base models, and leaves the other hours as they were', () => {
    const history = makeHistory('2024-09-02T00:00:00Z', '2026-11-20T00:00:00Z', [BF_2024, BF_2025]);
    const cleaned = removeEventHours(history, events);
    assert.equal(cleaned.events, 2);
    assert.equal(cleaned.hours, 48);
    for (let i = 0; i < history.length; i++) {
      const t = history[i].hour.getTime();
      if (getTrueMultiplier(t, [BF_2024, BF_2025]) === 1 && !(t >= BF_2024 && t < BF_2024 + 24 * HOUR) && !(t >= BF_2025 && t < BF_2025 + 24 * HOUR)) {
        assert.equal(cleaned.y[i], history[i].requests);
      } else {
        // The generator's noise is ±5 %; the 6× peak is gone.
        assert.ok(Math.abs(cleaned.y[i] / getBase(t) - 1) < 0.1, `${history[i].hour.toISOString()}: ${cleaned.y[i]} vs ${getBase(t)}`);
      }
    }
    // An event in the first week of the history has no week before it: the weeks after it stand in.
    const early = removeEventHours(history, parseEventsCsv('name,start,end\nLaunch,2024-09-03T10:30:00Z,2024-09-03T12:00:00Z\n'));
    assert.equal(early.hours, 2);
    const i = 24 + 10;
    assert.ok(Math.abs(early.y[i] / getBase(history[i].hour.getTime()) - 1) < 0.1);
    assert.equal(removeEventHours(history, parseEventsCsv('name,start,end\nLater,2027-01-01T00:00:00Z,2027-01-02T00:00:00Z\n')).hours, 0);
  });

  it('keeps the seed multiplier, and says so, for a kind with no past event in the history', () => {
    const history = makeHistory('2026-09-07T00:00:00Z', '2026-11-20T00:00:00Z', []);
    const upcoming = applyUpliftCurves(events, learnUpliftCurves(history, events), history[history.length - 1].hour);
    const bf = upcoming.find((e) => e.startsAt.getTime() === BF_2026);
    assert.equal(bf?.trafficMultiplier, 10);
    assert.equal(bf?.curve, undefined);
    assert.match(bf?.source ?? '', /^seed multiplier ×10/);
  });
});
