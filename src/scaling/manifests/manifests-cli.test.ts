import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Command, CommanderError } from 'commander';
import { type DeploymentSpec, SEED_DEPLOYMENT_SPEC, withOverrides } from './deployment-spec.ts';
import { runScalingCli } from '../cli.harness.ts';
import { registerManifestsCommand } from './manifests-cli.ts';

function cli(now?: () => Date): Command {
  const program = new Command('salescale').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  registerManifestsCommand(program, { now }).exitOverride();
  return program;
}

async function run(...args: string[]): Promise<void> {
  await cli().parseAsync(['node', 'salescale', 'manifests', ...args]);
}

/** Runs the command as `salescale` does (usage after a command-line error) and returns its exit code and stderr. */
async function runCapturingErr(...args: string[]): Promise<{ exitCode: number; err: string }> {
  return runWithSpec(undefined, ...args);
}

async function runWithSpec(spec: DeploymentSpec | undefined, ...args: string[]): Promise<{ exitCode: number; err: string }> {
  return runWith({ spec }, ...args);
}

async function runWith(options: { spec?: DeploymentSpec; now?: () => Date }, ...args: string[]): Promise<{ exitCode: number; err: string }> {
  let err = '';
  const program = new Command('salescale').exitOverride().showHelpAfterError().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
  registerManifestsCommand(program, options).exitOverride();
  try {
    await program.parseAsync(['node', 'salescale', 'manifests', ...args]);
    return { exitCode: 0, err };
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode, err };
    throw e;
  }
}

