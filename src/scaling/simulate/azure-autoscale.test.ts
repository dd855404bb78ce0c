/**
 * Every rule of the Azure Monitor autoscale model, each with the documentation sentence it implements
 * (MicrosoftDocs/azure-monitor-docs, articles/azure-monitor/autoscale/*.md, read via the repository).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildAzureAutoscaleSetting, DEFAULT_AZURE_RULES } from '../schedule/cloud-schedules.ts';
import type { AzureAutoscaleSetting, AzureAutoscaleState, AzureObservation, AzureProfile, AzureRule } from './azure-autoscale.ts';
import { ScalingInputError } from '../errors.ts';
import { aggregateWindow, applyScaleAction, evaluateAzureAutoscale, parseIsoDuration, parseLocalDateTime, selectAzureProfile, toWindowsTimeZone } from './azure-autoscale.ts';

const SET = 'autoscale-understanding-settings.md';
const FLAP = 'autoscale-flapping.md';
const PRED = 'autoscale-predictive.md';

function rule(title: string, source: string, quote: string, fn: () => void): void {
  it(`${title} — "${quote}" (${source})`, fn);
}

const cpu = (operator: 'GreaterThan' | 'GreaterThanOrEqual' | 'LessThan' | 'LessThanOrEqual', threshold: number, direction: 'Increase' | 'Decrease', value = '1', type: 'ChangeCount' | 'PercentChangeCount' | 'ExactCount' = 'ChangeCount', cooldown = 'PT5M', metricName = 'Percentage CPU'): AzureRule => ({
  metricTrigger: { metricName, timeGrain: 'PT1M', statistic: 'Average', timeWindow: 'PT10M', timeAggregation: 'Average', operator, threshold },
  scaleAction: { direction, type, value, cooldown },
});

const profile = (rules: AzureRule[], p: Partial<AzureProfile> = {}): AzureProfile => ({ name: 'default', capacity: { minimum: '1', maximum: '100', default: '1' }, rules, ...p });
const setting = (...profiles: AzureProfile[]): AzureAutoscaleSetting => ({ enabled: true, profiles });
const fresh: AzureAutoscaleState = { cooldownUntilMs: Number.NEGATIVE_INFINITY };
const T = Date.UTC(2026, 10, 27, 12);

/** Metric values by metric name (what every rule on that metric reads). */
function obs(current: number, values: Record<string, number | undefined>, extra: Partial<AzureObservation> = {}): AzureObservation {
  return { nowMs: T, current, metricValue: (r) => values[r.metricTrigger.metricName], ...extra };
}

