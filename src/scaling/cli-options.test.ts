/** The toolkit's command lines: each command lists and accepts the options it uses, no others. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const CAPACITY_OPTIONS = ['--capacity', '--bench', '--min', '--max', '--target-util'];

describe('the command lines', () => {
  it('forecast lists none of the capacity options and refuses them with the usage, exit 1 (it took --capacity abc --min 9 --max 2 --target-util 500 and exited 0)', async () => {
    const help = await runScalingCli(['forecast', '--help']);
    for (const option of CAPACITY_OPTIONS) assert.doesNotMatch(help.out, new RegExp(`${option}\\b`), option);
    for (const args of [['--capacity', 'abc'], ['--min', '9'], ['--max', '2'], ['--target-util', '500'], ['--bench', 'x.json']]) {
      const r = await runScalingCli(['forecast', '--no-db', ...args], {}, { usage: true });
      assert.equal(r.exitCode, 1, args.join(' '));
      assert.equal(r.out, '');
      assert.match(r.err, new RegExp(`^error: unknown option '${args[0]}'\\n\\nUsage: salescale forecast \\[options\\]`), args.join(' '));
    }
    for (const command of ['plan', 'simulate', 'cost']) {
      const h = await runScalingCli([command, '--help']);
      for (const option of CAPACITY_OPTIONS) assert.match(h.out, new RegExp(`${option} <`), `${command} ${option}`);
    }
  });

  it('--no-progress is accepted by forecast, plan, simulate, cost and backtest alike, and each --help says what it does there', async () => {
    const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--json'];
    for (const args of [['forecast', ...window], ['plan', ...window], ['simulate', ...window, '--policies', 'hpa'], ['cost', ...window, '--policies', 'hpa'], ['backtest', '--dataset', 'us-flights-2001-elp', '--held-out-weeks', '1', '--json']]) {
      const r = await runScalingCli([...args, '--no-progress'], {}, { usage: true });
      assert.equal(r.exitCode, 0, `${args[0]}: ${r.err.slice(0, 200)}`);
      const help = await runScalingCli([args[0], '--help']);
      const text = help.out.replace(/\s+/g, ' ');
      const expected = args[0] === 'simulate' ? '--no-progress no progress bar on stderr (drawn only when stderr is a terminal)' : '--no-progress accepted for scripts that pass it to every command: this command draws no progress bar';
      assert.ok(text.includes(expected), `${args[0]}: ${text.slice(text.indexOf('--no-progress'), text.indexOf('--no-progress') + 120)}`);
    }
  });

  it('--help gives --quantile\'s default, 0.9, and says what each command does with it (forecast "sized" on it, though it sizes nothing)', async () => {
    for (const [command, use] of [['forecast', 'the band'], ['plan', 'replicas sized on it'], ['simulate', 'pre-scaled policies sized on it'], ['cost', 'pre-scaled policies sized on it']]) {
      const text = (await runScalingCli([command, '--help'])).out.replace(/\s+/g, ' ');
      const quantile = text.slice(text.indexOf('--quantile <q>'), text.indexOf('--country'));
      assert.ok(quantile.includes('(default: 0.9; needs --history or --learn)'), `${command}: ${quantile}`);
      assert.ok(quantile.includes(use), `${command}: ${quantile}`);
      if (command === 'forecast') assert.ok(!quantile.includes('sizing'), quantile);
    }
  });

  it('plan refuses an empty or over-long --asg-name (it wrote AutoScalingGroupName "" into every scheduled action; EC2 Auto Scaling takes 1 to 255 characters)', async () => {
    const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--json'];
    for (const name of ['', '   ', 'x'.repeat(256)]) {
      const r = await runScalingCli(['plan', ...window, '--asg-name', name]);
      assert.equal(r.exitCode, 2, JSON.stringify(name));
      assert.match(r.err, /^error \[INVALID_OPTION\]: --asg-name must name the Auto Scaling group \(1 to 255 characters; got /);
    }
    const ok = await runScalingCli(['plan', ...window, '--asg-name', 'shop-prod-web']);
    assert.equal(ok.exitCode, 0, ok.err);
    assert.ok(JSON.parse(ok.out).schedule.awsScheduledActions.every((a: { properties: { AutoScalingGroupName: string } }) => a.properties.AutoScalingGroupName === 'shop-prod-web'));
  });

  it('a policy named twice (--policies hpa,hpa) is simulated and priced once, as a worker policy named twice already was (simulate printed the row twice, cost priced it twice)', async () => {
    const window = ['--from', '2026-11-27T10:00:00Z', '--to', '2026-11-27T11:00:00Z', '--no-db', '--json'];
    const sim = await runScalingCli(['simulate', ...window, '--policies', 'hpa,hpa-prescaled,hpa']);
    assert.equal(sim.exitCode, 0, sim.err);
    assert.deepEqual(JSON.parse(sim.out).totals.map((t: { policy: string; sizing: string }) => t.policy), ['hpa', 'hpa-prescaled']);
    const cost = await runScalingCli(['cost', ...window, '--policies', 'hpa, hpa']);
    assert.equal(cost.exitCode, 0, cost.err);
    assert.deepEqual(JSON.parse(cost.out).policies.map((p: { policy: string }) => p.policy), ['hpa']);
  });

  // With a history the base traffic is learned from it: --base-rps beside it was dropped without a word.
  it('refuses --base-rps beside --history, which gives the base traffic itself', async () => {
    const history = new URL('./test-data/real/us-flights-2001-elp.csv', import.meta.url).pathname;
    for (const command of ['forecast', 'plan', 'simulate', 'cost']) {
      const r = await runScalingCli([command, '--no-db', '--history', history, '--base-rps', '500', '--from', '2001-07-16T00:00:00Z', '--to', '2001-07-17T00:00:00Z']);
      assert.equal(r.exitCode, 2, `${command}: ${r.err}`);
      assert.match(r.err, /^error \[INVALID_OPTION\]: --base-rps .*--history/, command);
    }
    const learn = await runScalingCli(['plan', '--learn', '--base-rps', '500', '--from', '2001-07-16T00:00:00Z', '--to', '2001-07-17T00:00:00Z'], { loadHourlyHistory: async () => [] });
    assert.equal(learn.exitCode, 2, learn.err);
    assert.match(learn.err, /^error \[INVALID_OPTION\]: --base-rps .*--learn/);
    const alone = await runScalingCli(['forecast', '--no-db', '--history', history, '--from', '2001-07-16T00:00:00Z', '--to', '2001-07-17T00:00:00Z', '--json']);
    assert.equal(alone.exitCode, 0, alone.err);
  });

  it('refuses --base-rps 0 as INVALID_OPTION like the other numeric options (it was NEGATIVE_CAPACITY), and --held-out-weeks 0 naming the flag', async () => {
    for (const value of ['0', '-5']) {
      const r = await runScalingCli(['forecast', '--no-db', '--base-rps', value]);
      assert.equal(r.exitCode, 2);
      assert.equal(r.err, `error [INVALID_OPTION]: --base-rps must be a number > 0 (got "${value}")\n`);
    }
    for (const value of ['0', '1.5', 'two']) {
      const r = await runScalingCli(['backtest', '--dataset', 'us-flights-2001-elp', '--held-out-weeks', value]);
      assert.equal(r.exitCode, 2);
      assert.equal(r.err, `error [INVALID_OPTION]: --held-out-weeks must be a whole number ≥ 1 or "all" (got "${value}")\n`);
    }
  });
});