describe('salescale manifests', () => {
  let dir = '';
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes the chosen targets under --out, then --check passes until a file is edited', async () => {
    dir = await mkdtemp(join(tmpdir(), 'salescale-manifests-cli-'));
    await run('--target', 'k8s,do', '--out', dir);
    assert.match(await readFile(join(dir, 'deploy/k8s/base/web-hpa.yaml'), 'utf8'), /maxReplicas: 20/);
    assert.match(await readFile(join(dir, '.do/app.yaml'), 'utf8'), /max_instance_count: 20/);
    await run('--target', 'k8s,do', '--out', dir, '--check');
    await writeFile(join(dir, 'deploy/k8s/base/web-hpa.yaml'), 'edited by hand\n');
    await assert.rejects(run('--target', 'k8s', '--out', dir, '--check'), (e: unknown) => e instanceof CommanderError && e.exitCode === 1 && /web-hpa\.yaml/.test(e.message));
  });

  it('a target named twice (--target k8s,k8s) renders it once', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-twice-'));
    try {
      const r = await runCapturingErr('--target', 'k8s,k8s', '--out', out);
      assert.equal(r.exitCode, 0, r.err);
      assert.match(await readFile(join(out, 'deploy/k8s/base/web-hpa.yaml'), 'utf8'), /maxReplicas: 20/);
      assert.equal((await runCapturingErr('--target', 'k8s,k8s', '--out', out, '--check')).exitCode, 0);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('all inside a list (--target all,k8s) renders every target, as all does (it was refused as an unknown target "all" while the message listed all)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-all-list-'));
    try {
      const r = await runCapturingErr('--target', 'all,k8s', '--out', out);
      assert.equal(r.exitCode, 0, r.err);
      for (const file of ['deploy/k8s/base/web-hpa.yaml', '.do/app.yaml', 'deploy/aws/salescale.yaml']) assert.ok(existsSync(join(out, file)), file);
      assert.equal((await runCapturingErr('--target', 'all', '--out', out, '--check')).exitCode, 0);
      const bad = await runCapturingErr('--target', 'all,k9s', '--out', out);
      assert.equal(bad.exitCode, 2);
      assert.match(bad.err, /^error \[INVALID_OPTION\]: --target: unknown target "k9s"/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('--check on a stale file lists it and exits 1 without the usage (it is not a mistyped command line)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-stale-'));
    try {
      await run('--target', 'do', '--out', out);
      await writeFile(join(out, '.do/app.yaml'), 'edited by hand\n');
      const r = await runCapturingErr('--target', 'do', '--out', out, '--check');
      assert.equal(r.exitCode, 1);
      assert.equal(r.err, 'stale or missing (run salescale manifests --target do):\n  .do/app.yaml\n');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('says so when the sale\'s plan needs more web replicas than web.replicas.max (the windows were capped at the maximum without a word)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-capped-'));
    try {
      // 100 req/s pods: the evening peak of Black Friday 2027 (1800 req/s) needs 25 web pods.
      const slower = withOverrides(SEED_DEPLOYMENT_SPEC, { web: { capacityPerInstanceRps: 100 } });
      const capped = await runWithSpec(slower, '--target', 'k8s', '--out', out, '--year', '2027');
      assert.equal(capped.exitCode, 0, capped.err);
      assert.equal(
        capped.err,
        'warning: Black Friday 2027 needs up to 25 web replicas, above web.replicas.max 20, in 8 hour(s) from 2027-11-26T14:00Z: every platform pre-scales those hours to 20; raise web.replicas.max in the deployment spec (its pools are re-checked against max_connections), or give the pod more CPU and measure web.capacityPerInstanceRps again\n',
      );
      const seed = await runWithSpec(undefined, '--target', 'k8s', '--out', out, '--year', '2027');
      assert.deepEqual([seed.exitCode, seed.err], [0, '']);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('warns, as plan does, when --year is a sale whose AWS scheduled actions start in the past (they were rendered without a word)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-past-'));
    try {
      let err = '';
      const program = new Command('salescale').exitOverride().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
      registerManifestsCommand(program, { now: () => new Date('2026-12-06T09:00:00Z') }).exitOverride();
      await program.parseAsync(['node', 'salescale', 'manifests', '--target', 'aws', '--out', out, '--year', '2026']);
      assert.match(err, /^warning: \d+ of \d+ AWS scheduled actions start before now \(2026-12-06T09:00Z; first 2026-11-2\dT[\d:]+Z\): EC2 Auto Scaling refuses an action scheduled in the past, and the stack update that carries it fails; plan a window that has not started \(--year\)/);
      err = '';
      await program.parseAsync(['node', 'salescale', 'manifests', '--target', 'aws', '--out', out, '--year', '2027']);
      assert.equal(err, '');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('warns, as for AWS, when --year is a sale whose Google Cloud scaling schedules or Azure fixed-date profiles have all ended: they would never run (they were rendered without a word)', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-past-clouds-'));
    try {
      let err = '';
      let now = new Date('2026-12-06T09:00:00Z');
      const program = new Command('salescale').exitOverride().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
      registerManifestsCommand(program, { now: () => now }).exitOverride();
      const render = (target: string, year: string) => program.parseAsync(['node', 'salescale', 'manifests', '--target', target, '--out', out, '--year', year]);
      await render('gcp', '2026');
      const gcp = /^warning: (\d+) of (\d+) Google Cloud scaling schedules ended before now \(2026-12-06T09:00Z; first 2026-11-2\dT[\d:]+Z\): Compute Engine keeps a one-off schedule whose time has passed but never runs it \(status OBSOLETE\), so the sale is not pre-scaled; plan a sale still ahead \(--year\)\n$/.exec(err);
      assert.ok(gcp, err);
      assert.equal(gcp[1], gcp[2]);
      err = '';
      await render('azure', '2026');
      const azure = /^warning: (\d+) of (\d+) Azure autoscale fixed-date profiles ended before now \(2026-12-06T09:00Z; first 2026-11-2\dT[\d:]+Z\): Azure Monitor autoscale applies a fixed-date profile only between its start and end, so the sale is not pre-scaled; plan a sale still ahead \(--year\)\n$/.exec(err);
      assert.ok(azure, err);
      assert.equal(azure[1], azure[2]);
      // During the sale, only the windows already over are named: one still running applies at once, one ahead runs.
      now = new Date('2026-11-27T12:00:00Z');
      err = '';
      await render('gcp,azure', '2026');
      const partial = [...err.matchAll(/^warning: (\d+) of (\d+) /gm)];
      assert.equal(partial.length, 2, err);
      for (const m of partial) assert.ok(Number(m[1]) > 0 && Number(m[1]) < Number(m[2]), err);
      // A sale ahead: nothing to say.
      err = '';
      await render('gcp,azure', '2027');
      assert.equal(err, '');
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('re-plans the pre-scaling windows for --year and sets --image-tag everywhere', async () => {
    await run('--target', 'aws', '--out', dir, '--year', '2028', '--image-tag', '2.0.0');
    const template = await readFile(join(dir, 'deploy/aws/salescale.yaml'), 'utf8');
    assert.match(template, /StartTime: "?2028-11-2\d/);
    assert.doesNotMatch(template, /StartTime: "?2027-/);
    assert.match(template, /ghcr\.io\/salescale\/salescale:2\.0\.0/);
  });

  it('without --year plans the next Black Friday that has not ended, as plan, simulate and cost do', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-year-'));
    try {
      await cli(() => new Date('2027-11-27T00:00:00Z')).parseAsync(['node', 'salescale', 'manifests', '--target', 'aws', '--out', out]);
      assert.match(await readFile(join(out, 'deploy/aws/salescale.yaml'), 'utf8'), /StartTime: "?2028-11-2\d/);
      await cli(() => new Date('2027-11-26T12:00:00Z')).parseAsync(['node', 'salescale', 'manifests', '--target', 'aws', '--out', out]);
      assert.match(await readFile(join(out, 'deploy/aws/salescale.yaml'), 'utf8'), /StartTime: "?2027-11-2\d/);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('an --out that cannot be written (a file, not a folder) is one line with exit 2', async () => {
    const own = await mkdtemp(join(tmpdir(), 'salescale-manifests-out-'));
    try {
      const file = join(own, 'not-a-folder');
      await writeFile(file, 'x');
      let err = '';
      const program = new Command('salescale').exitOverride().showHelpAfterError().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
      registerManifestsCommand(program).exitOverride();
      await assert.rejects(program.parseAsync(['node', 'salescale', 'manifests', '--target', 'k8s', '--out', file]), (e: unknown) => e instanceof CommanderError && e.exitCode === 2);
      assert.equal(err.trim().split('\n').length, 1, err);
      assert.match(err, /^error \[UNWRITABLE_OUTPUT\]: cannot write .*not-a-folder\/deploy\/k8s\/base.*: a part of the path is not a folder/);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });

  it('an --out under /proc fails at once with UNWRITABLE_OUTPUT (Node\'s recursive mkdir looped there until killed)', { skip: !existsSync('/proc/self') && 'no procfs', timeout: 60_000 }, async () => {
    let err = '';
    const program = new Command('salescale').exitOverride().configureOutput({ writeOut: () => {}, writeErr: (s) => { err += s; } });
    registerManifestsCommand(program).exitOverride();
    // The loop never ended: the test's timeout catches it; how fast the refusal comes is bench's business.
    await assert.rejects(program.parseAsync(['node', 'salescale', 'manifests', '--target', 'k8s', '--out', '/proc/salescale-x']), (e: unknown) => e instanceof CommanderError && e.exitCode === 2);
    assert.equal(err, 'error [UNWRITABLE_OUTPUT]: cannot write /proc/salescale-x/deploy/k8s/base: /proc does not take new folders (mkdir /proc/salescale-x: ENOENT)\n');
  });

  it('refuses an image tag Docker would refuse (empty, spaces, a colon) before writing anything', async () => {
    const out = await mkdtemp(join(tmpdir(), 'salescale-manifests-tag-'));
    try {
      for (const tag of ['', 'bad tag', 'v1:latest', '-leading-dash', 'x'.repeat(129)]) {
        const r = await runCapturingErr('--target', 'k8s', '--out', out, '--image-tag', tag);
        assert.equal(r.exitCode, 2, JSON.stringify(tag));
        assert.match(r.err, /^error \[INVALID_OPTION\]: --image-tag ".*" is not a Docker image tag: letters, digits, _ \. - \(not first\), at most 128 characters\n$/, JSON.stringify(tag));
      }
      await assert.rejects(readFile(join(out, 'deploy/k8s/base/web-deployment.yaml'), 'utf8'), { code: 'ENOENT' });
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('refuses an unknown target and a --year that is not a year with one line and exit 2, without the usage', async () => {
    const cases: [string[], string][] = [
      [['--target', 'nomad'], '--target: unknown target "nomad" (targets are k8s, compose, swarm, aws, gcp, azure, heroku, do or all)'],
      [['--target', 'k8s,'], '--target: unknown target "" (targets are k8s, compose, swarm, aws, gcp, azure, heroku, do or all)'],
      [['--target', 'k8s', '--year', 'next'], '--year must be a year from 2000 to 2200 (got "next")'],
      [['--target', 'k8s', '--year', '1999'], '--year must be a year from 2000 to 2200 (got "1999")'],
    ];
    for (const [args, message] of cases) {
      const r = await runCapturingErr(...args, '--check');
      assert.equal(r.exitCode, 2, args.join(' '));
      assert.equal(r.err, `error [INVALID_OPTION]: ${message}\n`, args.join(' '));
    }
  });
});

describe('a sale after 2036 (a Compute Engine scaling schedule\'s cron year runs 2000–2036)', () => {
  const now = () => new Date('2026-12-06T12:00:00Z');
  /** `manifests … --year 2037` into a fresh --out, which is removed afterwards. */
  async function manifests2037(target: string, check: (r: { exitCode: number; err: string }, out: string) => Promise<void>): Promise<void> {
    const out = await mkdtemp(join(tmpdir(), `salescale-manifests-${target}-2037-`));
    try {
      await check(await runWith({ now }, '--target', target, '--year', '2037', '--out', out), out);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }
  /** What manifests --target gcp refuses to write, simulate and cost still rate: with this one warning line. */
  const WARNING = /^warning: [^\n]*gce-predictive-scheduled[^\n]*2036[^\n]*manifests[^\n]*$/m;

  it('manifests --target gcp --year 2037 is refused with one INVALID_OPTION line, exit 2, and writes no schedule Compute Engine (or parseGceCron) would refuse', async () => {
    await manifests2037('gcp', async (r, out) => {
      assert.equal(r.exitCode, 2, r.err);
      assert.match(r.err.trim(), /^error \[INVALID_OPTION\]: [^\n]+$/);
      assert.equal(existsSync(join(out, 'deploy/gcp/main.tf')), false);
    });
  });

  it('manifests --target all --year 2037 renders every target but gcp and warns that gcp was skipped', async () => {
    await manifests2037('all', async (r, out) => {
      assert.equal(r.exitCode, 0, r.err);
      assert.match(r.err, /^warning: [^\n]*gcp[^\n]*skipped[^\n]*$/m);
      assert.ok(existsSync(join(out, 'deploy/aws/salescale.yaml')));
      assert.ok(!existsSync(join(out, 'deploy/gcp/main.tf')));
    });
  });

  it('plan --year 2037 succeeds', async () => {
    const r = await runScalingCli(['plan', '--year', '2037', '--no-db', '--json'], { now });
    assert.equal(r.exitCode, 0, r.err);
  });

  it('cost --year 2037 succeeds as plan does (it exited 2 refusing its own one-off GCE cron) and, rating the gcp provider, warns that manifests will not write its schedule', async () => {
    const r = await runScalingCli(['cost', '--year', '2037', '--no-db', '--json', '--policies', 'hpa'], { now });
    assert.equal(r.exitCode, 0, `exit ${r.exitCode}: ${r.err.trim()}`);
    assert.match(r.err, WARNING);
  });

  it('simulate --year 2037 with the default policies succeeds as plan does', async () => {
    const r = await runScalingCli(['simulate', '--year', '2037', '--no-db', '--json', '--no-progress'], { now });
    assert.equal(r.exitCode, 0, `exit ${r.exitCode}: ${r.err.trim()}`);
  });

  for (const [year, warns] of [['2037', true], ['2036', false]] as const) {
    it(`simulate --year ${year} --policies gce-predictive-scheduled ${warns ? 'warns that manifests will not write its schedule' : 'does not warn'}`, async () => {
      const r = await runScalingCli(['simulate', '--year', year, '--no-db', '--json', '--no-progress', '--policies', 'gce-predictive-scheduled'], { now });
      assert.equal(r.exitCode, 0, r.err);
      if (warns) assert.match(r.err, WARNING);
      else assert.doesNotMatch(r.err, WARNING);
    });
  }
});
