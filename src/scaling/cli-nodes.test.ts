/** `simulate` and `plan` with the node pool options: what they print, and how they refuse bad values. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { runScalingCli } from './cli.harness.ts';

const SALE = ['--no-db', '--year', '2026', '--no-progress'];
interface Totals {
  policy: string;
  minutesOverSlo: number;
  nodes?: { initialNodes: number; peakNodes: number; maxPendingPods: number };
}
const json = (out: string) => JSON.parse(out) as { nodePool?: { podsPerNode: number; initialNodes: number | string }; totals: Totals[]; timelines: Record<string, { pendingPods?: number }[]> };

describe('simulate --nodes', () => {
  it('without a node option prints no node figures (the output is the one from before the node pool)', async () => {
    const r = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa', '--json']);
    assert.equal(r.exitCode, 0, r.err);
    const out = json(r.out);
    assert.equal(out.nodePool, undefined);
    assert.equal(out.totals[0].nodes, undefined);
    assert.equal(out.timelines.hpa[0].pendingPods, undefined);
    const text = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa']);
    assert.doesNotMatch(text.out, /start\/peak nodes|max pending pods|^nodes \(/m);
  });

  it('without --nodes says what the cost column is: each Kubernetes pod priced as a whole instance at --price, and how to price nodes instead', async () => {
    const text = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,aws-scheduled']);
    assert.equal(text.exitCode, 0, text.err);
    assert.match(text.out, /cost: instance-hours × \$0\.085 \(--price\); the Kubernetes rows \(hpa\) count each pod as one instance at that price \(pod-hours\), not its share of a node: --nodes prices their node-hours \(--node-price\)/);
    const r = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,aws-scheduled', '--json']);
    const pricing = (JSON.parse(r.out) as { pricing?: Record<string, unknown> }).pricing;
    assert.deepEqual(pricing, { pricePerInstanceHour: 0.085, rows: { hpa: 'pod-hours × pricePerInstanceHour', 'aws-scheduled': 'instance-hours × pricePerInstanceHour' } });
    const withNodes = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,aws-scheduled', '--nodes', 'fit', '--json']);
    assert.deepEqual((JSON.parse(withNodes.out) as { pricing?: Record<string, unknown> }).pricing, {
      pricePerInstanceHour: 0.085,
      pricePerNodeHour: 0.096,
      rows: { hpa: 'node-hours × pricePerNodeHour', 'aws-scheduled': 'instance-hours × pricePerInstanceHour' },
    });
  });

  it('--nodes prices the Kubernetes rows by their node-hours (--node-price), not each pod as an instance; VM rows keep --price', async () => {
    type Row = { cost: number; instanceHours: number; nodes?: { nodeHours: number } };
    // The default: m6i.large's on-demand price in the AWS catalogue, a 2 vCPU / 8 GiB node as the spec's nodePool describes.
    const byDefault = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,aws-scheduled', '--nodes', 'fit', '--json']);
    assert.equal(byDefault.exitCode, 0, byDefault.err);
    const [hpa, aws] = (JSON.parse(byDefault.out) as { totals: Row[] }).totals;
    assert.ok(hpa.nodes && Math.abs(hpa.cost - hpa.nodes.nodeHours * 0.096) < 1e-9, `hpa cost ${hpa.cost} for ${hpa.nodes?.nodeHours} node-hours (pod-hours ${hpa.instanceHours})`);
    assert.ok(Math.abs(aws.cost - aws.instanceHours * 0.085) < 1e-9, `aws cost ${aws.cost}`);
    const priced = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa', '--nodes', 'fit', '--node-price', '0.2', '--json']);
    const [hpa2] = (JSON.parse(priced.out) as { totals: Row[] }).totals;
    assert.ok(hpa2.nodes && Math.abs(hpa2.cost - hpa2.nodes.nodeHours * 0.2) < 1e-9, `${hpa2.cost}`);
    const text = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa', '--nodes', 'fit']);
    assert.match(text.out, /cost of these rows: node-hours × \$0\.096 \(--node-price\)/);
  });

  it('--nodes fit starts with just enough nodes: reactive HPA waits for nodes and stays over the SLO longer; the pre-scaled policy does not', async () => {
    const bare = json((await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,hpa-prescaled', '--json'])).out);
    const r = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,hpa-prescaled,aws-scheduled', '--nodes', 'fit', '--json']);
    assert.equal(r.exitCode, 0, r.err);
    const out = json(r.out);
    assert.equal(out.nodePool?.podsPerNode, 6, '1500m / 250m per pod');
    assert.equal(out.nodePool?.initialNodes, 'fit');
    const [hpa, prescaled, aws] = out.totals;
    assert.equal(hpa.nodes?.initialNodes, 1);
    assert.equal(hpa.nodes?.peakNodes, 3);
    assert.ok(hpa.minutesOverSlo > bare.totals[0].minutesOverSlo, `${hpa.minutesOverSlo} vs ${bare.totals[0].minutesOverSlo}`);
    assert.equal(prescaled.minutesOverSlo, 0);
    assert.ok((prescaled.nodes?.maxPendingPods ?? 0) > 0);
    assert.equal(aws.nodes, undefined, 'VM-based policies have no node pool');
    assert.ok(out.timelines['hpa-prescaled'].some((m) => (m.pendingPods ?? 0) > 0));
  });

  it('prints the pool and the node columns, "-" for the policies it does not apply to; --pods-per-node and --node-provisioning-seconds change them', async () => {
    const r = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa,aws-scheduled', '--pods-per-node', '4', '--node-provisioning-seconds', '240']);
    assert.equal(r.exitCode, 0, r.err);
    assert.match(r.out, /nodes \(hpa, hpa-legacy, hpa-prescaled only\): 4 web pods per node \(--pods-per-node\); starting with just enough nodes for the starting replicas, group 1–enough for --max; Cluster Autoscaler: scan 10 s, node Ready 240 s after its request/);
    assert.match(r.out, /start\/peak nodes\s+node-hours\s+max pending pods/);
    assert.match(r.out, /\nhpa\s+reactive\s.*\s1\/4\s/);
    assert.match(r.out, /\naws-scheduled\s.*\s-\s+-\s+-\n/);
  });

  it('refuses bad node options with one line and exit 2', async () => {
    const cases: [string[], string][] = [
      [['--nodes', 'many'], '--nodes must be a whole number 0–1000 or "fit" (got "many")'],
      [['--nodes', '-1'], '--nodes must be a whole number 0–1000 or "fit" (got "-1")'],
      [['--node-cpu', '2000'], "--node-cpu needs --node-memory (a node's allocatable CPU in millicores and memory in MiB), or give --pods-per-node"],
      [['--node-memory', '4096'], "--node-memory needs --node-cpu (a node's allocatable CPU in millicores and memory in MiB), or give --pods-per-node"],
      [['--node-cpu', '0', '--node-memory', '4096'], '--node-cpu must be a number > 0 (got "0")'],
      [['--pods-per-node', '6', '--node-cpu', '2000', '--node-memory', '4096'], '--pods-per-node or --node-cpu/--node-memory, not both'],
      [['--pods-per-node', '2.5'], '--pods-per-node must be a whole number from 1 to 1000 (got "2.5")'],
      [['--node-cpu', '200', '--node-memory', '4096'], 'a pod requesting 250m CPU and 512 MiB does not fit a node with 200m and 4096 MiB allocatable: the Cluster Autoscaler adds no node for a pod that would not fit on one'],
      [['--node-provisioning-seconds', '901'], "--node-provisioning-seconds must be 0–900 (the Cluster Autoscaler's --max-node-provision-time: a node not registered by then is given up and removed) (got 901)"],
      [['--node-provisioning-seconds', 'slow'], '--node-provisioning-seconds: "slow" is not a number'],
      [['--node-min', '4', '--node-max', '3'], '--node-min 4 must not exceed --node-max 3'],
      [['--nodes', '1', '--node-min', '2'], "--nodes 1 must be within the node group's --node-min 2 and --node-max (enough for --max)"],
    ];
    for (const [args, message] of cases) {
      const r = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa', ...args]);
      assert.equal(r.exitCode, 2, args.join(' '));
      assert.equal(r.err, `error [INVALID_OPTION]: ${message}\n`, args.join(' '));
      assert.equal(r.out, '');
    }
  });
});

describe('plan: the node pool checks', () => {
  const findings = async (args: string[]) => {
    const r = await runScalingCli(['plan', ...SALE, '--json', ...args]);
    const list = (JSON.parse(r.out) as { findings: { id: string; level: string; message: string; fix?: string }[] }).findings;
    // Exit 1 exactly when a check found an error (the JSON printed all the same).
    assert.equal(r.exitCode, list.some((f) => f.level === 'error') ? 1 : 0, r.err);
    return Object.fromEntries(list.map((f) => [f.id, f]));
  };

  it('reports the nodes the peak needs and whether the lead covers a new node', async () => {
    const f = await findings([]);
    assert.equal(f['node-lead-time'].level, 'ok');
    // 17 web + 4 workers at the peak (the email queue's: 3 sends at once per worker at the spec's pool of 5, 2 s each).
    assert.match(f['node-pool'].message, /17 web \(250m \/ 512 MiB\) \+ 4 worker \(250m \/ 512 MiB\) pods need 4 node\(s\) of 1500m CPU \/ 6000 MiB allocatable \(the deployment spec's nodePool, assumed\)/);
    const slow = await findings(['--lead', '2', '--node-provisioning-seconds', '240', '--node-max', '2']);
    assert.equal(slow['node-lead-time'].level, 'warning');
    assert.match(slow['node-lead-time'].fix ?? '', /raise the lead to ≥ 5 min .*node group's minimum to 4 for the sale.*placeholder pods/);
    assert.equal(slow['node-pool'].level, 'error');
  });

  it('says whether the lead covers a new instance on each cloud, not only a pod on a new node (3 min covered the node and left EC2 late)', async () => {
    // With --lead 3 the node chain (175 s) fits, but simulate (a New York Black Friday) ran the EC2 group 0.33 min over the SLO: its scheduled
    // action is applied on the window's whole minute (the group's 60 s evaluation falls on it: 0 s of waiting) and an
    // instance serves 200 s after launch (ALB health checks) = 200 s > 180 s; Compute Engine 0 s + 90 s = 90 s and
    // Azure 0 s + 120 s = 120 s fit. ⌈200 / 60⌉ = 4 min.
    const short = await findings(['--lead', '3']);
    assert.equal(short['node-lead-time'].level, 'ok');
    assert.equal(short['vm-lead-time']?.level, 'warning');
    assert.match(short['vm-lead-time'].message, /AWS .*0 s .*200 s = 200 s/);
    assert.doesNotMatch(short['vm-lead-time'].message, /not covered: .*(Compute Engine|Azure)/);
    assert.match(short['vm-lead-time'].fix ?? '', /raise the lead to ≥ 4 min/);
    assert.equal((await findings(['--lead', '4']))['vm-lead-time'].level, 'ok');
  });

  it('warns for a cloud exactly when simulate runs it over the SLO: a 4-min lead covers EC2, whose scheduled action is applied on the minute it starts', async () => {
    // The windows start on whole minutes (hour − lead) and the EC2 group is evaluated every 60 s on the minute, so
    // simulate applies the scheduled action at the window's start: an instance serves 200 s later (0 s of waiting
    // for an evaluation). --lead 3 (180 s < 200 s) ran 0.33 min = 20 s over the SLO (200 − 180), not 80 s
    // (260 − 180); --lead 4 (240 s ≥ 200 s) runs 0 min over it, yet plan said "260 s" and warned for AWS.
    const overSlo = async (lead: string) => {
      const r = await runScalingCli(['simulate', ...SALE, '--policies', 'aws-scheduled-predictive', '--lead', lead, '--json']);
      assert.equal(r.exitCode, 0, r.err);
      return json(r.out).totals[0].minutesOverSlo;
    };
    for (const lead of ['3', '4']) {
      const late = (await overSlo(lead)) > 0;
      const finding = (await findings(['--lead', lead]))['vm-lead-time'];
      assert.equal(finding.level === 'warning' && /not covered: .*AWS/.test(finding.message), late, `--lead ${lead}: ${finding.message}`);
    }
  });

  it('docs/deploy-k8s.md ("Size the pool for the peak") quotes the pods and nodes plan prints for the seed Black Friday', async () => {
    // The doc said "17 web + 1 worker pods, 3 nodes" while plan printed 17 web + 4 workers on 4 nodes: one node short.
    const doc = (await readFile('docs/deploy-k8s.md', 'utf8')).replace(/\s+/g, ' ');
    const m = /The seed's Black Friday: (\d+) web \+ (\d+) worker pods, (\d+) nodes at the peak/.exec(doc);
    assert.ok(m, 'the sentence is gone from docs/deploy-k8s.md');
    const pool = (await findings([]))['node-pool'];
    assert.ok(pool, 'no node-pool finding');
    const p = /peak: (\d+) web .*?\+ (\d+) worker .*?pods need (\d+) node/.exec(pool.message);
    assert.ok(p, pool.message);
    assert.deepEqual(
      { web: Number(m[1]), worker: Number(m[2]), nodes: Number(m[3]) },
      { web: Number(p[1]), worker: Number(p[2]), nodes: Number(p[3]) },
      'docs/deploy-k8s.md vs plan',
    );
  });

  it('warns when --node-max holds the peak but not the pods a release at the peak adds (Kubernetes maxSurge)', async () => {
    const f = await findings(['--node-max', '4']);
    assert.equal(f['node-pool'].level, 'warning', f['node-pool'].message);
    assert.match(f['node-pool'].message, /a release at the peak \(\+ \d+ web and 1 worker pods, Kubernetes maxSurge\) needs 5: above the maximum 4/);
  });

  it('refuses a node too small for one pod with one line and exit 2, as simulate does', async () => {
    for (const [cpu, memory] of [['100', '100'], ['200', '4096'], ['4000', '200']]) {
      const args = ['--node-cpu', cpu, '--node-memory', memory];
      const plan = await runScalingCli(['plan', ...SALE, ...args]);
      const simulate = await runScalingCli(['simulate', ...SALE, '--policies', 'hpa', ...args]);
      assert.equal(plan.exitCode, 2, args.join(' '));
      assert.equal(plan.out, '');
      assert.equal(plan.err, `error [INVALID_OPTION]: a pod requesting 250m CPU and 512 MiB does not fit a node with ${cpu}m and ${memory} MiB allocatable: the Cluster Autoscaler adds no node for a pod that would not fit on one\n`);
      assert.equal(plan.err, simulate.err);
    }
  });

  it('lists the node options under plan and simulate only, and refuses a bad --lead', async () => {
    for (const command of ['plan', 'simulate']) {
      const help = (await runScalingCli([command, '--help'])).out;
      for (const option of ['--node-cpu', '--node-memory', '--pods-per-node', '--node-provisioning-seconds', '--node-max']) assert.match(help, new RegExp(`${option} <`), `${command} ${option}`);
    }
    assert.match((await runScalingCli(['simulate', '--help'])).out, /--nodes <n\|fit>/);
    for (const command of ['forecast', 'cost']) assert.doesNotMatch((await runScalingCli([command, '--help'])).out, /--node/);
    const r = await runScalingCli(['plan', ...SALE, '--lead', '-1']);
    assert.equal(r.exitCode, 2);
    assert.equal(r.err, 'error [INVALID_OPTION]: --lead must be a number from 0 to 10080 (got "-1")\n');
  });
});
