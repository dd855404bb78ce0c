/**
 * Sale uplift learned from the shop's own past events. For each past event inside the history, the
 * baseline is what the robust week average (median of the same hour over up to 5 weeks before the
 * event, on log(1 + y)) would have forecast for it; the event's curve is actual / baseline by hour
 * from the event start (ramp, peak and decay as they happened), each hour's ratio shrunk toward its
 * neighbours' as far as its baseline is too small to measure it (`estimateUplift`). Events of one kind
 * are combined by the median per hour and applied to upcoming events of that kind. Kinds without a
 * past event keep the seed multiplier, and every event says which source it used.
 */
import { ScalingInputError, parseDate, quoteInput } from '../errors.ts';
import type { HourlyPoint } from './csv.ts';
import { readCsvTable } from './csv.ts';
import type { SaleEvent } from './events.ts';
import { DEFAULT_EVENT_SHAPE, MAX_FILE_SALE_EVENTS } from './events.ts';
import { WEEK, forecastWeekAverage } from './seasonal-models.ts';

const HOUR_MS = 3_600_000;

/** `Black Friday` → `black-friday`: the kind of an event that names none. */
export function getEventKind(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** A learned uplift curve of one kind of event. */
export interface UpliftCurve {
  kind: string;
  /** Names and starts of the past events it was learned from. */
  learnedFrom: string[];
  /** Multiplier of the baseline by hour from the event start (`estimateUplift`, median over the events). */
  multipliers: number[];
  /** What the output calls the peak: see `getPeakUplift`. */
  peak: number;
  /** The event's requests ÷ its baseline's over all its hours, shrunk like the curve (median over the events). */
  overall: number;
}

/**
 * How far an hour's multiplier may stray from its neighbourhood's, relative: the coefficient of
 * variation of the gamma prior. 0.2 lets a ramp measured on a few hundred requests an hour stand
 * (×2.25 → ×3.5 → ×4.75 → ×6) and holds an hour measured on a few requests near its neighbours.
 */
const HOUR_SPREAD = 0.2;

/** Consecutive hours over which the reported peak is measured. */
const PEAK_HOURS = 3;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function sum(values: readonly number[], from = 0, to = values.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += values[i];
  return s;
}

/**
 * Strength, in requests of baseline, of a gamma prior on a multiplier with mean `prior` and coefficient
 * of variation HOUR_SPREAD: the ratio's noise over the prior's spread². A count's relative variance is
 * 1 / (m × b); the baseline's, a median of 5 weeks, about π/10 / b (a median's variance is π/2n that of
 * one value). k ≈ 33 requests where the prior is ×1, 12 where it is ×6.
 */
function getPriorRequests(prior: number): number {
  return (1 / Math.max(prior, 0.05) + Math.PI / 10) / HOUR_SPREAD ** 2;
}

/** Posterior mean of m given `actual` ~ Poisson(m × `baseline`) and that prior: (y + k × prior) ÷ (b + k). */
function shrink(actual: number, baseline: number, prior: number): number {
  const k = getPriorRequests(prior);
  return (actual + k * prior) / (baseline + k);
}

/**
 * Multiplier by hour of one event: actual ÷ baseline, shrunk in three levels where the baseline holds
 * few requests. The event's ratio of sums is shrunk toward ×1; each hour's neighbourhood (the nearest
 * hours on both sides, at least one each, until their baseline holds as many requests as the prior is
 * worth) toward the event's ratio; the hour toward its neighbourhood's. Five requests over a baseline of
 * one are Poisson noise, not a ×5 uplift: such an hour, at night, takes the ratio of the nearest hours
 * that carry traffic. Where the baseline holds hundreds of requests the hour's own ratio stands, so a
 * ramp measured on them is kept as it happened.
 */
export function estimateUplift(actual: readonly number[], baseline: readonly number[]): { multipliers: number[]; overall: number } {
  const n = actual.length;
  const overall = shrink(sum(actual), sum(baseline), 1);
  const enough = getPriorRequests(overall);
  const multipliers = actual.map((y, i) => {
    let from = i;
    let to = i + 1;
    let near = 0;
    let nearBase = 0;
    while ((nearBase < enough || to - from < 3) && (from > 0 || to < n)) {
      if (from > 0) {
        from--;
        near += actual[from];
        nearBase += baseline[from];
      }
      if (to < n) {
        near += actual[to];
        nearBase += baseline[to];
        to++;
      }
    }
    return shrink(y, baseline[i], shrink(near, nearBase, overall));
  });
  return { multipliers, overall };
}

/**
 * The peak the output reports: the largest ratio, over 3 consecutive hours, of the demand the curve gives
 * to the baseline's (Σ m × b ÷ Σ b), among the windows whose baseline holds at least half an average
 * window's. An hour that carries almost none of the event's traffic does not set it, nor does one
 * hour's noise alone; a one-hour spike shows in the curve, diluted here over its window.
 */
export function getPeakUplift(multipliers: readonly number[], baseline: readonly number[]): number {
  const n = multipliers.length;
  const w = Math.min(PEAK_HOURS, n);
  const meanWindow = (sum(baseline) / n) * w;
  const demand = multipliers.map((m, i) => m * baseline[i]);
  let peak = 0;
  for (let i = 0; i + w <= n; i++) {
    const b = sum(baseline, i, i + w);
    if (b > 0 && b >= meanWindow / 2) peak = Math.max(peak, sum(demand, i, i + w) / b);
  }
  return peak > 0 ? peak : Math.max(...multipliers);
}

/** Learns one curve per kind from the events that lie inside the history (after two weeks of it). */
export function learnUpliftCurves(history: readonly HourlyPoint[], events: readonly SaleEvent[]): Map<string, UpliftCurve> {
  const byKind = new Map<string, { label: string; multipliers: number[]; baseline: number[]; overall: number }[]>();
  if (history.length === 0) return new Map();
  const first = history[0].hour.getTime();
  const y = history.map((p) => p.requests);
  for (const e of events) {
    const start = Math.ceil((e.startsAt.getTime() - first) / HOUR_MS);
    const end = Math.ceil((e.endsAt.getTime() - first) / HOUR_MS);
    if (start < 2 * WEEK || end > y.length || end <= start) continue;
    const before = y.slice(0, start).map((v) => Math.log1p(v));
    const forecast = forecastWeekAverage(before, end - start, { kind: 'median', weeks: 5 });
    if (!forecast) continue;
    const baseline = forecast.map((b) => Math.max(0, Math.expm1(b)));
    const kind = e.kind ?? getEventKind(e.name);
    const list = byKind.get(kind) ?? [];
    list.push({ label: `${e.name} ${e.startsAt.toISOString().slice(0, 10)}`, baseline, ...estimateUplift(y.slice(start, end), baseline) });
    byKind.set(kind, list);
  }
  const curves = new Map<string, UpliftCurve>();
  for (const [kind, list] of byKind) {
    const hours = Math.max(...list.map((l) => l.multipliers.length));
    const at = (i: number) => list.filter((l) => i < l.multipliers.length);
    const multipliers = Array.from({ length: hours }, (_, i) => median(at(i).map((l) => l.multipliers[i])));
    const baseline = Array.from({ length: hours }, (_, i) => median(at(i).map((l) => l.baseline[i])));
    curves.set(kind, { kind, learnedFrom: list.map((l) => l.label), multipliers, peak: getPeakUplift(multipliers, baseline), overall: median(list.map((l) => l.overall)) });
  }
  return curves;
}

/** The history with its past sale events' hours replaced by their baseline (`removeEventHours`). */
export interface BaselineHistory {
  /** Requests per hour, event hours replaced. */
  y: number[];
  /** Hours replaced. */
  hours: number;
  /** Past events that overlapped the history. */
  events: number;
  /** 1 for the hours inside an event. */
  inEvent: Uint8Array;
}

/**
 * The history the base models are fitted on: the hours of past sale events replaced by their baseline.
 * The base is the demand before any sale event (the uplift multiplies it), so a past sale must not be
 * carried into the ordinary weeks that follow it, nor into the validation that picks the model. An
 * event hour's baseline is the median of the same hour of the week over up to 5 weeks before it
 * (log(1 + y), like the uplift's baseline), read from the already cleaned series so that one event
 * does not leak into the next; where no week lies before it, the following weeks outside events.
 * Hours partly inside an event count as inside.
 */
export function removeEventHours(history: readonly HourlyPoint[], events: readonly SaleEvent[]): BaselineHistory {
  const y = history.map((p) => p.requests);
  const n = y.length;
  if (n === 0) return { y, hours: 0, events: 0, inEvent: new Uint8Array(0) };
  const first = history[0].hour.getTime();
  const inEvent = new Uint8Array(n);
  let overlapping = 0;
  for (const e of events) {
    const start = Math.max(0, Math.floor((e.startsAt.getTime() - first) / HOUR_MS));
    const end = Math.min(n, Math.ceil((e.endsAt.getTime() - first) / HOUR_MS));
    if (end <= start) continue;
    overlapping++;
    inEvent.fill(1, start, end);
  }
  let hours = 0;
  for (let i = 0; i < n; i++) {
    if (!inEvent[i]) continue;
    const before: number[] = [];
    for (let k = 1; k <= 5 && i - k * WEEK >= 0; k++) before.push(Math.log1p(y[i - k * WEEK]));
    const after: number[] = [];
    if (before.length === 0) for (let k = 1; k <= 5 && i + k * WEEK < n; k++) if (!inEvent[i + k * WEEK]) after.push(Math.log1p(y[i + k * WEEK]));
    const weeks = before.length > 0 ? before : after;
    if (weeks.length === 0) continue;
    y[i] = Math.expm1(median(weeks));
    hours++;
  }
  return { y, hours, events: overlapping, inEvent };
}

/**
 * Upcoming events (those not over before `historyEnd`) with the learned curve of their kind where one
 * exists; `source` says which was used.
 */
export function applyUpliftCurves(events: readonly SaleEvent[], curves: ReadonlyMap<string, UpliftCurve>, historyEnd: Date, fallback = 'seed multiplier'): SaleEvent[] {
  return events.map((e) => {
    const curve = curves.get(e.kind ?? getEventKind(e.name));
    if (!curve || e.endsAt.getTime() <= historyEnd.getTime()) return { ...e, source: e.source ?? `${fallback} ×${e.trafficMultiplier} (no past event of kind "${e.kind ?? getEventKind(e.name)}" in the history)` };
    const { peak, overall } = curve;
    return { ...e, curve: curve.multipliers, trafficMultiplier: peak, source: `learned from ${curve.learnedFrom.length} past event(s): ${curve.learnedFrom.join(', ')} (peak ×${peak.toFixed(2)}: the curve's demand ÷ baseline over its strongest 3 consecutive hours; ×${overall.toFixed(2)} over the whole event)` };
  });
}

/** The multiplier an events CSV's event of a known kind gets until its curve is learned. */
export const SEED_KIND_MULTIPLIERS: Readonly<Record<string, number>> = { 'black-friday': 10, 'cyber-monday': 8, 'christmas-sale': 5 };

/** Whether a kind has a seed multiplier (own kinds only). */
export function hasSeedMultiplier(kind: string): boolean {
  return Object.hasOwn(SEED_KIND_MULTIPLIERS, kind);
}

/** Parses an events CSV `name,start,end,kind` (header required; kind may be empty). */
export function parseEventsCsv(text: string, source = 'events CSV'): SaleEvent[] {
  const { header, headerLine, rows } = readCsvTable(text, source);
  const col = (name: string) => header.indexOf(name);
  if (col('name') < 0 || col('start') < 0 || col('end') < 0) throw new ScalingInputError('MALFORMED_CSV', `${source} line 1: header must name "name,start,end[,kind]" (got ${quoteInput(headerLine)})`);
  if (rows.length > MAX_FILE_SALE_EVENTS) throw new ScalingInputError('MALFORMED_CSV', `${source} holds ${rows.length} events; at most ${MAX_FILE_SALE_EVENTS} are taken`);
  return rows.map(({ cells, line }) => {
    const where = `${source} line ${line}`;
    const startsAt = parseDate(cells[col('start')], `${where} start`);
    const endsAt = parseDate(cells[col('end')], `${where} end`);
    if (endsAt.getTime() <= startsAt.getTime()) throw new ScalingInputError('INVALID_DATE', `${where}: end is not after start`);
    const name = cells[col('name')];
    // Without one, the event was listed as "" and its kind was the empty slug.
    if (name === '') throw new ScalingInputError('MALFORMED_CSV', `${where}: the event has no name`);
    const kind = col('kind') >= 0 && cells[col('kind')] ? cells[col('kind')] : getEventKind(name);
    // No multiplier in the file: the seed's for a known kind, else ×1 until learned. Own kinds only: a kind
    // "constructor" found Object itself, and every rate of the event read NaN.
    return { name, kind, startsAt, endsAt, trafficMultiplier: hasSeedMultiplier(kind) ? SEED_KIND_MULTIPLIERS[kind] : 1, shape: DEFAULT_EVENT_SHAPE };
  });
}
