import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { arrivalSchedule, percentile } from '../bench/open-load.ts';
import { parsePgbenchOutput } from '../bench/pgbench.ts';
import { check } from '../bench/scenario.ts';
import { HOT_PATH_TARGETS, hotPathTargetLines } from '../bench/summary.ts';
import { median, pairedMedianRatio } from '../bench/lib.ts';
import { betterWrk, countingScript, expectedPerSecond, parseWrkOutput, unexpectedReplies, type WrkRun } from '../bench/wrk.ts';

describe('benchmark tools', () => {
  it('`npm run bench -- --help` lists the scenarios, and an unknown name is one line and exit 2 (both were a stack trace)', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['bench/run.ts', ...args], { cwd: new URL('..', import.meta.url), encoding: 'utf8', timeout: 60_000 });
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: npm run bench/);
    assert.match(help.stdout, /\n {2}waiting-room {2,}/);
    // The scenarios a bare `npm run bench` skips are named as such, as `salescale bench --help` names them.
    assert.match(help.stdout, /\(all but the diagnostics when none is named\)/);
    assert.match(help.stdout, /\n {2}catalog-costs {2,}\(diagnostic, run only by name\) /);
    assert.match(help.stdout, /\n {2}pgbench {2,}\(diagnostic, run only by name\) /);
    assert.doesNotMatch(help.stdout, /\n {2}waiting-room {2,}\(diagnostic/);
    const unknown = run('nosuch');
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stderr.trim().split('\n').length, 1);
    assert.match(unknown.stderr, /unknown scenario nosuch/);
  });

  it('schedules open-model arrivals from the integral of a piecewise-linear rate', () => {
    const schedule = arrivalSchedule([
      { name: 'flat', seconds: 10, fromRps: 10, toRps: 10 },
      { name: 'ramp', seconds: 10, fromRps: 10, toRps: 30 },
    ]);
    assert.equal(schedule.total, 100 + 200);
    assert.ok(Math.abs(schedule.at(0) - 0.1) < 1e-9, 'the first arrival after 1/rate');
    assert.ok(Math.abs(schedule.at(99) - 10) < 1e-9, 'the 100th arrival ends the flat phase');
    // In the ramp, n(x) = 10x + x²: the 200th arrival overall (100 into the ramp) at x = (−10 + √500) / 2.
    assert.ok(Math.abs(schedule.at(199) - (10 + (-10 + Math.sqrt(500)) / 2)) < 1e-9);
    for (let k = 1; k < schedule.total; k++) assert.ok(schedule.at(k) >= schedule.at(k - 1), 'arrival times never go back');
  });

  it('takes nearest-rank percentiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(sorted, 95), 95);
    assert.equal(percentile(sorted, 99), 99);
    assert.equal(percentile([], 99), 0);
  });

  it('reads wrk and pgbench reports', () => {
    const wrk = parseWrkOutput(`Running 3s test @ http://127.0.0.1:1/
  1 threads and 64 connections
  Latency Distribution
     50%    3.10ms
     75%    4.00ms
     90%    5.00ms
     99%  850.00us
  45000 requests in 3.00s, 9.00MB read
  Non-2xx or 3xx responses: 7
Requests/sec:  15000.12
Transfer/sec:      3.00MB
`);
    assert.deepEqual(wrk, { requestsPerSecond: 15000.12, requests: 45000, latencyMs: { p50: 3.1, p99: 0.85 }, non2xx: 7, errors: 0 });
    assert.deepEqual(parsePgbenchOutput('latency average = 3.949 ms\ninitial connection time = 2.1 ms\ntps = 253.204 (without initial connection time)\n'), { tps: 253.204, latencyAvgMs: 3.949 });
  });

  it('reads the reply counts an order script prints after the wrk report', () => {
    const out = `Running 3s test @ http://127.0.0.1:1/api/v1/orders
  45000 requests in 3.00s, 9.00MB read
  Non-2xx or 3xx responses: 45000
Requests/sec:  15000.12
wrk-status 409 44990
wrk-status 422 10
wrk-expected 44990
`;
    const parsed = parseWrkOutput(out);
    assert.deepEqual(parsed.statuses, { '409': 44990, '422': 10 });
    assert.equal(parsed.expected, 44990);
    assert.equal(parseWrkOutput('Requests/sec: 1\n').statuses, undefined, 'a plain run has no counts');
  });

  it('writes an order script that quotes every cookie and the body as Lua strings, a key per request', () => {
    const script = countingScript({ method: 'POST', body: '{"items":[{"productId":7,"quantity":1}]}', cookies: ['sid=a"b\\c', 'sid=é'], expect: { status: 409, code: 'OUT_OF_STOCK' } });
    assert.match(script, /local cookies = \{ "sid=a\\034b\\092c", "sid=\\195\\169" \}/);
    assert.match(script, /wrk\.body = "\{\\034items\\034:\[\{\\034productId\\034:7,\\034quantity\\034:1\}\]\}"/);
    assert.match(script, /wrk\.headers\["Idempotency-Key"\] = prefix \.\. n/);
    assert.match(script, /local expectStatus = 409\nlocal expectCode = "OUT_OF_STOCK"/);
    assert.throws(() => countingScript({ method: 'POST', body: '{}', cookies: [], expect: { status: 409, code: 'X' } }));
  });

  it('writes a GET counting script with no body, cookie or key that counts any body of the expected status', () => {
    const script = countingScript({ method: 'GET', expect: { status: 200 } });
    assert.match(script, /wrk\.method = "GET"/);
    assert.doesNotMatch(script, /wrk\.body/);
    assert.match(script, /local cookies = \{ *\}/);
    assert.match(script, /local expectCode = nil/);
    assert.match(script, /if #cookies > 0 then/);
  });

  it('counts only the expected replies in wrk rates, and every other reply and socket error as unexpected', () => {
    const run: WrkRun = { available: true, requestsPerSecond: 1000, requests: 3000, latencyMs: { p50: 1, p99: 2 }, non2xx: 3000, errors: 5, expected: 2400 };
    assert.equal(expectedPerSecond(run), 800);
    assert.equal(unexpectedReplies(run), 605);
    assert.equal(expectedPerSecond({ ...run, requests: 0 }), 0);
    const slower: WrkRun = { ...run, requestsPerSecond: 900 };
    assert.equal(betterWrk(slower, run), run);
    assert.equal(betterWrk({ available: false, reason: 'x' }, slower), slower);
    assert.equal(betterWrk(slower, { available: false, reason: 'x' }), slower);
  });

  it('takes the median of per-round ratios, so each ratio pairs runs of the same round', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.ok(Number.isNaN(median([])));
    const rounds = [
      { a: 50, b: 100 },
      { a: 90, b: 100 },
      { a: 40, b: 50 },
    ];
    // Best of rounds per side would give 90 / 100; the rounds' own ratios are 0.5, 0.9, 0.8.
    assert.equal(pairedMedianRatio(rounds, (r) => r.a, (r) => r.b), 0.8);
  });

  it('evaluates checks in their direction', () => {
    assert.equal(check('ratio', 0.81, '>=', 0.8).pass, true);
    assert.equal(check('p99', 5, '<', 5).pass, false);
    assert.equal(check('oversold', 0, '==', 0).pass, true);
  });

  it('reports each hot-path target against its check, and says when a scenario gave no figure', () => {
    const result = (checks: ReturnType<typeof check>[]) => ({ figures: {}, ratios: {}, checks, seconds: 1 });
    const lines = hotPathTargetLines({
      scenarios: {
        catalog: result([check('cached detail req/s ÷ bare Fastify req/s (autocannon)', 0.9, '>=', 0.8), check('cached detail p99 ms at 64 connections (autocannon)', 7, '<', 5), check('listing req/s ÷ bare Fastify req/s (autocannon)', 0.5, '>=', 0.6)]),
        'sold-out': { ...result([]), error: 'boom' },
      },
    });
    assert.equal(lines.length, HOT_PATH_TARGETS.length);
    assert.match(lines[0]!, /MET cached detail req\/s .* = 0\.9 .*MISSED cached detail p99 ms at 64 connections \(autocannon\) = 7 \(target < 5\)/);
    assert.match(lines[1]!, /MISSED listing .* = 0\.5 \(target >= 0\.6\)/);
    assert.match(lines[2]!, /error: boom/);
    assert.match(lines[3]!, /not run/);
  });

  it('prints a target\'s fair reference beside its checks, unjudged, when the run measured it', () => {
    const hot = {
      figures: {},
      ratios: { shardedBatchedVsBareOrderEndpoint: 0.45 },
      checks: [check('successful orders/s (sharded + batched) ÷ pgbench single-row tps', 0.2, '>=', 1), check('oversold units (shardedBatched)', 0, '==', 0)],
      seconds: 1,
    };
    const [line] = hotPathTargetLines({ scenarios: { 'checkout-hot': hot } }).filter((l) => l.startsWith('- hot-SKU'));
    assert.match(line!, /MISSED successful orders\/s .* = 0\.2 .*MET oversold units .*; fair reference: .*bare Fastify order endpoint.* = 0\.45$/);
    const [without] = hotPathTargetLines({ scenarios: { 'checkout-hot': { ...hot, ratios: {} } } }).filter((l) => l.startsWith('- hot-SKU'));
    assert.doesNotMatch(without!, /fair reference/);
  });

  it('prefers the check named exactly over one that only starts with the name, and prints the fair references', () => {
    const lines = hotPathTargetLines({
      scenarios: {
        'sold-out': {
          figures: {},
          ratios: { wrkSoldOutVsBarePost409: 0.7 },
          seconds: 1,
          checks: [check('sold-out replies/s ÷ bare Fastify req/s (wrk cross-check)', 0.45, '>=', 0.5), check('sold-out replies/s ÷ bare Fastify req/s', 0.31, '>=', 0.5, 'autocannon')],
        },
      },
    });
    const line = lines[HOT_PATH_TARGETS.findIndex((t) => t.scenario === 'sold-out')]!;
    assert.match(line, /MISSED sold-out replies\/s ÷ bare Fastify req\/s \(wrk cross-check\) = 0\.45 .*MISSED sold-out replies\/s ÷ bare Fastify req\/s = 0\.31 \(target >= 0\.5\) \[autocannon\]/);
    assert.match(line, /; fair reference: sold-out replies\/s ÷ bare Fastify POST 409 with the same body schema \(wrk\) = 0\.7$/);
  });
});