describe('Azure autoscale: profiles', () => {
  const fixed = profile([], { name: 'event', capacity: { minimum: '10', maximum: '30', default: '10' }, fixedDate: { timeZone: 'Pacific Standard Time', start: '2026-11-27T00:00:00', end: '2026-11-27T23:59:00' } });
  const weekend = profile([], { name: 'weekend', recurrence: { frequency: 'Week', schedule: { timeZone: 'UTC', days: ['Saturday', 'Sunday'], hours: [6], minutes: [0] } } });
  const weekday = profile([], { name: 'weekday', recurrence: { frequency: 'Week', schedule: { timeZone: 'UTC', days: ['Monday'], hours: [6], minutes: [0] } } });
  const def = profile([], { name: 'default' });

  rule('fixed-date first, then recurring, then default; the first suitable one is used', SET, "The first suitable profile that's found is used.", () => {
    const ps = [def, weekend, fixed];
    assert.equal(selectAzureProfile(ps, Date.UTC(2026, 10, 27, 12))?.name, 'event', 'Friday 04:00 in Pacific time');
    assert.equal(selectAzureProfile(ps, Date.UTC(2026, 10, 28, 12))?.name, 'weekend', 'Saturday after 06:00 UTC');
    assert.equal(selectAzureProfile([def, weekend], Date.UTC(2026, 10, 26, 12))?.name, 'weekend', 'a recurrence lasts until the next profile starts');
    assert.equal(selectAzureProfile([def, weekday], Date.UTC(2026, 10, 30, 5))?.name, 'weekday', 'alone, a recurrence runs until its own next start');
    assert.equal(selectAzureProfile([def], Date.UTC(2026, 10, 30, 5))?.name, 'default');
  });

  rule(
    'a fixed-date profile holds between its start and end in its time zone (Windows zone IDs)',
    SET,
    "The fixed-date profile is relevant for a single date and time. Use the fixed-date profile to set scaling rules for a specific event. The profile runs only once, on the event's date and time. For all other times, autoscale uses the default profile.",
    () => {
      assert.equal(selectAzureProfile([def, fixed], Date.UTC(2026, 10, 27, 7, 59))?.name, 'default', '23:59 Thursday in Pacific time');
      assert.equal(selectAzureProfile([def, fixed], Date.UTC(2026, 10, 27, 8, 0))?.name, 'event');
      assert.equal(selectAzureProfile([def, fixed], Date.UTC(2026, 10, 28, 7, 59, 30))?.name, 'event', 'the end minute is included');
      assert.equal(selectAzureProfile([def, fixed], Date.UTC(2026, 10, 28, 8, 0))?.name, 'default');
    },
  );

  rule(
    'a recurrence profile has only a start: it ends when the following profile starts',
    SET,
    'The end of date and time for a recurring profile is set by the start time of the following profile.',
    () => {
      const evening = profile([], { name: 'weekend-evening', recurrence: { frequency: 'Week', schedule: { timeZone: 'UTC', days: ['Saturday', 'Sunday'], hours: [19], minutes: [0] } } });
      assert.equal(selectAzureProfile([def, weekend, evening], Date.UTC(2026, 10, 28, 18, 59))?.name, 'weekend');
      assert.equal(selectAzureProfile([def, weekend, evening], Date.UTC(2026, 10, 28, 19, 0))?.name, 'weekend-evening');
    },
  );

  rule(
    'a recurrence lasts until its next start across a DST change (a 169-hour week in Pacific time)',
    SET,
    'The end of date and time for a recurring profile is set by the start time of the following profile.',
    () => {
      const sunday = profile([], { name: 'sunday', recurrence: { frequency: 'Week', schedule: { timeZone: 'Pacific Standard Time', days: ['Sunday'], hours: [12], minutes: [0] } } });
      // Started Sunday 25 October 12:00 PDT (19:00 UTC); next start Sunday 1 November 12:00 PST (20:00 UTC): clocks went back in between.
      assert.equal(selectAzureProfile([def, sunday], Date.UTC(2026, 10, 1, 19, 30))?.name, 'sunday', '11:30 PST, 168.5 hours after its start');
      assert.equal(selectAzureProfile([def, sunday], Date.UTC(2026, 10, 1, 20, 0))?.name, 'sunday');
    },
  );

  rule(
    'the profile’s minimum and maximum are enforced on each run',
    SET,
    "The maximum capacity allowed. It ensures that autoscale doesn't scale your resource above this number when it executes the profile.",
    () => {
      const s = setting(def, fixed);
      const at = { nowMs: Date.UTC(2026, 10, 27, 12) };
      assert.deepEqual([evaluateAzureAutoscale(s, fresh, obs(2, {}, at)).newCount, evaluateAzureAutoscale(s, fresh, obs(2, {}, at)).reason], [10, 'capacity']);
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(40, {}, at)).newCount, 30);
    },
  );

  rule(
    'default capacity: metrics unreadable and below it → scale out to it, never in',
    SET,
    "If there's a problem reading the resource metric, and the current capacity is below the default, autoscale scales out to the default.",
    () => {
      const s = setting(profile([cpu('GreaterThan', 70, 'Increase')], { capacity: { minimum: '1', maximum: '20', default: '4' } }));
      assert.deepEqual(evaluateAzureAutoscale(s, fresh, obs(2, {})).newCount, 4);
      assert.deepEqual(evaluateAzureAutoscale(s, fresh, obs(6, {})).newCount, 6);
    },
  );
});

