/**
 * The environment every platform gives each role, from the spec: ports, pool sizes, drain timings.
 * Secrets and service addresses are platform-specific and added by each renderer.
 */
import type { DeploymentSpec } from './deployment-spec.ts';

export type Role = 'web' | 'worker' | 'migrate';

/** `salescale <role>` subcommand of each role. */
export const ROLE_SUBCOMMAND: Record<Role, string> = { web: 'serve', worker: 'worker', migrate: 'migrate' };

/**
 * The command line of a role in the one image (no ENTRYPOINT, so every platform's "command" field
 * means the same thing: the whole argv). Node 24 runs the TypeScript sources by type stripping.
 */
export function getRoleArgv(role: Role): string[] {
  return ['node', 'src/main.ts', ROLE_SUBCOMMAND[role]];
}

/** The shop's public address: the host of the Ingress / load balancer, over HTTPS. */
export function getShopUrl(spec: DeploymentSpec): string {
  return `https://${spec.web.host}`;
}

/** Plain (non-secret) variables of a role, in a stable order. */
export function getRoleEnv(spec: DeploymentSpec, role: Role): Record<string, string> {
  // `salescale migrate` reads DATABASE_URL (and PGSSLMODE) only: one connection, no logger, no Redis.
  if (role === 'migrate') return { NODE_ENV: 'production' };
  // Both roles call the payment provider (web: payments and webhooks; worker: voids and refunds owed back). Unset, the
  // test provider is the default, which production refuses: every payment was refused with 403.
  // SHOP_URL, the address browsers use: the worker links it from the "payment returned" email (unset, the email names no
  // address), and the web role counts its origin as our own in the cross-site request check (a proxy may rewrite Host).
  const common = { NODE_ENV: 'production', LOG_LEVEL: 'info', REDIS_PREFIX: spec.worker.redisPrefix, PAYMENT_PROVIDER: spec.payments.provider, SHOP_URL: getShopUrl(spec) };
  const drain = { SHUTDOWN_DRAIN_DELAY_MS: String(spec.drain.drainDelaySeconds * 1000), SHUTDOWN_TIMEOUT_MS: String(spec.drain.shutdownTimeoutSeconds * 1000) };
  if (role === 'web') {
    // The waiting room derives its admission rate from the pod's capacity: the figure the plan sized the pods with.
    const capacity = { WAITING_ROOM_CAPACITY_RPS: String(spec.web.capacityPerInstanceRps) };
    return { ...common, HOST: '0.0.0.0', PORT: String(spec.web.port), METRICS_PORT: String(spec.web.metricsPort), DB_POOL_MAX: String(spec.web.dbPoolMax), KEEP_ALIVE_TIMEOUT_MS: String(spec.keepAliveTimeoutSeconds * 1000), ...capacity, ...drain };
  }
  return { ...common, WORKER_PORT: String(spec.worker.port), DB_POOL_MAX: String(spec.worker.dbPoolMax), MAIL_FROM: spec.mail.from, ...drain };
}

/** The secret variables of each payment provider, read by the payments config of every web and worker process. */
export const PAYMENT_SECRET_NAMES = { stripe: ['STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET'] } as const;
export type PaymentSecretName = (typeof PAYMENT_SECRET_NAMES)[DeploymentSpec['payments']['provider']][number];

/**
 * The provider's secrets a role needs, which each renderer passes as it passes SESSION_SECRET (never a value in the
 * files). Web and worker alike: the config refuses to boot either role without them once the provider is set.
 */
export function getPaymentSecretNames(spec: DeploymentSpec, role: Role): readonly PaymentSecretName[] {
  return role === 'migrate' ? [] : PAYMENT_SECRET_NAMES[spec.payments.provider];
}

/** The mail server: the worker alone sends email. Its URL holds the server's credentials. */
export const MAIL_SECRET_NAMES = ['SMTP_URL'] as const;
export type RoleSecretName = PaymentSecretName | (typeof MAIL_SECRET_NAMES)[number];

/**
 * The secrets of a role beyond ADMIN_API_TOKEN, SESSION_SECRET and the service addresses: the payment provider's keys
 * (web and worker) and the mail server (worker; without SMTP_URL a worker writes each email as a file where it runs).
 */
export function getRoleSecretNames(spec: DeploymentSpec, role: Role): readonly RoleSecretName[] {
  return [...getPaymentSecretNames(spec, role), ...(role === 'worker' ? MAIL_SECRET_NAMES : [])];
}

/** Those secrets of every role, once each: what a platform creates or asks for once for the whole deployment. */
export function getAllRoleSecretNames(spec: DeploymentSpec): RoleSecretName[] {
  return [...new Set([...getRoleSecretNames(spec, 'web'), ...getRoleSecretNames(spec, 'worker')])];
}

/** `250m` / `256Mi` (Kubernetes quantities). */
export function k8sCpu(millicores: number): string {
  return `${millicores}m`;
}
export function k8sMemory(mib: number): string {
  return `${mib}Mi`;
}
/** `'0.25'` / `256M` (compose / swarm). */
export function composeCpu(millicores: number): string {
  return String(millicores / 1000);
}
export function composeMemory(mib: number): string {
  return `${mib}M`;
}

/** TRUST_PROXY of a web role behind an L7 proxy that appends X-Forwarded-For (ingress-nginx, an ALB). */
export function getTrustProxyEnv(spec: DeploymentSpec): { TRUST_PROXY: string } {
  return { TRUST_PROXY: spec.web.trustedProxyCidrs.join(',') };
}
