import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { BlockList, isIP } from 'node:net';
import { describe, it } from 'node:test';
import { envSchema, loadConfig, loadMigrationConfig } from '../../platform/config/config.ts';
import { SEED_DEPLOYMENT_SPEC } from './deployment-spec.ts';
import { COMPOSE_SHOP_URL } from './render-compose.ts';
import { MANIFEST_TARGETS, renderTargets } from './manifests.ts';
import { getFile, getK8sObjects, getObject } from './validate/rendered-objects.ts';
import { parseTerraform } from './validate/terraform-validate.ts';

// biome-ignore lint/suspicious/noExplicitAny: assertions navigate parsed YAML freely; manifests.test.ts validates its shape.
type Obj = Record<string, any>;
type Env = Record<string, string>;

const files = renderTargets(MANIFEST_TARGETS, SEED_DEPLOYMENT_SPEC);

/**
 * A throwaway CA certificate, test data only: generated once with `openssl req -x509 -newkey ec -pkeyopt
 * ec_paramgen_curve:prime256v1 -nodes -days 36500 -subj "/CN=Salescale manifests-env.test throwaway CA"`, its key
 * discarded at once. It stands for the PEM DigitalOcean's `${db.CA_CERT}` binding fills in (the cluster's own CA),
 * so the DigitalOcean roles' DATABASE_CA_CERT goes through the config's PEM parsing like a real one.
 */
const THROWAWAY_CA_CERT = `-----BEGIN CERTIFICATE-----
MIIBvjCCAWWgAwIBAgIUXQdiQYC+ZR2SICJL90Q7uLamJr8wCgYIKoZIzj0EAwIw
NDEyMDAGA1UEAwwpU2FsZXNjYWxlIG1hbmlmZXN0cy1lbnYudGVzdCB0aHJvd2F3
YXkgQ0EwIBcNMjYxMjA1MTI1MTAzWhgPMjEyNjExMTExMjUxMDNaMDQxMjAwBgNV
BAMMKVNhbGVzY2FsZSBtYW5pZmVzdHMtZW52LnRlc3QgdGhyb3dhd2F5IENBMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEt3x0I4igZ6OAnkyXwDP5NLjAuSLYC8CA
4JiXTXVAqUzRVhEUS6eWRZz7CARf+TC3wd3YtUwIxzhPSEEs8cNEnaNTMFEwHQYD
VR0OBBYEFNgPXQOKtKuFOciJB7Ut1o2GzTHuMB8GA1UdIwQYMBaAFNgPXQOKtKuF
OciJB7Ut1o2GzTHuMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg
ALyU+BHDS3LdTwpkjCtxMNqZfxH0vgvMEl/xQUnoNe4CIEAx2RyHr9CGLkEHeU3u
qr2YgfJtrSrlNhUaEJzw6twh
-----END CERTIFICATE-----
`;

/** Values a platform fills in at deploy time (secrets, service bindings, `${…}` interpolation). */
const SAMPLES: Env = {
  DATABASE_URL: 'postgres://salescale:secret@db.internal:5432/salescale',
  DATABASE_REPLICA_URL: 'postgres://salescale:secret@replica.internal:5432/salescale',
  REDIS_URL: 'redis://queue.internal:6379',
  CACHE_REDIS_URL: 'redis://cache.internal:6379',
  ADMIN_API_TOKEN: 'a'.repeat(24),
  SESSION_SECRET: 's'.repeat(40),
  SMTP_URL: 'smtp://mail.internal:25',
  STRIPE_SECRET_KEY: 'sk_live_from_the_platform',
  STRIPE_WEBHOOK_SECRET: 'whsec_from_the_platform',
  INSTANCE_ID: 'instance-1',
  DATABASE_CA_CERT: THROWAWAY_CA_CERT,
};

function resolve(env: Env): Env {
  // `${…}`, `$(…)`, or `$NAME` (a shell variable a boot script read the secret into).
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /\$[{(A-Z]/.test(v) ? (SAMPLES[k] ?? '') : v]));
}

function k8sEnv(name: string): Env {
  const o = getK8sObjects(files).find((x) => x.metadata?.name === name) as Obj;
  const container = (o.spec.template.spec.containers as Obj[])[0];
  return Object.fromEntries((container.env as Obj[]).map((e) => [e.name, e.value ?? SAMPLES[e.name] ?? 'from-the-platform']));
}

function awsEnv(launchTemplate: string): Env {
  const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;
  const script: string = template.Resources[launchTemplate].Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0];
  const body = script.split('<<ENV\n')[1].split('\nENV\n')[0];
  return resolve(Object.fromEntries(body.split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])));
}