describe('Azure autoscale: rules', () => {
  rule(
    'timeGrain/statistic sample the metric; timeWindow/timeAggregation aggregate the samples (ten 1-minute averages → their average)',
    SET,
    'For example, **timeAggregation = "Average"** should aggregate the sampled metrics by taking the average. In the preceding case, take the ten 1-minute samples, and average them.',
    () => {
      const samples = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
      assert.equal(aggregateWindow(samples, 'Average'), 55);
      assert.equal(aggregateWindow(samples, 'Maximum'), 100);
      assert.equal(aggregateWindow(samples, 'Minimum'), 10);
      assert.equal(aggregateWindow(samples, 'Total'), 550);
      assert.equal(aggregateWindow(samples, 'Count'), 10);
      assert.equal(aggregateWindow(samples, 'Last'), 100);
      assert.equal(parseIsoDuration('PT10M'), 600);
      assert.equal(parseIsoDuration('PT1H30M'), 5400);
    },
  );

  rule(
    'dividePerInstance divides the metric by the instance count',
    SET,
    'If **dividePerInstance = true**, the metric is divided by the number of instances in the resource.',
    () => {
      const queue: AzureRule = {
        metricTrigger: { metricName: 'ApproximateMessageCount', timeGrain: 'PT1M', statistic: 'Sum', timeWindow: 'PT5M', timeAggregation: 'Average', operator: 'GreaterThan', threshold: 50, dividePerInstance: true },
        scaleAction: { direction: 'Increase', type: 'ChangeCount', value: '1', cooldown: 'PT5M' },
      };
      const s = setting(profile([queue]));
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(2, { ApproximateMessageCount: 100 })).newCount, 2, '100 / 2 = 50 is not above 50');
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(2, { ApproximateMessageCount: 101 })).newCount, 3);
    },
  );

  rule('ChangeCount, PercentChangeCount and ExactCount', SET, 'How much to increase or decrease the capacity of the resource.', () => {
    assert.equal(applyScaleAction(10, { direction: 'Increase', type: 'ChangeCount', value: '3', cooldown: 'PT5M' }), 13);
    assert.equal(applyScaleAction(10, { direction: 'Decrease', type: 'PercentChangeCount', value: '50', cooldown: 'PT5M' }), 5);
    assert.equal(applyScaleAction(10, { direction: 'Increase', type: 'PercentChangeCount', value: '15', cooldown: 'PT5M' }), 12, '1.5 rounded up (rounding not documented)');
    assert.equal(applyScaleAction(10, { direction: 'Increase', type: 'ExactCount', value: '7', cooldown: 'PT5M' }), 7);
  });

  rule(
    'a scale action value below 1 (or not a whole number) is refused, as ARM refuses it',
    'Azure/azure-rest-api-specs monitor 2022-10-01 autoscale_API.json, ScaleAction.value',
    'the number of instances that are involved in the scaling action. This value must be 1 or greater. The default value is 1.',
    () => {
      const refused = (e: unknown) => e instanceof ScalingInputError && e.code === 'INVALID_OPTION';
      assert.throws(() => applyScaleAction(10, { direction: 'Increase', type: 'ChangeCount', value: '0', cooldown: 'PT5M' }), refused);
      assert.throws(() => applyScaleAction(10, { direction: 'Decrease', type: 'ExactCount', value: '0', cooldown: 'PT5M' }), refused);
      assert.throws(() => applyScaleAction(10, { direction: 'Increase', type: 'ChangeCount', value: '1.5', cooldown: 'PT5M' }), refused);
      assert.equal(applyScaleAction(10, { direction: 'Decrease', type: 'ChangeCount', value: '1', cooldown: 'PT5M' }), 9);
    },
  );

  rule(
    'scale out if any scale-out rule fires, to the highest count (+3 and +5 → +5)',
    SET,
    'If more than one scale-out rule is triggered, autoscale scales to the highest specified capacity to ensure service availability.',
    () => {
      const s = setting(profile([cpu('GreaterThan', 70, 'Increase', '3'), cpu('GreaterThan', 60, 'Increase', '5', 'ChangeCount', 'PT5M', 'Memory'), cpu('LessThan', 30, 'Decrease')]));
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(10, { 'Percentage CPU': 80, Memory: 65 })).newCount, 15);
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(10, { 'Percentage CPU': 80, Memory: 50 })).newCount, 13, 'one rule is enough');
    },
  );

  rule(
    'scale in only if every scale-in rule fires, and no scale-out rule did',
    SET,
    'If no scale-out rules are triggered, autoscale evaluates the scale-in rules, that is, rules with **direction = "Decrease"**. Autoscale only scales in if all the scale-in rules are triggered.',
    () => {
      const s = setting(profile([cpu('GreaterThan', 80, 'Increase'), cpu('LessThan', 30, 'Decrease'), cpu('LessThan', 50, 'Decrease', '1', 'ChangeCount', 'PT5M', 'Memory')]));
      // The best-practices example: CPU 25 %, memory 51 % → no scale-in.
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(10, { 'Percentage CPU': 25, Memory: 51 })).newCount, 10);
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(10, { 'Percentage CPU': 25, Memory: 40 })).newCount, 9);
    },
  );

  rule(
    'scale in by as little as possible: −50 % → 5 and −3 → 7 gives 7',
    SET,
    'For example, assume two scale-in rules, one that decreases capacity by 50% and one that decreases capacity by three instances. If the first rule results in five instances and the second rule results in seven, autoscale scales in to seven instances.',
    () => {
      const s = setting(profile([cpu('LessThan', 30, 'Decrease', '50', 'PercentChangeCount'), cpu('LessThan', 40, 'Decrease', '3', 'ChangeCount', 'PT5M', 'Memory')]));
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(10, { 'Percentage CPU': 10, Memory: 10 })).newCount, 7);
    },
  );

  rule(
    'cooldown: after any action nothing happens, in either direction, until the cooldown of the rule that fired last ends',
    SET,
    'The cooldown that applies is the one on the rule that most recently fired, not a separate cooldown for each direction.',
    () => {
      const s = setting(profile([cpu('GreaterThan', 70, 'Increase', '1', 'ChangeCount', 'PT60M'), cpu('LessThan', 30, 'Decrease', '1', 'ChangeCount', 'PT40M')]));
      const at = (h: number, m: number) => Date.UTC(2026, 10, 27, h, m);
      const out = evaluateAzureAutoscale(s, fresh, obs(5, { 'Percentage CPU': 90 }, { nowMs: at(10, 0) }));
      assert.equal(out.newCount, 6);
      assert.equal(evaluateAzureAutoscale(s, out.state, obs(6, { 'Percentage CPU': 90 }, { nowMs: at(10, 59) })).reason, 'cooldown');
      assert.equal(evaluateAzureAutoscale(s, out.state, obs(6, { 'Percentage CPU': 90 }, { nowMs: at(11, 0) })).newCount, 7);
      // A scale-in at 13:00 (40 min) delays a 13:20 scale-out to 13:40.
      const inAt13 = evaluateAzureAutoscale(s, fresh, obs(7, { 'Percentage CPU': 10 }, { nowMs: at(13, 0) }));
      assert.equal(inAt13.newCount, 6);
      assert.equal(evaluateAzureAutoscale(s, inAt13.state, obs(6, { 'Percentage CPU': 90 }, { nowMs: at(13, 20) })).reason, 'cooldown');
      assert.equal(evaluateAzureAutoscale(s, inAt13.state, obs(6, { 'Percentage CPU': 90 }, { nowMs: at(13, 40) })).newCount, 7);
    },
  );
});

