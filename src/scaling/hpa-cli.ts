/**
 * `salescale hpa explain`: why the HPA wants the replicas it wants, from what kubectl prints.
 * Input errors print one line `error [CODE]: …` and exit 2.
 */
import type { Command } from 'commander';
import { toBoundedNumber } from './cli-inputs.ts';
import type { ScalingErrorCode } from './errors.ts';
import { ScalingInputError, formatInputError, parseDate } from './errors.ts';
import { readInputFile } from './input-files.ts';
import type { HpaMetricInputs } from './simulate/hpa-controller.ts';
import { DEFAULT_HPA_CONTROLLER_OPTIONS } from './simulate/hpa-controller.ts';
import { explainHpa, renderExplanation } from './simulate/hpa-explain.ts';
import type { ScaleEvent, TimestampedRecommendation } from './simulate/hpa.ts';
import { addMetricValueList, parseDocument, parseHpa, parsePodList, parsePodMetricsList } from './simulate/hpa-k8s-input.ts';

interface ExplainOptions {
  hpa?: string;
  pods?: string;
  metrics?: string[];
  at?: string;
  replicas?: string;
  history?: string;
  scaleEvents?: string;
  fresh?: boolean;
  tolerance: string;
  cpuInitializationPeriod: string;
  initialReadinessDelay: string;
  downscaleStabilization: string;
  scaleUpLimitFactor: string;
  scaleUpLimitMinimum: string;
  json?: boolean;
}

