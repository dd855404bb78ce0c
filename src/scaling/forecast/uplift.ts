/**
 * Sale uplift learned from the shop's own past events. For each past event inside the history, the
 * baseline is what the robust week average (median of the same hour over up to 5 weeks before the
 * event, on log(1 + y)) would have forecast for it; the event's curve is actual / baseline by hour
 * from the event start (ramp, peak and decay as they happened). Events of one kind are combined by
 * the median per hour and applied to upcoming events of that kind. Kinds without a past event keep
 * the seed multiplier, and every event says which source it used.
 */
import { ScalingInputError, parseDate, quoteInput } from '../errors.ts';
import type { HourlyPoint } from './csv.ts';
import { readCsvTable } from './csv.ts';
import type { SaleEvent } from './events.ts';
import { DEFAULT_EVENT_SHAPE } from './events.ts';
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
  /** Multiplier of the baseline by hour from the event start. */
  multipliers: number[];
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Learns one curve per kind from the events that lie inside the history (after two weeks of it). */
export function learnUpliftCurves(history: readonly HourlyPoint[], events: readonly SaleEvent[]): Map<string, UpliftCurve> {
  const byKind = new Map<string, { label: string; ratios: number[] }[]>();
  if (history.length === 0) return new Map();
  const first = history[0].hour.getTime();
  const y = history.map((p) => p.requests);
  for (const e of events) {
    const start = Math.ceil((e.startsAt.getTime() - first) / HOUR_MS);
    const end = Math.ceil((e.endsAt.getTime() - first) / HOUR_MS);
    if (start < 2 * WEEK || end > y.length) continue;
    const before = y.slice(0, start).map((v) => Math.log1p(v));
    const baseline = forecastWeekAverage(before, end - start, { kind: 'median', weeks: 5 });
    if (!baseline) continue;
    const ratios = baseline.map((b, i) => y[start + i] / Math.max(Math.expm1(b), 1));
    const kind = e.kind ?? getEventKind(e.name);
    const list = byKind.get(kind) ?? [];
    list.push({ label: `${e.name} ${e.startsAt.toISOString().slice(0, 10)}`, ratios });
    byKind.set(kind, list);
  }
  const curves = new Map<string, UpliftCurve>();
  for (const [kind, list] of byKind) {
    const hours = Math.max(...list.map((l) => l.ratios.length));
    const multipliers = Array.from({ length: hours }, (_, i) => Math.max(0, median(list.filter((l) => i < l.ratios.length).map((l) => l.ratios[i]))));
    curves.set(kind, { kind, learnedFrom: list.map((l) => l.label), multipliers });
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
    const peak = Math.max(...curve.multipliers);
    return { ...e, curve: curve.multipliers, trafficMultiplier: peak, source: `learned from ${curve.learnedFrom.length} past event(s): ${curve.learnedFrom.join(', ')} (peak ×${peak.toFixed(2)})` };
  });
}

/** Parses an events CSV `name,start,end,kind` (header required; kind may be empty). */
export function parseEventsCsv(text: string, source = 'events CSV'): SaleEvent[] {
  const { header, headerLine, rows } = readCsvTable(text, source);
  const col = (name: string) => header.indexOf(name);
  if (col('name') < 0 || col('start') < 0 || col('end') < 0) throw new ScalingInputError('MALFORMED_CSV', `${source} line 1: header must name "name,start,end[,kind]" (got ${quoteInput(headerLine)})`);
  return rows.map(({ cells, line }) => {
    const where = `${source} line ${line}`;
    const startsAt = parseDate(cells[col('start')], `${where} start`);
    const endsAt = parseDate(cells[col('end')], `${where} end`);
    if (endsAt.getTime() <= startsAt.getTime()) throw new ScalingInputError('INVALID_DATE', `${where}: end is not after start`);
    const name = cells[col('name')];
    const kind = col('kind') >= 0 && cells[col('kind')] ? cells[col('kind')] : getEventKind(name);
    // No multiplier in the file: the seed's for a known kind, else ×1 until learned.
    const seed: Record<string, number> = { 'black-friday': 10, 'cyber-monday': 8, 'christmas-sale': 5 };
    return { name, kind, startsAt, endsAt, trafficMultiplier: seed[kind] ?? 1, shape: DEFAULT_EVENT_SHAPE };
  });
}