describe('Azure autoscale: flapping', () => {
  rule(
    'a scale-in that would trigger a scale-out is skipped (80 % out, 60 % in: 60 × 3 / 2 = 90 → skip; 50 × 3 / 2 = 75 → in)',
    'autoscale-best-practices.md',
    'Autoscale evaluates a pending scale-in action to see if it would cause flapping. In cases where flapping could occur, autoscale may skip the scale action and reevaluate at the next run',
    () => {
      const s = setting(profile([cpu('GreaterThanOrEqual', 80, 'Increase'), cpu('LessThanOrEqual', 60, 'Decrease')]));
      const skipped = evaluateAzureAutoscale(s, fresh, obs(3, { 'Percentage CPU': 60 }));
      assert.deepEqual([skipped.newCount, skipped.reason], [3, 'flapping: skipped']);
      assert.equal(evaluateAzureAutoscale(s, fresh, obs(3, { 'Percentage CPU': 50 })).newCount, 2);
    },
  );

  rule(
    'or scales in by less: 30 → 20 would push CPU above 70 %, so 30 → 27',
    FLAP,
    'In this situation, autoscale may scale in by 3, from 30 to 27 instances in order to satisfy the rules, even though the rule specifies a decrease of 10.',
    () => {
      const requests: AzureRule = { ...cpu('LessThanOrEqual', 50, 'Decrease', '10', 'ChangeCount', 'PT5M', 'Requests'), metricTrigger: { ...cpu('LessThanOrEqual', 50, 'Decrease').metricTrigger, metricName: 'Requests', statistic: 'Sum', dividePerInstance: true } };
      const requestsOut: AzureRule = { ...requests, metricTrigger: { ...requests.metricTrigger, operator: 'GreaterThanOrEqual', threshold: 200 }, scaleAction: { direction: 'Increase', type: 'ChangeCount', value: '20', cooldown: 'PT5M' } };
      const s = setting(profile([requestsOut, cpu('GreaterThan', 70, 'Increase', '20'), requests]));
      // 1500 requests over 30 instances = 50 each; CPU 65 % × 30 / 20 = 97.5 > 70 → try 21, 22, …: 65 × 30 / 27 = 72.2, 65 × 30 / 28 = 69.6.
      const d = evaluateAzureAutoscale(s, fresh, obs(30, { 'Percentage CPU': 65, Requests: 1500 }));
      assert.equal(d.reason, 'flapping: reduced');
      assert.equal(d.newCount, 28, 'the first count between 20 and 30 at which CPU stays ≤ 70 % (the doc’s 27 rounds its estimate; 65 × 30 / 27 = 72.2 %)');
    },
  );

  rule('scale-out is never checked for flapping', FLAP, "To ensure adequate resources, checking for potential flapping doesn't occur for scale-out events.", () => {
    const s = setting(profile([cpu('GreaterThan', 50, 'Increase'), cpu('LessThan', 30, 'Decrease')]));
    // The doc's table: 1 instance at 56 % → out to 2 (28 % each) though 28 % is below the scale-in threshold.
    assert.equal(evaluateAzureAutoscale(s, fresh, obs(1, { 'Percentage CPU': 56 })).newCount, 2);
    const next = evaluateAzureAutoscale(s, fresh, obs(2, { 'Percentage CPU': 28 }));
    assert.deepEqual([next.newCount, next.reason], [2, 'flapping: skipped']);
  });
});