function doEnv(component: Obj): Env {
  return resolve(Object.fromEntries((component.envs as Obj[]).map((e) => [e.key, e.value ?? '$(set by the platform)'])));
}

/** The lines and the arguments of an ARM `[base64(format('…', a0, a1, …))]` expression (the VMs' cloud-init). */
function readArmFormat(expression: string): { lines: string[]; args: string[] } {
  const m = /^\[base64\(format\('((?:[^']|'')*)', (.*)\)\)\]$/s.exec(expression);
  assert.ok(m, expression.slice(0, 80));
  const [, literal = '', rest = ''] = m;
  const args: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of rest) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === ',') {
      args.push(current.trim());
      current = '';
    } else current += ch;
  }
  args.push(current.trim());
  return { lines: literal.replace(/''/g, "'").split('\n'), args };
}

/** Every role's environment on every platform, as the process would see it. */
function getRoleEnvironments(): [string, Env][] {
  const compose = getObject(files, 'deploy/compose/docker-compose.yml') as Obj;
  const swarm = getObject(files, 'deploy/swarm/stack.yml') as Obj;
  const heroku = getObject(files, 'app.json') as Obj;
  const herokuEnv = resolve(Object.fromEntries(Object.entries(heroku.env as Obj).map(([k, v]) => [k, v.value ?? '$(generated by Heroku)'])));
  const doApp = getObject(files, '.do/app.yaml') as Obj;
  return [
    ['k8s web', k8sEnv('salescale-web')],
    ['k8s worker', k8sEnv('salescale-worker')],
    ['k8s migrate', k8sEnv('salescale-migrate')],
    ...(['web-1', 'worker', 'migrate'] as const).map((s): [string, Env] => [`compose ${s}`, resolve(compose.services[s].environment)]),
    ...(['web', 'worker', 'migrate'] as const).map((s): [string, Env] => [`swarm ${s}`, resolve(swarm.services[s].environment)]),
    ['aws web', awsEnv('WebLaunchTemplate')],
    ['aws worker', awsEnv('WorkerLaunchTemplate')],
    // Heroku sets PORT itself and <as>_URL of every add-on (DATABASE_URL, REDIS_URL, …).
    ['heroku dynos', { ...herokuEnv, PORT: '5000', ...Object.fromEntries((heroku.addons as Obj[]).map((a) => [`${a.as}_URL`, SAMPLES[`${a.as}_URL`] ?? `redis://${a.as}.internal:6379`])) }],
    ['do web', doEnv(doApp.services[0])],
    ['do worker', doEnv(doApp.workers[0])],
    ['do migrate', doEnv(doApp.jobs[0])],
  ];
}