async function readDoc(path: string, what: string, code: ScalingErrorCode) {
  let text: string;
  try {
    text = await readInputFile(path);
  } catch (e) {
    throw new ScalingInputError('MALFORMED_FILE', `cannot read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseDocument(text, `${what} file ${path}`, code);
}

/** scale.spec.replicas, the recommendations and the scale events are int32 in the controller. */
const MAX_INT32 = 2 ** 31 - 1;

/** What a `--history` or `--scale-events` entry is: the rule on its value and the words of its errors. */
interface TimedKind {
  /** A scale event's ±change (not 0); else a recommendation, a replica count ≥ 0. Both are int32 upstream. */
  signed: boolean;
  /** What the controller holds, for the error on an entry dated after the sync time. */
  held: string;
}

const RECOMMENDATIONS: TimedKind = { signed: false, held: 'earlier recommendations (e.g. 8@-60s)' };
const SCALE_EVENTS: TimedKind = { signed: true, held: 'rescales it has made (e.g. +4@-10s)' };

/**
 * `value@when` pairs; when is an RFC 3339 time or seconds relative to now (`-120s`). The controller only holds
 * what it has done, so an entry dated after the sync time cannot exist and is refused.
 */
function parseTimed(list: string, flag: string, now: number, { signed, held }: TimedKind): { value: number; at: number }[] {
  return list.split(',').map((item) => {
    const m = /^\s*([+-]?\d+)\s*@\s*(.+?)\s*$/.exec(item);
    if (!m) throw new ScalingInputError('INVALID_OPTION', `${flag}: "${item}" is not value@time (e.g. 5@-120s or 5@2026-11-27T10:00:00Z)`);
    const value = Number(m[1]);
    if (signed && !(value !== 0 && Math.abs(value) <= MAX_INT32)) throw new ScalingInputError('INVALID_OPTION', `${flag}: ${m[1]} is not a change from -${MAX_INT32} to ${MAX_INT32} (an int32)`);
    if (!signed && !(value >= 0 && value <= MAX_INT32)) throw new ScalingInputError('INVALID_OPTION', `${flag}: ${m[1]} is not a replica count from 0 to ${MAX_INT32} (an int32)`);
    const rel = /^([+-]?\d+(?:\.\d+)?)s$/.exec(m[2]);
    const at = rel ? now + Number(rel[1]) : parseDate(m[2], flag).getTime() / 1000;
    // Rounded to the millisecond: two epoch-second floats differ by 0.09999990463256836 for +0.1s.
    if (at > now) throw new ScalingInputError('INVALID_OPTION', `${flag}: "${item.trim()}" is dated ${Math.round((at - now) * 1000) / 1000} s after the sync time (${new Date(now * 1000).toISOString()}); the controller holds only ${held}`);
    return { value, at };
  });
}

export function registerHpaCommand(program: Command): Command {
  const hpa = program.command('hpa').description('Kubernetes HPA tools');
  const explain = hpa
    .command('explain')
    .description('desired replicas of an HPA and why, from kubectl output (one controller sync, kube-controller-manager v1.35)')
    // Required, but checked in the action: commander checks required options before unknown ones, so
    // `hpa explain --bogus` said "required option '--hpa <file>' not specified" instead of naming --bogus.
    .option('--hpa <file>', '(required) the HorizontalPodAutoscaler: kubectl get hpa.v2.autoscaling NAME -o yaml (or -o json)')
    .option('--pods <file>', '(required) the target pods: kubectl get pods -l SELECTOR -o json')
    .option('--metrics <files...>', 'metric API answers: PodMetricsList (kubectl get --raw /apis/metrics.k8s.io/v1beta1/namespaces/NS/pods), custom.metrics MetricValueList, external.metrics ExternalMetricValueList')
    .option('--at <time>', 'the sync time "now" (default: the newest metric timestamp, else the clock)')
    .option('--replicas <n>', "the target's spec.replicas (default: status.desiredReplicas, else status.currentReplicas, else the live pods)")
    .option('--history <list>', 'recommendations the controller holds, value@time, e.g. 8@-120s,6@-60s')
    .option('--scale-events <list>', 'recent rescales, ±change@time, e.g. +4@-10s,-2@-40s')
    .option('--fresh', 'a controller that has just started (it records the current count first); not with --history or --scale-events')
    .option('--tolerance <x>', '--horizontal-pod-autoscaler-tolerance, a fraction from 0 to below 1 (0.1 = 10 %)', String(DEFAULT_HPA_CONTROLLER_OPTIONS.tolerance))
    .option('--cpu-initialization-period <s>', '--horizontal-pod-autoscaler-cpu-initialization-period, seconds', String(DEFAULT_HPA_CONTROLLER_OPTIONS.timings.cpuInitializationPeriod))
    .option('--initial-readiness-delay <s>', '--horizontal-pod-autoscaler-initial-readiness-delay, seconds', String(DEFAULT_HPA_CONTROLLER_OPTIONS.timings.delayOfInitialReadinessStatus))
    .option('--downscale-stabilization <s>', '--horizontal-pod-autoscaler-downscale-stabilization, seconds', String(DEFAULT_HPA_CONTROLLER_OPTIONS.downscaleStabilizationSeconds))
    .option('--scale-up-limit-factor <x>', 'legacy path (no spec.behavior): scaleUpLimitFactor', String(DEFAULT_HPA_CONTROLLER_OPTIONS.scaleUpLimitFactor))
    .option('--scale-up-limit-minimum <n>', 'legacy path: scaleUpLimitMinimum', String(DEFAULT_HPA_CONTROLLER_OPTIONS.scaleUpLimitMinimum))
    .option('--json', 'print JSON');
  // A mistyped command line gets the usage, as the root program asks for every command; bad input is one line (below).
  explain.action(async function (this: Command, o: ExplainOptions) {
    const missing = (flag: string) => this.error(`error: required option '${flag}' not specified`, { code: 'commander.missingMandatoryOptionValue' });
    const hpaFile = o.hpa ?? missing('--hpa <file>');
    const podsFile = o.pods ?? missing('--pods <file>');
    try {
      // A fresh controller's memory is empty: the history or events given beside --fresh were dropped without a word.
      for (const [flag, value] of [['--history', o.history], ['--scale-events', o.scaleEvents]] as const) {
        if (o.fresh && value !== undefined) throw new ScalingInputError('INVALID_OPTION', `--fresh and ${flag} contradict each other: a controller that has just started has no earlier recommendations or scale events; give one of them`);
      }
      const parsed = parseHpa(await readDoc(hpaFile, 'HPA', 'MALFORMED_HPA'));
      const pods = parsePodList(await readDoc(podsFile, 'pod list', 'MALFORMED_POD_LIST'));
      const inputs: HpaMetricInputs = {};
      for (const f of o.metrics ?? []) {
        const doc = await readDoc(f, 'metrics', 'MALFORMED_METRICS');
        if (doc.kind === 'PodMetricsList' || doc.kind === 'PodMetrics') inputs.podMetrics = [...(inputs.podMetrics ?? []), ...parsePodMetricsList(doc)];
        else addMetricValueList(doc, inputs);
      }
      const stamps = [...(inputs.podMetrics ?? []).map((m) => m.timestamp), ...Object.values(inputs.podCustomMetrics ?? {}).flatMap((l) => l.map((m) => m.timestamp))].filter((t) => t > 0);
      const now = o.at !== undefined ? parseDate(o.at, '--at').getTime() / 1000 : stamps.length > 0 ? Math.max(...stamps) : Date.now() / 1000;
      const events = o.scaleEvents ? parseTimed(o.scaleEvents, '--scale-events', now, SCALE_EVENTS) : undefined;
      const toEvent = (e: { value: number; at: number }): ScaleEvent => ({ value: Math.abs(e.value), at: e.at, outdated: false });
      const history: TimestampedRecommendation[] | undefined = o.history ? parseTimed(o.history, '--history', now, RECOMMENDATIONS) : undefined;
      const explanation = explainHpa({
        hpa: parsed,
        pods,
        inputs,
        now,
        currentReplicas: o.replicas !== undefined ? toBoundedNumber(o.replicas, '--replicas', { atLeast: 0, atMost: MAX_INT32, whole: true }) : undefined,
        history,
        scaleUpEvents: events?.filter((e) => e.value > 0).map(toEvent),
        scaleDownEvents: events?.filter((e) => e.value < 0).map(toEvent),
        fresh: o.fresh,
        options: {
          // A fraction of the ratio: from 1 up, 1 − tolerance ≤ 0 and the controller could never scale down.
          tolerance: toBoundedNumber(o.tolerance, '--tolerance', { atLeast: 0, below: 1 }),
          timings: {
            cpuInitializationPeriod: toBoundedNumber(o.cpuInitializationPeriod, '--cpu-initialization-period', { atLeast: 0 }),
            delayOfInitialReadinessStatus: toBoundedNumber(o.initialReadinessDelay, '--initial-readiness-delay', { atLeast: 0 }),
          },
          downscaleStabilizationSeconds: toBoundedNumber(o.downscaleStabilization, '--downscale-stabilization', { atLeast: 0 }),
          scaleUpLimitFactor: toBoundedNumber(o.scaleUpLimitFactor, '--scale-up-limit-factor', { atLeast: 0 }),
          scaleUpLimitMinimum: toBoundedNumber(o.scaleUpLimitMinimum, '--scale-up-limit-minimum', { atLeast: 0, whole: true }),
        },
      });
      const write = this.configureOutput().writeOut ?? ((s: string) => process.stdout.write(s));
      write(`${o.json ? JSON.stringify(explanation, null, 2) : renderExplanation(explanation, now)}\n`);
    } catch (e) {
      if (e instanceof ScalingInputError) this.showHelpAfterError(false).error(formatInputError(e), { exitCode: 2, code: `salescale.${e.code}` });
      throw e;
    }
  });
  return program;
}