describe('Azure autoscale: predictive', () => {
  const s = (mode: 'Enabled' | 'ForecastOnly'): AzureAutoscaleSetting => ({
    enabled: true,
    profiles: [profile([cpu('GreaterThan', 70, 'Increase', '2'), cpu('LessThan', 30, 'Decrease')])],
    predictiveAutoscalePolicy: { scaleMode: mode, scaleLookAheadTime: 'PT30M' },
  });

  rule(
    'predicted CPU crossing the scale-out boundary adds instances as the rule specifies',
    PRED,
    'When the system predicts that the percentage CPU load of your virtual machine scale set will cross your scale-out boundary, new instances are added according to your specifications.',
    () => {
      const d = evaluateAzureAutoscale(s('Enabled'), fresh, obs(4, { 'Percentage CPU': 40 }, { predictedCpuPercent: 85 }));
      assert.deepEqual([d.newCount, d.reason], [6, 'predictive']);
    },
  );

  rule('forecast only never scales', PRED, '*Forecast only* allows you to view your predicted CPU forecast without triggering the scaling action based on the prediction.', () => {
    assert.equal(evaluateAzureAutoscale(s('ForecastOnly'), fresh, obs(4, { 'Percentage CPU': 40 }, { predictedCpuPercent: 85 })).newCount, 4);
  });

  rule('predictive only scales out; the standard rules scale in', PRED, 'Predictive autoscale supports scale-out only. Configure standard autoscale to manage to scale in actions.', () => {
    assert.equal(evaluateAzureAutoscale(s('Enabled'), fresh, obs(4, { 'Percentage CPU': 20 }, { predictedCpuPercent: 5 })).newCount, 3);
  });
});

