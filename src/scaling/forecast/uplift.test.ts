import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRng } from '../../lib/rng.ts';
import { getRealDataset } from '../test-data/real-datasets.ts';
import type { HourlyPoint } from './csv.ts';
import type { SaleEvent } from './events.ts';
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

/** Requests an hour without an event: `night` from 18:00 to 06:00, a daytime hump to `night + 1.2 × day`, ×1.3 at weekends. */
function getBase(t: number, night = 250, day = 1000): number {
  const d = new Date(t);
  const hump = Math.max(0, Math.sin(((d.getUTCHours() - 6) / 24) * 2 * Math.PI)) * 1.2 * day;
  const weekly = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 1.3 : 1;
  return (night + hump) * weekly;
}

function makeHistory(from: string, to: string, bfStarts: readonly number[], base: (t: number) => number = getBase): HourlyPoint[] {
  const rand = createRng(7);
  const out: HourlyPoint[] = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += HOUR) {
    out.push({ hour: new Date(t), requests: Math.round(base(t) * getTrueMultiplier(t, bfStarts) * (1 + (rand() - 0.5) * 0.1)) });
  }
  return out;
}

/** A Poisson count (normal approximation above 30). */
function drawPoisson(rand: () => number, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rand(); p > limit; p *= rand()) k++;
  return k;
}

/** Hourly counts drawn from Poisson(base × multiplier): the noise of a real count, large where the count is small. */
function makeCountHistory(from: string, to: string, base: (t: number) => number, multiplier: (t: number) => number, seed = 7): HourlyPoint[] {
  const rand = createRng(seed);
  const out: HourlyPoint[] = [];
  for (let t = Date.parse(from); t < Date.parse(to); t += HOUR) out.push({ hour: new Date(t), requests: drawPoisson(rand, base(t) * multiplier(t)) });
  return out;
}