describe('the environment every platform gives each role', () => {
  const environments = getRoleEnvironments();

  it('names only variables the app reads (a typo would be silently ignored at boot)', () => {
    const known = new Set(Object.keys(envSchema));
    for (const [where, env] of environments) {
      const unknown = Object.keys(env).filter((k) => !known.has(k));
      assert.deepEqual(unknown, [], `${where}: ${unknown.join(', ')}`);
    }
  });

  it('gives the migration only what `salescale migrate` reads (pool size, log level, Redis prefix and instance name suggested settings it ignores)', () => {
    for (const [where, env] of environments.filter(([w]) => w.endsWith('migrate'))) {
      assert.deepEqual(Object.keys(env).filter((k) => !['NODE_ENV', 'DATABASE_URL', 'PGSSLMODE', 'DATABASE_CA_CERT'].includes(k)), [], where);
    }
  });

  it('parses with the app\u2019s own config loaders in production mode; the migration gets no app secrets', () => {
    for (const [where, env] of environments) {
      assert.equal(env.NODE_ENV, 'production', where);
      if (where.endsWith('migrate')) {
        assert.match(loadMigrationConfig(env).databaseUrl, /^postgres:\/\//, where);
        assert.equal(env.ADMIN_API_TOKEN, undefined, where);
        assert.equal(env.SESSION_SECRET, undefined, where);
      } else assert.doesNotThrow(() => loadConfig(env), where);
    }
  });

  it('gives the Google Cloud and Azure VMs an environment file the app\u2019s config loader accepts in production', async () => {
    // The lines of the env file each startup script writes; `$NAME`, `${…}` and ARM's `{N}` are filled in at boot (samples here).
    const heredoc = (lines: string[]): Env => {
      const body = lines.slice(lines.findIndex((line) => /^cat > \/etc\/salescale\.env <<'?ENV'?$/.test(line)) + 1, lines.indexOf('ENV'));
      const env = Object.fromEntries(body.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      // TRUST_PROXY: the literal ranges (the load balancer's own address is interpolated at apply time).
      if (env.TRUST_PROXY !== undefined) env.TRUST_PROXY = env.TRUST_PROXY.split(',').filter((entry) => !entry.includes('${')).join(',');
      // SHOP_URL: the Terraform's domain variable at its default, the spec's host.
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Terraform's interpolation of the domain variable.
      if (env.SHOP_URL !== undefined) env.SHOP_URL = env.SHOP_URL.replace('${var.domain}', SEED_DEPLOYMENT_SPEC.web.host);
      return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, /\$[{(A-Z]|\{\d+\}/.test(v) ? (SAMPLES[k] ?? `redis://${k.toLowerCase()}.internal:6379`) : v]));
    };
    const tf = await parseTerraform(files);
    const arm = JSON.parse(getFile(files, 'deploy/azure/salescale.json').content) as Obj;
    const scaleSets = (arm.resources as Obj[]).filter((r) => r.type === 'Microsoft.Compute/virtualMachineScaleSets');
    const vms: [string, Env][] = [
      ...(['web', 'worker'] as const).map((role): [string, Env] => [`gcp ${role}`, heredoc((tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n'))]),
      ...scaleSets.map((set): [string, Env] => [`azure ${set.name}`, heredoc(readArmFormat(set.properties.virtualMachineProfile.osProfile.customData).lines)]),
    ];
    assert.equal(vms.length, 4);
    const known = new Set(Object.keys(envSchema));
    for (const [where, env] of vms) {
      assert.deepEqual(Object.keys(env).filter((k) => !known.has(k)), [], where);
      assert.equal(env.NODE_ENV, 'production', where);
      const config = loadConfig(env);
      assert.equal(config.payments.provider, 'stripe', where);
      assert.equal(config.mail.shopUrl, `https://${SEED_DEPLOYMENT_SPEC.web.host}`, where);
    }
  });

  it('gives every DigitalOcean role the cluster\u2019s CA (its db.CA_CERT binding), which the config loaders parse as a PEM certificate', () => {
    const doRoles = environments.filter(([w]) => w.startsWith('do '));
    assert.deepEqual(doRoles.map(([w]) => w), ['do web', 'do worker', 'do migrate']);
    for (const [where, env] of doRoles) {
      const caCert = where.endsWith('migrate') ? loadMigrationConfig(env).caCert : loadConfig(env).db.caCert;
      assert.equal(caCert, THROWAWAY_CA_CERT, `${where}: DATABASE_CA_CERT`);
    }
  });

  it('gives every web and worker role PAYMENT_PROVIDER=stripe and the Stripe keys from the platform\u2019s secrets (without them the test provider, refused in production, refused every payment; the worker gives money back through the provider too)', () => {
    const roles = environments.filter(([w]) => !w.endsWith('migrate'));
    assert.deepEqual(roles.map(([w]) => w), ['k8s web', 'k8s worker', 'compose web-1', 'compose worker', 'swarm web', 'swarm worker', 'aws web', 'aws worker', 'heroku dynos', 'do web', 'do worker']);
    for (const [where, env] of roles) {
      const { payments } = loadConfig(env);
      assert.equal(payments.provider, 'stripe', `${where}: PAYMENT_PROVIDER ${JSON.stringify(env.PAYMENT_PROVIDER)}`);
      // A sample value means the platform fills it in from a secret: a literal in the file would differ.
      assert.equal(payments.stripe?.secretKey, SAMPLES.STRIPE_SECRET_KEY, `${where}: STRIPE_SECRET_KEY ${JSON.stringify(env.STRIPE_SECRET_KEY)}`);
      assert.equal(payments.stripe?.webhookSecret, SAMPLES.STRIPE_WEBHOOK_SECRET, `${where}: STRIPE_WEBHOOK_SECRET ${JSON.stringify(env.STRIPE_WEBHOOK_SECRET)}`);
    }
    const stripeKeys = ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'];
    for (const name of ['salescale-web', 'salescale-worker']) {
      const o = getK8sObjects(files).find((x) => x.metadata?.name === name) as Obj;
      const env = (o.spec.template.spec.containers as Obj[])[0].env as Obj[];
      for (const key of stripeKeys) assert.ok(env.find((e) => e.name === key)?.valueFrom?.secretKeyRef, `k8s ${name}: ${key} from the Secret`);
    }
    const compose = getObject(files, 'deploy/compose/docker-compose.yml') as Obj;
    const swarm = getObject(files, 'deploy/swarm/stack.yml') as Obj;
    for (const [where, env] of [['compose web-1', compose.services['web-1'].environment], ['compose worker', compose.services.worker.environment], ['swarm web', swarm.services.web.environment], ['swarm worker', swarm.services.worker.environment]] as [string, Env][]) {
      for (const key of stripeKeys) assert.ok(env[key]?.startsWith(`\${${key}:?`), `${where}: ${key} ${JSON.stringify(env[key])} is not required from the shell`);
    }
    const heroku = getObject(files, 'app.json') as Obj;
    for (const key of stripeKeys) assert.deepEqual([heroku.env[key]?.value, heroku.env[key]?.required], [undefined, true], `heroku: ${key} asked for at deploy, never written in app.json`);
    const doApp = getObject(files, '.do/app.yaml') as Obj;
    for (const component of [doApp.services[0], doApp.workers[0]]) {
      for (const key of stripeKeys) assert.equal((component.envs as Obj[]).find((e) => e.key === key)?.type, 'SECRET', `do ${component.name}: ${key}`);
    }
  });

  it('names the Stripe webhook endpoint the app serves when it asks for its signing secret (under /api/v1: Stripe pointed at /payments/webhooks/stripe got 404, and no payment was ever confirmed)', () => {
    const heroku = getObject(files, 'app.json') as Obj;
    const description = String(heroku.env.STRIPE_WEBHOOK_SECRET?.description);
    const endpoint = /\/\S*webhooks\/stripe/.exec(description)?.[0];
    assert.equal(endpoint, '/api/v1/payments/webhooks/stripe', `heroku: ${description}`);
  });

  it('gives the Google Cloud and Azure web and worker VMs PAYMENT_PROVIDER=stripe and the Stripe keys from Secret Manager / secure parameters', async () => {
    const tf = await parseTerraform(files);
    for (const role of ['web', 'worker'] as const) {
      const lines = (tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n');
      assert.ok(lines.includes('PAYMENT_PROVIDER=stripe'), `gcp ${role}: PAYMENT_PROVIDER`);
      for (const [key, secret] of [['STRIPE_SECRET_KEY', 'stripe_secret_key'], ['STRIPE_WEBHOOK_SECRET', 'stripe_webhook_secret']]) {
        const read = lines.find((l) => l.startsWith(`${key}=$(secret `));
        assert.equal(read, `${key}=$(secret \${google_secret_manager_secret.${secret}.secret_id})`, `gcp ${role}: ${key} read from Secret Manager`);
        assert.ok(lines.indexOf(read) < lines.indexOf('cat > /etc/salescale.env <<ENV'), `gcp ${role}: ${key} read before the env file (a failed read inside the heredoc would not stop the script)`);
        assert.ok(lines.includes(`${key}=$${key}`), `gcp ${role}: ${key} in the env file`);
        assert.ok(tf.resource.google_secret_manager_secret[secret], `gcp: secret ${secret}`);
        assert.ok(tf.resource.google_secret_manager_secret_iam_member[secret], `gcp: the VMs may read ${secret}`);
      }
    }
    const arm = JSON.parse(getFile(files, 'deploy/azure/salescale.json').content) as Obj;
    for (const parameter of ['stripeSecretKey', 'stripeWebhookSecret']) assert.equal(arm.parameters[parameter]?.type, 'securestring', `azure: ${parameter}`);
    const scaleSets = (arm.resources as Obj[]).filter((r) => r.type === 'Microsoft.Compute/virtualMachineScaleSets');
    assert.equal(scaleSets.length, 2);
    for (const scaleSet of scaleSets) {
      const { lines, args } = readArmFormat(scaleSet.properties.virtualMachineProfile.osProfile.customData);
      assert.ok(lines.includes('PAYMENT_PROVIDER=stripe'), `azure ${scaleSet.name}: PAYMENT_PROVIDER`);
      for (const [key, parameter] of [['STRIPE_SECRET_KEY', 'stripeSecretKey'], ['STRIPE_WEBHOOK_SECRET', 'stripeWebhookSecret']]) {
        const index = /^\{(\d+)\}$/.exec(lines.find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1) ?? '')?.[1];
        assert.ok(index !== undefined, `azure ${scaleSet.name}: ${key} is not a format() argument`);
        assert.equal(args[Number(index)], `parameters('${parameter}')`, `azure ${scaleSet.name}: ${key}`);
      }
    }
  });

  it('gives every worker a mail server from the platform\u2019s secrets (SMTP_URL) and the spec\u2019s sender (MAIL_FROM): without SMTP_URL a production worker wrote each email as a file inside its container, and no buyer got a confirmation or a payment-returned notice', async () => {
    const workers = environments.filter(([w]) => w.endsWith('worker') || w.startsWith('heroku'));
    assert.deepEqual(workers.map(([w]) => w), ['k8s worker', 'compose worker', 'swarm worker', 'aws worker', 'heroku dynos', 'do worker']);
    for (const [where, env] of workers) {
      const { mail } = loadConfig(env);
      // compose is the local stack: its mail catcher. Elsewhere a sample value means the platform fills it in from a secret.
      assert.equal(mail.smtpUrl, where.startsWith('compose') ? 'smtp://mailpit:1025' : SAMPLES.SMTP_URL, `${where}: SMTP_URL ${JSON.stringify(env.SMTP_URL)}`);
      assert.equal(mail.from, SEED_DEPLOYMENT_SPEC.mail.from, `${where}: MAIL_FROM ${JSON.stringify(env.MAIL_FROM)}`);
    }
    const worker = getK8sObjects(files).find((x) => x.metadata?.name === 'salescale-worker') as Obj;
    assert.ok(((worker.spec.template.spec.containers as Obj[])[0].env as Obj[]).find((e) => e.name === 'SMTP_URL')?.valueFrom?.secretKeyRef, 'k8s worker: SMTP_URL from the Secret');
    const swarm = getObject(files, 'deploy/swarm/stack.yml') as Obj;
    assert.ok(String(swarm.services.worker.environment.SMTP_URL).startsWith('${SMTP_URL:?'), `swarm worker: SMTP_URL ${swarm.services.worker.environment.SMTP_URL} is not required from the shell (empty, every email became a file)`);
    const heroku = getObject(files, 'app.json') as Obj;
    assert.deepEqual([heroku.env.SMTP_URL?.value, heroku.env.SMTP_URL?.required], [undefined, true], 'heroku: SMTP_URL asked for at deploy');
    const doApp = getObject(files, '.do/app.yaml') as Obj;
    assert.equal((doApp.workers[0].envs as Obj[]).find((e) => e.key === 'SMTP_URL')?.type, 'SECRET', 'do worker: SMTP_URL');
    const tf = await parseTerraform(files);
    const gcpWorker = (tf.resource.google_compute_instance_template.worker[0].metadata['startup-script'] as string).split('\n');
    assert.ok(gcpWorker.includes(`SMTP_URL=$(secret \${google_secret_manager_secret.smtp_url.secret_id})`), 'gcp worker: SMTP_URL read from Secret Manager');
    assert.ok(gcpWorker.includes('SMTP_URL=$SMTP_URL') && gcpWorker.includes(`MAIL_FROM=${SEED_DEPLOYMENT_SPEC.mail.from}`), 'gcp worker: SMTP_URL and MAIL_FROM in the env file');
    assert.ok(tf.resource.google_secret_manager_secret_iam_member.smtp_url, 'gcp: the VMs may read smtp_url');
    const arm = JSON.parse(getFile(files, 'deploy/azure/salescale.json').content) as Obj;
    assert.equal(arm.parameters.smtpUrl?.type, 'securestring', 'azure: smtpUrl');
    const azureWorker = (arm.resources as Obj[]).find((r) => r.type === 'Microsoft.Compute/virtualMachineScaleSets' && String(r.name).includes('worker')) as Obj;
    const { lines, args } = readArmFormat(azureWorker.properties.virtualMachineProfile.osProfile.customData);
    const index = /^\{(\d+)\}$/.exec(lines.find((l) => l.startsWith('SMTP_URL='))?.slice('SMTP_URL='.length) ?? '')?.[1];
    assert.equal(index === undefined ? undefined : args[Number(index)], "parameters('smtpUrl')", 'azure worker: SMTP_URL');
    assert.ok(lines.includes(`MAIL_FROM=${SEED_DEPLOYMENT_SPEC.mail.from}`), 'azure worker: MAIL_FROM');
  });

  it('gives every web and worker role the shop\u2019s public address as SHOP_URL (without it the "payment returned" email named no address, and a proxy that rewrites Host had browsers\u2019 cart changes refused as cross-site)', async () => {
    const roles = environments.filter(([w]) => !w.endsWith('migrate'));
    assert.deepEqual(roles.map(([w]) => w), ['k8s web', 'k8s worker', 'compose web-1', 'compose worker', 'swarm web', 'swarm worker', 'aws web', 'aws worker', 'heroku dynos', 'do web', 'do worker']);
    const shopUrl = `https://${SEED_DEPLOYMENT_SPEC.web.host}`;
    for (const [where, env] of roles) {
      // compose is the local stack: the address its load balancer is published on, which nginx's Host (no port) does not carry.
      const want = where.startsWith('compose') ? COMPOSE_SHOP_URL : shopUrl;
      assert.equal(loadConfig(env).mail.shopUrl, want, `${where}: SHOP_URL ${JSON.stringify(env.SHOP_URL)}`);
    }
    const tf = await parseTerraform(files);
    // Google Cloud: from var.domain, the certificate's host, which defaults to the spec's.
    assert.equal(tf.variable.domain[0].default, SEED_DEPLOYMENT_SPEC.web.host);
    for (const role of ['web', 'worker'] as const) {
      const lines = (tf.resource.google_compute_instance_template[role][0].metadata['startup-script'] as string).split('\n');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Terraform's interpolation of the domain variable.
      assert.ok(lines.includes('SHOP_URL=https://${var.domain}'), `gcp ${role}: SHOP_URL`);
    }
    const arm = JSON.parse(getFile(files, 'deploy/azure/salescale.json').content) as Obj;
    const scaleSets = (arm.resources as Obj[]).filter((r) => r.type === 'Microsoft.Compute/virtualMachineScaleSets');
    assert.equal(scaleSets.length, 2);
    for (const scaleSet of scaleSets) assert.ok(readArmFormat(scaleSet.properties.virtualMachineProfile.osProfile.customData).lines.includes(`SHOP_URL=${shopUrl}`), `azure ${scaleSet.name}: SHOP_URL`);
  });

  it('serves SHOP_URL\u2019s host where the platform names its own (App Platform\u2019s domains) and asks for SHOP_URL on Heroku\u2019s deploy form (else emails link to a host the app does not answer on)', () => {
    const doApp = getObject(files, '.do/app.yaml') as Obj;
    assert.deepEqual(doApp.domains, [{ domain: SEED_DEPLOYMENT_SPEC.web.host, type: 'PRIMARY' }], 'do: the spec\u2019s host is not the app\u2019s domain');
    const heroku = getObject(files, 'app.json') as Obj;
    assert.match(String(heroku.env.SHOP_URL?.description), /herokuapp\.com/, 'heroku: SHOP_URL has no description saying which address to give');
  });

  it('gives the cache a Redis of its own in every web and worker role (sharing the noeviction queue Redis, a sale\u2019s cache fills it and its writes are refused: jobs, sessions and checkouts stop)', () => {
    for (const [where, env] of environments.filter(([w]) => !w.endsWith('migrate'))) {
      assert.ok(env.REDIS_URL, `${where}: REDIS_URL`);
      assert.ok(env.CACHE_REDIS_URL, `${where}: CACHE_REDIS_URL is not set, so the cache shares the queue Redis`);
      assert.notEqual(env.CACHE_REDIS_URL, env.REDIS_URL, where);
    }
  });

  it('keeps /metrics off the public port of every web role, and scrapes it where it is served', () => {
    for (const [where, env] of environments.filter(([w]) => w.endsWith(' web') || w.endsWith('web-1') || w.startsWith('heroku'))) {
      const { observability } = loadConfig(env);
      assert.equal(observability.metricsPublic, false, where);
      if (!where.startsWith('heroku') && !where.startsWith('do')) assert.equal(observability.metricsPort, SEED_DEPLOYMENT_SPEC.web.metricsPort, where);
    }
    const web = getFile(files, 'deploy/k8s/base/web-deployment.yaml').content;
    assert.match(web, new RegExp(`prometheus.io/port: "${SEED_DEPLOYMENT_SPEC.web.metricsPort}"`));
    assert.match(getFile(files, 'deploy/compose/prometheus.yml').content, new RegExp(`web-1:${SEED_DEPLOYMENT_SPEC.web.metricsPort}`));
  });

  it('gives the web role the pool size, drain timings and port of the spec', () => {
    const spec = SEED_DEPLOYMENT_SPEC;
    for (const [where, env] of environments.filter(([w]) => w.endsWith(' web') || w.endsWith('web-1'))) {
      const config = loadConfig(env);
      assert.equal(config.db.poolMax, spec.web.dbPoolMax, where);
      assert.equal(config.shutdown.timeoutMs, spec.drain.shutdownTimeoutSeconds * 1000, where);
      if (!where.startsWith('do')) assert.equal(Number(env.PORT), spec.web.port, where);
    }
    assert.ok(getFile(files, 'Procfile').content.includes('release: node src/main.ts migrate'));
  });

  it('gives every web role the pod capacity the plan sizes pods with, as WAITING_ROOM_CAPACITY_RPS (without it the image guessed 200/s)', () => {
    const webRoles = environments.filter(([w]) => w.endsWith(' web') || w.endsWith('web-1') || w.startsWith('heroku'));
    assert.deepEqual(webRoles.map(([w]) => w), ['k8s web', 'compose web-1', 'swarm web', 'aws web', 'heroku dynos', 'do web']);
    const rps = SEED_DEPLOYMENT_SPEC.web.capacityPerInstanceRps;
    for (const [where, env] of webRoles) assert.equal(loadConfig(env).waitingRoom.capacityRps, rps, where);
    const compose = getObject(files, 'deploy/compose/docker-compose.yml') as Obj;
    const composeWeb = Object.keys(compose.services).filter((name) => name.startsWith('web-'));
    assert.equal(composeWeb.length, SEED_DEPLOYMENT_SPEC.web.composeInstances);
    for (const name of composeWeb) assert.equal(compose.services[name].environment.WAITING_ROOM_CAPACITY_RPS, String(rps), name);
    // Google Cloud and Azure write the web VMs' environment file from their startup script.
    for (const path of ['deploy/gcp/main.tf', 'deploy/azure/salescale.json']) assert.ok(getFile(files, path).content.includes(`WAITING_ROOM_CAPACITY_RPS=${rps}\\n`), path);
  });

  it('believes X-Forwarded-For from the proxy in front of each web role that has one (else every shopper shares its address: one rate-limit budget, one guest waiting-room ticket)', () => {
    /** Where each target's web role learns the shopper's address, for every target the generator supports. */
    const expected: Record<string, { proxy: string } | { hops: number } | { header: string } | { none: string }> = {
      // A representative address the proxy connects from: an ingress-nginx pod (pod CIDR), an ALB node (VPC subnet), nginx on the compose network.
      'k8s web': { proxy: '10.244.3.17' },
      'aws web': { proxy: '10.0.1.23' },
      'compose web-1': { proxy: '172.28.0.10' },
      // A Google front end (its ranges; main.tf also lists the load balancer's own address, checked in manifests-clouds).
      'gcp web': { proxy: '35.191.7.8' },
      // Heroku's router has no fixed address range; it appends the address it saw, and a dyno is reachable only through it.
      'heroku dynos': { hops: 1 },
      // An Application Gateway v2 instance in its dedicated subnet (TLS ends there; it appends the client to X-Forwarded-For).
      'azure web': { proxy: '10.20.17.6' },
      'swarm web': { none: 'host-mode publishing: the client (or an L4 balancer keeping its address) connects directly; a proxy that appends needs TRUST_PROXY set by hand' },
      // App Platform names the client in a header of its own, not at a known X-Forwarded-For position.
      'do web': { header: 'do-connecting-ip' },
    };
    const gcpScript = getFile(files, 'deploy/gcp/main.tf').content;
    const azure = getFile(files, 'deploy/azure/salescale.json').content;
    const scriptEnv = (text: string): Env => {
      const line = /TRUST_PROXY=([^\\\n]*)/.exec(text)?.[1];
      // The load balancer's own address is interpolated at apply time: only the literal ranges are checked here.
      return line === undefined ? {} : { TRUST_PROXY: line.split(',').filter((entry) => !entry.includes('${')).join(',') };
    };
    const all: [string, Env][] = [...environments, ['gcp web', scriptEnv(gcpScript)], ['azure web', scriptEnv(azure)]];
    const webRoles = all.filter(([w]) => w.endsWith(' web') || w.endsWith('web-1') || w.startsWith('heroku')).map(([w]) => w);
    assert.deepEqual(webRoles.toSorted(), Object.keys(expected).toSorted(), 'every target\u2019s web role is in the table');
    for (const [where, want] of Object.entries(expected)) {
      const env = all.find(([w]) => w === where)?.[1];
      assert.ok(env, where);
      if ('none' in want) {
        assert.equal(env.TRUST_PROXY, undefined, `${where}: ${want.none}`);
        continue;
      }
      // The samples fill in what the scripts' environments leave to the platform; a CA is DigitalOcean's alone (beside
      // Heroku's PGSSLMODE=no-verify it is a configuration error).
      const { DATABASE_CA_CERT: _ca, ...samples } = SAMPLES;
      const { trustProxy: trust, clientAddressHeader } = loadConfig({ ...samples, ...env, NODE_ENV: 'test' }).http;
      if ('header' in want) {
        assert.equal(clientAddressHeader, want.header, `${where}: CLIENT_ADDRESS_HEADER ${JSON.stringify(env.CLIENT_ADDRESS_HEADER)}`);
        assert.deepEqual(trust, [], `${where}: TRUST_PROXY ${JSON.stringify(env.TRUST_PROXY)}`);
        continue;
      }
      if ('hops' in want) {
        assert.equal(trust, want.hops, `${where}: TRUST_PROXY ${JSON.stringify(env.TRUST_PROXY)} is not the router's hop count`);
        continue;
      }
      assert.ok(Array.isArray(trust), `${where}: TRUST_PROXY ${JSON.stringify(env.TRUST_PROXY)}`);
      const trusted = new BlockList();
      for (const entry of trust) {
        const [address = '', bits] = entry.split('/');
        const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
        if (bits === undefined) trusted.addAddress(address, type);
        else trusted.addSubnet(address, Number(bits), type);
      }
      assert.ok(trusted.check(want.proxy, 'ipv4'), `${where}: TRUST_PROXY ${JSON.stringify(env.TRUST_PROXY)} does not cover the proxy at ${want.proxy}`);
    }
  });

  it('stops an AWS instance\u2019s boot when the app secret lacks a key, rather than starting the app with the text "null" as that secret (jq -r prints null for a missing key, and a read inside the env file\u2019s heredoc does not stop the script)', () => {
    const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;
    for (const lt of ['WebLaunchTemplate', 'WorkerLaunchTemplate']) {
      const lines: string[] = template.Resources[lt].Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0].split('\n');
      const heredoc = lines.indexOf('cat > /etc/salescale.env <<ENV');
      const reads = lines.filter((l) => l.includes('"$APP_SECRET"'));
      assert.ok(reads.length >= 4, lt);
      for (const read of reads) {
        assert.ok(lines.indexOf(read) < heredoc, `${lt}: ${read} is read inside the env file`);
        assert.match(read, /^[A-Z_]+=\$\(jq -er \.[A-Z_]+ <<<"\$APP_SECRET"\)$/, lt);
      }
      // The reads as the instance runs them, with a secret that lacks its last key.
      const names = reads.map((l) => l.slice(0, l.indexOf('=')));
      const secret = JSON.stringify(Object.fromEntries(names.slice(0, -1).map((n) => [n, 'x'.repeat(40)])));
      const run = spawnSync('bash', ['-c', ['set -euo pipefail', `APP_SECRET='${secret}'`, ...reads, 'echo started'].join('\n')], { encoding: 'utf8' });
      assert.notEqual(run.status, 0, `${lt}: booted without ${names.at(-1)}`);
      assert.doesNotMatch(run.stdout, /started/, lt);
    }
  });

  it('connects to RDS over verified TLS: RDS for PostgreSQL 15+ refuses unencrypted connections (rds.force_ssl defaults to 1), and pg does no TLS unless the URL asks', () => {
    const template = getObject(files, 'deploy/aws/salescale.yaml') as Obj;
    for (const lt of ['WebLaunchTemplate', 'WorkerLaunchTemplate']) {
      const script: string = template.Resources[lt].Properties.LaunchTemplateData.UserData['Fn::Base64']['Fn::Sub'][0];
      // The URLs as written (awsEnv replaces the interpolated ones with samples).
      const env: Env = Object.fromEntries(script.split('\n').filter((l) => l.startsWith('DATABASE_')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      assert.ok(env.DATABASE_URL, lt);
      for (const name of ['DATABASE_URL', 'DATABASE_REPLICA_URL'].filter((n) => env[n] !== undefined)) {
        const params = new URLSearchParams(env[name]!.split('?')[1] ?? '');
        assert.equal(params.get('sslmode'), 'verify-full', `${lt} ${name}: ${env[name]}`);
        // Node does not trust the RDS CAs: the bundle is fetched at boot and mounted where the URL names it.
        const ca = params.get('sslrootcert');
        assert.ok(ca, `${lt} ${name} names no sslrootcert`);
        assert.ok(script.includes(`https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem -o ${ca}`), `${lt}: the RDS CA bundle is not fetched to ${ca}`);
        for (const run of script.split('\n').filter((l) => l.startsWith('docker run'))) assert.ok(run.includes(`-v ${ca}:${ca}:ro`), `${lt}: ${run}`);
      }
    }
  });
});