describe('Azure autoscale setting from the plan', () => {
  rule('one fixed-date profile per sale window, non-overlapping, at most 20 profiles', SET, 'Configure up to 20 profiles per autoscale setting.', () => {
    const h = 3_600_000;
    const windows = [
      { startMs: T - 10 * 60_000, endMs: T + 2 * h, replicas: 8 },
      { startMs: T + 2 * h - 10 * 60_000, endMs: T + 4 * h, replicas: 12 },
    ];
    const st = buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows, timeZone: 'UTC' });
    assert.equal(st.profiles.length, 3);
    assert.deepEqual(st.profiles[1].fixedDate, { timeZone: 'UTC', start: '2026-11-27T11:50:00', end: '2026-11-27T13:49:00' });
    assert.equal(selectAzureProfile(st.profiles, T + 2 * h - 5 * 60_000)?.name, 'sale-window-2', 'the lead of the next window wins over the end of the previous one');
    // A lower window's lead does not cut the higher one short: 12 holds to its end, then 5 (KEDA's and GCE's max, AWS's MinSize).
    const down = buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows: [windows[1], { startMs: T + 4 * h - 10 * 60_000, endMs: T + 6 * h, replicas: 5 }], timeZone: 'UTC' });
    assert.deepEqual(down.profiles.slice(1).map((p) => [p.capacity.minimum, p.fixedDate]), [
      ['12', { timeZone: 'UTC', start: '2026-11-27T13:50:00', end: '2026-11-27T15:59:00' }],
      ['5', { timeZone: 'UTC', start: '2026-11-27T16:00:00', end: '2026-11-27T17:59:00' }],
    ]);
    assert.equal(selectAzureProfile(down.profiles, T + 4 * h - 5 * 60_000)?.capacity.minimum, '12');
    // 20 steps: two join (at the higher floor), so that the setting keeps to 20 profiles.
    assert.equal(buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows: Array.from({ length: 20 }, (_, i) => ({ startMs: T + i * h, endMs: T + (i + 1) * h, replicas: 3 + (i % 2) })), timeZone: 'UTC' }).profiles.length, 20);
    // Windows that join at one floor need one profile between them.
    assert.equal(buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows: Array.from({ length: 20 }, (_, i) => ({ startMs: T + i * h, endMs: T + (i + 1) * h, replicas: 3 })), timeZone: 'UTC' }).profiles.length, 2);
  });
});