/** One past event of kind `x` on `day` (00:00–24:00 UTC) and an upcoming one. */
function getDayEvent(name: string, day: string): SaleEvent[] {
  const next = new Date(Date.parse(day) + 24 * HOUR).toISOString().slice(0, 10);
  return parseEventsCsv(`name,start,end,kind\n${name},${day}T00:00:00Z,${next}T00:00:00Z,x\n${name},2030-01-01T00:00:00Z,2030-01-02T00:00:00Z,x\n`);
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

  it('still forecasts the 6× Black Friday within 15 % when nights carry a few requests an hour', () => {
    // Nights at 5 requests an hour (1 % of the daytime peak), the generator's ±5 % noise.
    const quiet = (t: number) => getBase(t, 5);
    const history = makeHistory('2024-09-02T00:00:00Z', '2026-11-20T00:00:00Z', [BF_2024, BF_2025], quiet);
    const upcoming = applyUpliftCurves(events, learnUpliftCurves(history, events), history[history.length - 1].hour);
    const hours = forecastHourly({ events: upcoming, learnedBase: new Map(Array.from({ length: 24 }, (_, i) => [BF_2026 + i * HOUR, quiet(BF_2026 + i * HOUR) / 3600])) }, new Date(BF_2026), new Date(BF_2026 + 24 * HOUR));
    for (let i = 4; i < 24; i++) {
      const truth = (quiet(BF_2026 + i * HOUR) * 6) / 3600;
      assert.ok(Math.abs(hours[i].meanRequestsPerSecond / truth - 1) < 0.15, `hour ${i}: ${hours[i].meanRequestsPerSecond} vs ${truth}`);
    }
    // The ramp's first hour was a dozen requests over a baseline of 5: too few to stand on their own,
    // it leans toward the next hours' ramp (an error of ~10 requests), still below the peak.
    assert.ok(hours[0].eventMultiplier < 5, `first hour ×${hours[0].eventMultiplier}`);
  });

  it('learns the 6× Black Friday from Poisson counts with 20 requests an hour at night: within 15 % where its traffic is, 25 % at night', () => {
    const base = (t: number) => getBase(t, 20, 300);
    const history = makeCountHistory('2024-09-02T00:00:00Z', '2026-11-20T00:00:00Z', base, (t) => getTrueMultiplier(t, [BF_2024, BF_2025]));
    const upcoming = applyUpliftCurves(events, learnUpliftCurves(history, events), history[history.length - 1].hour);
    const hours = forecastHourly({ events: upcoming, learnedBase: new Map(Array.from({ length: 24 }, (_, i) => [BF_2026 + i * HOUR, base(BF_2026 + i * HOUR) / 3600])) }, new Date(BF_2026), new Date(BF_2026 + 24 * HOUR));
    for (let i = 4; i < 24; i++) {
      const b = base(BF_2026 + i * HOUR);
      const error = Math.abs(hours[i].meanRequestsPerSecond / ((b * 6) / 3600) - 1);
      // A night hour's baseline is the median of 5 counts near 20: ±12 % by itself.
      assert.ok(error < (b >= 150 ? 0.15 : 0.25), `hour ${i} (base ${b.toFixed(0)}): ${(error * 100).toFixed(1)} % off`);
    }
    // The ramp is measured on few requests at midnight: blurred toward the peak, still below it.
    assert.ok(hours[0].eventMultiplier < 4.5, `first hour ×${hours[0].eventMultiplier}`);
    const bf = upcoming.find((e) => e.startsAt.getTime() === BF_2026);
    assert.ok(bf?.trafficMultiplier && Math.abs(bf.trafficMultiplier / 6 - 1) < 0.15, bf?.source);
  });

  it('learns about ×1, and no hour far from it, from an ordinary day named as an event', () => {
    // Nights at one request an hour, days up to ~75: Poisson noise of ×5 at night and ±15 % by day.
    const base = (t: number) => getBase(t, 1, 50);
    const history = makeCountHistory('2026-03-02T00:00:00Z', '2026-06-01T00:00:00Z', base, () => 1);
    const curves = learnUpliftCurves(history, getDayEvent('Spring sale', '2026-05-13'));
    const curve = curves.get('x');
    assert.ok(curve);
    assert.ok(curve.peak < 1.3 && curve.peak > 0.8, `peak ×${curve.peak}`);
    for (const [i, m] of curve.multipliers.entries()) assert.ok(m > 0.7 && m < 1.4, `hour ${i}: ×${m}`);
    const [, upcoming] = applyUpliftCurves(getDayEvent('Spring sale', '2026-05-13'), curves, history[history.length - 1].hour);
    assert.match(upcoming.source ?? '', /^learned from 1 past event\(s\): Spring sale 2026-05-13 \(peak ×[01]\.\d\d: the curve's demand ÷ baseline over its strongest 3 consecutive hours; ×[01]\.\d\d over the whole event\)$/);
  });

  it('learns about ×1 from ordinary days of El Paso departures (2.5 flights an hour, nights at zero)', () => {
    const history = getRealDataset('us-flights-2001-elp');
    for (const day of ['2001-03-14', '2001-04-10', '2001-05-28']) {
      const curve = learnUpliftCurves(history, getDayEvent('Spring sale', day)).get('x');
      assert.ok(curve);
      assert.ok(Math.abs(curve.peak - 1) < 0.15, `${day}: peak ×${curve.peak}`);
      for (const [i, m] of curve.multipliers.entries()) assert.ok(m > 0.7 && m < 1.3, `${day} hour ${i}: ×${m}`);
    }
    // Every day of the series named in turn, each its own kind.
    const days: string[] = [];
    for (let t = Date.parse('2001-01-15T00:00:00Z'); t < Date.parse('2001-06-30T00:00:00Z'); t += 24 * HOUR) days.push(new Date(t).toISOString().slice(0, 10));
    const all = learnUpliftCurves(history, parseEventsCsv(['name,start,end,kind', ...days.map((d) => `Day,${d}T00:00:00Z,${new Date(Date.parse(d) + 24 * HOUR).toISOString().slice(0, 10)}T00:00:00Z,${d}`)].join('\n')));
    assert.equal(all.size, days.length);
    for (const c of all.values()) assert.ok(c.peak < 1.3, `${c.kind}: peak ×${c.peak}`);
  });

  it('learns a 6× daytime sale as about ×6 when the nights around it hold a request or two', () => {
    const sale = Date.parse('2026-05-13T00:00:00Z');
    const base = (t: number) => getBase(t, 1, 50);
    const history = makeCountHistory('2026-03-02T00:00:00Z', '2026-06-01T00:00:00Z', base, (t) => (t >= sale + 9 * HOUR && t < sale + 21 * HOUR ? 6 : 1));
    const curve = learnUpliftCurves(history, getDayEvent('Spring sale', '2026-05-13')).get('x');
    assert.ok(curve);
    assert.ok(Math.abs(curve.peak / 6 - 1) < 0.15, `peak ×${curve.peak}`);
    for (let i = 10; i < 17; i++) assert.ok(Math.abs(curve.multipliers[i] / 6 - 1) < 0.2, `hour ${i}: ×${curve.multipliers[i]}`);
    // A night of 0–3 requests says little: its hours lean on the nearest hours with traffic, not on their own noise.
    for (let i = 0; i < 7; i++) assert.ok(curve.multipliers[i] < 4, `hour ${i}: ×${curve.multipliers[i]}`);
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