describe('Azure autoscale: Windows time zone IDs', () => {
  // Published pairs of CLDR common/supplemental/windowsZones.xml (mapZone other="…" territory="001" / the zone's
  // own territory), e.g. <mapZone other="Romance Standard Time" territory="ES" type="Europe/Madrid Africa/Ceuta"/>.
  // The Windows ID for a zone is the one CLDR maps it to; aliases (Asia/Calcutta, Europe/Kiev, Etc/UTC) read as their zone.
  it('writes the CLDR Windows ID of any IANA zone the shop may be in, aliases included', () => {
    const pairs: [string, string][] = [
      ['Europe/Madrid', 'Romance Standard Time'],
      ['Europe/Paris', 'Romance Standard Time'],
      ['Asia/Kolkata', 'India Standard Time'],
      ['Asia/Calcutta', 'India Standard Time'],
      ['America/Sao_Paulo', 'E. South America Standard Time'],
      ['Asia/Singapore', 'Singapore Standard Time'],
      ['Europe/Amsterdam', 'W. Europe Standard Time'],
      ['Europe/Berlin', 'W. Europe Standard Time'],
      ['Europe/Kyiv', 'FLE Standard Time'],
      ['Europe/Kiev', 'FLE Standard Time'],
      ['America/Los_Angeles', 'Pacific Standard Time'],
      ['America/New_York', 'Eastern Standard Time'],
      ['Europe/London', 'GMT Standard Time'],
      ['Australia/Sydney', 'AUS Eastern Standard Time'],
      ['Asia/Tokyo', 'Tokyo Standard Time'],
      ['UTC', 'UTC'],
      ['Etc/UTC', 'UTC'],
    ];
    assert.deepEqual(pairs.map(([iana]) => [iana, toWindowsTimeZone(iana)]), pairs);
  });

  it('refuses a zone it cannot name as an INVALID_OPTION that names the zone', () => {
    for (const zone of ['Mars/Olympus_Mons', '', 'Europe/Madrid ']) {
      assert.throws(() => toWindowsTimeZone(zone), (e: unknown) => e instanceof ScalingInputError && e.code === 'INVALID_OPTION' && e.message.includes(JSON.stringify(zone)));
    }
  });

  it('reads every Windows time zone ID the autoscale setting accepts', () => {
    // "Some examples of valid time zones are: Dateline Standard Time, UTC-11, …": the list of the 2022-10-01 REST
    // spec (autoscale_API.json, RecurrentSchedule.timeZone and TimeWindow.timeZone), in its order. Two are older
    // Windows IDs CLDR no longer maps (Mid-Atlantic Standard Time, Kamchatka Standard Time).
    const accepted = [
    'Dateline Standard Time', 'UTC-11', 'Hawaiian Standard Time', 'Alaskan Standard Time', 'Pacific Standard Time (Mexico)', 'Pacific Standard Time',
    'US Mountain Standard Time', 'Mountain Standard Time (Mexico)', 'Mountain Standard Time', 'Central America Standard Time',
    'Central Standard Time', 'Central Standard Time (Mexico)', 'Canada Central Standard Time', 'SA Pacific Standard Time', 'Eastern Standard Time',
    'US Eastern Standard Time', 'Venezuela Standard Time', 'Paraguay Standard Time', 'Atlantic Standard Time', 'Central Brazilian Standard Time',
    'SA Western Standard Time', 'Pacific SA Standard Time', 'Newfoundland Standard Time', 'E. South America Standard Time',
    'Argentina Standard Time', 'SA Eastern Standard Time', 'Greenland Standard Time', 'Montevideo Standard Time', 'Bahia Standard Time', 'UTC-02',
    'Mid-Atlantic Standard Time', 'Azores Standard Time', 'Cape Verde Standard Time', 'Morocco Standard Time', 'UTC', 'GMT Standard Time',
    'Greenwich Standard Time', 'W. Europe Standard Time', 'Central Europe Standard Time', 'Romance Standard Time', 'Central European Standard Time',
    'W. Central Africa Standard Time', 'Namibia Standard Time', 'Jordan Standard Time', 'GTB Standard Time', 'Middle East Standard Time',
    'Egypt Standard Time', 'Syria Standard Time', 'E. Europe Standard Time', 'South Africa Standard Time', 'FLE Standard Time',
    'Turkey Standard Time', 'Israel Standard Time', 'Kaliningrad Standard Time', 'Libya Standard Time', 'Arabic Standard Time', 'Arab Standard Time',
    'Belarus Standard Time', 'Russian Standard Time', 'E. Africa Standard Time', 'Iran Standard Time', 'Arabian Standard Time',
    'Azerbaijan Standard Time', 'Russia Time Zone 3', 'Mauritius Standard Time', 'Georgian Standard Time', 'Caucasus Standard Time',
    'Afghanistan Standard Time', 'West Asia Standard Time', 'Ekaterinburg Standard Time', 'Pakistan Standard Time', 'India Standard Time',
    'Sri Lanka Standard Time', 'Nepal Standard Time', 'Central Asia Standard Time', 'Bangladesh Standard Time', 'N. Central Asia Standard Time',
    'Myanmar Standard Time', 'SE Asia Standard Time', 'North Asia Standard Time', 'China Standard Time', 'North Asia East Standard Time',
    'Singapore Standard Time', 'W. Australia Standard Time', 'Taipei Standard Time', 'Ulaanbaatar Standard Time', 'Tokyo Standard Time',
    'Korea Standard Time', 'Yakutsk Standard Time', 'Cen. Australia Standard Time', 'AUS Central Standard Time', 'E. Australia Standard Time',
    'AUS Eastern Standard Time', 'West Pacific Standard Time', 'Tasmania Standard Time', 'Magadan Standard Time', 'Vladivostok Standard Time',
    'Russia Time Zone 10', 'Central Pacific Standard Time', 'Russia Time Zone 11', 'New Zealand Standard Time', 'UTC+12', 'Fiji Standard Time',
    'Kamchatka Standard Time', 'Tonga Standard Time', 'Samoa Standard Time', 'Line Islands Standard Time',
    ];
    assert.equal(accepted.length, 107);
    for (const id of accepted) assert.ok(Number.isFinite(parseLocalDateTime('2026-11-27T12:00:00', id)), id);
    // Offsets of 27 November 2026 (IST +05:30, BRT −03:00, CET +01:00, NPT +05:45, CHAST +13:45).
    assert.equal(parseLocalDateTime('2026-11-27T12:00:00', 'India Standard Time'), Date.parse('2026-11-27T06:30:00Z'));
    assert.equal(parseLocalDateTime('2026-11-27T12:00:00', 'E. South America Standard Time'), Date.parse('2026-11-27T15:00:00Z'));
    assert.equal(parseLocalDateTime('2026-11-27T12:00:00', 'Romance Standard Time'), Date.parse('2026-11-27T11:00:00Z'));
    assert.equal(parseLocalDateTime('2026-11-27T12:00:00', 'Nepal Standard Time'), Date.parse('2026-11-27T06:15:00Z'));
    assert.equal(parseLocalDateTime('2026-11-27T12:00:00', 'Chatham Islands Standard Time'), Date.parse('2026-11-26T22:15:00Z'));
    assert.throws(() => parseLocalDateTime('2026-11-27T12:00:00', 'Mars Standard Time'), (e: unknown) => e instanceof ScalingInputError && e.code === 'INVALID_OPTION' && e.message.includes('"Mars Standard Time"'));
  });

  // TimeWindow.start/end are `format: date-time` in the REST spec, whose own example reads
  // { "timeZone": "UTC", "start": "2015-03-05T14:00:00Z", "end": "2015-03-05T14:30:00Z" }: a setting read back from Azure
  // (az monitor autoscale show) has its UTC times so. An offset in another zone says two things at once: refused, named.
  it('reads a fixedDate in UTC written as Azure writes it ("2026-11-27T00:00:00Z", +00:00, fractions) and refuses an offset it cannot read, naming it', () => {
    const midnight = Date.parse('2026-11-27T00:00:00Z');
    for (const text of ['2026-11-27T00:00:00Z', '2026-11-27T00:00:00z', '2026-11-27T00:00:00.000Z', '2026-11-27T00:00:00+00:00', '2026-11-27T00:00:00.0000000']) {
      assert.equal(parseLocalDateTime(text, 'UTC'), midnight, text);
    }
    // Fractions of a second are cut to the millisecond, as .NET keeps them in ticks: 59.9999 s is still in minute 0.
    assert.equal(parseLocalDateTime('2026-11-27T00:00:59.9999Z', 'UTC'), midnight + 59_999);
    const event = profile([], { name: 'event', fixedDate: { timeZone: 'UTC', start: '2026-11-27T00:00:00Z', end: '2026-11-27T23:59:00Z' } });
    assert.equal(selectAzureProfile([event, profile([])], midnight + 3_600_000)?.name, 'event');
    assert.equal(selectAzureProfile([event, profile([])], midnight + 86_400_000)?.name, 'default');
    for (const [text, zone] of [['2026-11-27T00:00:00Z', 'Pacific Standard Time'], ['2026-11-27T00:00:00+01:00', 'UTC'], ['2026-11-27T00:00:00-08:00', 'Pacific Standard Time']]) {
      assert.throws(
        () => parseLocalDateTime(text!, zone!),
        (e: unknown) => e instanceof ScalingInputError && e.code === 'INVALID_OPTION' && e.message.includes(`"${text}"`) && e.message.includes('offset') && e.message.includes(`"${zone}"`),
        `${text} in ${zone}`,
      );
    }
    assert.throws(
      () => parseLocalDateTime('2026-11-27 00:00:00Z', 'UTC'),
      (e: unknown) => e instanceof ScalingInputError && e.code === 'INVALID_OPTION' && e.message.includes('YYYY-MM-DDTHH:MM[:SS[.fffffff]][Z|±HH:MM]'),
    );
  });

  it('renders and simulates the pre-scaling profiles of a shop in Madrid or Kolkata', () => {
    const h = 3_600_000;
    const windows = [{ startMs: T - 10 * 60_000, endMs: T + 2 * h, replicas: 8 }];
    for (const [zone, windowsId, start, end] of [
      ['Europe/Madrid', 'Romance Standard Time', '2026-11-27T12:50:00', '2026-11-27T14:59:00'],
      ['Asia/Kolkata', 'India Standard Time', '2026-11-27T17:20:00', '2026-11-27T19:29:00'],
    ]) {
      const st = buildAzureAutoscaleSetting({ min: 2, max: 20, rules: DEFAULT_AZURE_RULES, windows, timeZone: zone });
      assert.deepEqual(st.profiles[1].fixedDate, { timeZone: windowsId, start, end }, zone);
      assert.equal(selectAzureProfile(st.profiles, T - 10 * 60_000)?.name, 'sale-window-1', zone);
      assert.equal(selectAzureProfile(st.profiles, T + 2 * h - 60_000)?.name, 'sale-window-1', zone);
      assert.equal(selectAzureProfile(st.profiles, T + 2 * h)?.name, 'default', zone);
      assert.equal(selectAzureProfile(st.profiles, T - 11 * 60_000)?.name, 'default', zone);
    }
  });
});
