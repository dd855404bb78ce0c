/**
 * Offline Terraform validation (no Terraform binary installs from the registries here): HashiCorp's
 * HCL parser (`@cdktf/hcl2json`, the Go parser compiled to WebAssembly) reads the file, then every
 * resource is checked against the provider schema committed in `schemas/` (hashicorp/google 6.50.0,
 * extracted from `@cdktf/provider-google`, see extract-terraform-schema.ts): unknown attributes and
 * blocks, missing required ones, single blocks given twice, literal types; references to undeclared
 * variables and resources; and the enum values and API limits the schema does not carry (the
 * autoscaler's modes and schedules). Test-time only: it loads a dev dependency.
 */
import { readFileSync } from 'node:fs';
import { parse } from '@cdktf/hcl2json';
import { parseGceCron } from '../../simulate/gce-schedules.ts';
import type { TfBlockSchema } from './schemas/extract-terraform-schema.ts';

type Json = Record<string, unknown>;

export interface TerraformSchema {
  source: string;
  provider: string;
  resources: Record<string, TfBlockSchema>;
}

export function loadGoogleSchema(): TerraformSchema {
  return JSON.parse(readFileSync(new URL('./schemas/terraform-google-6.50.0.json', import.meta.url), 'utf8')) as TerraformSchema;
}

const META_ARGUMENTS = new Set(['depends_on', 'count', 'for_each', 'provider', 'lifecycle', 'connection', 'provisioner']);

/** Allowed values the provider schema does not carry, from the Compute Engine / Cloud SQL / Memorystore API references. */
export const TF_ENUMS: Record<string, Record<string, readonly string[]>> = {
  google_compute_region_autoscaler: {
    'autoscaling_policy.mode': ['OFF', 'ONLY_SCALE_OUT', 'ON', 'ONLY_UP'],
    'autoscaling_policy.cpu_utilization.predictive_method': ['NONE', 'OPTIMIZE_AVAILABILITY'],
  },
  google_compute_backend_service: {
    load_balancing_scheme: ['EXTERNAL', 'INTERNAL_SELF_MANAGED', 'INTERNAL_MANAGED', 'EXTERNAL_MANAGED'],
    protocol: ['HTTP', 'HTTPS', 'HTTP2', 'TCP', 'SSL', 'GRPC', 'UNSPECIFIED', 'H2C'],
    'backend.balancing_mode': ['UTILIZATION', 'RATE', 'CONNECTION', 'CUSTOM_METRICS'],
  },
  google_compute_global_forwarding_rule: { load_balancing_scheme: ['EXTERNAL', 'EXTERNAL_MANAGED', 'INTERNAL_MANAGED', 'INTERNAL_SELF_MANAGED'] },
  google_compute_region_instance_group_manager: {
    'update_policy.type': ['OPPORTUNISTIC', 'PROACTIVE'],
    'update_policy.minimal_action': ['NONE', 'REFRESH', 'RESTART', 'REPLACE'],
    'update_policy.instance_redistribution_type': ['PROACTIVE', 'NONE'],
  },
  google_sql_database_instance: { 'settings.availability_type': ['REGIONAL', 'ZONAL'], 'settings.disk_type': ['PD_SSD', 'PD_HDD', 'HYPERDISK_BALANCED'] },
  google_redis_instance: {
    tier: ['BASIC', 'STANDARD_HA'],
    connect_mode: ['DIRECT_PEERING', 'PRIVATE_SERVICE_ACCESS'],
    'redis_configs.maxmemory-policy': ['volatile-lru', 'allkeys-lru', 'volatile-lfu', 'allkeys-lfu', 'volatile-random', 'allkeys-random', 'volatile-ttl', 'noeviction'],
  },
  google_monitoring_alert_policy: { combiner: ['AND', 'OR', 'AND_WITH_MATCHING_RESOURCE'], severity: ['CRITICAL', 'ERROR', 'WARNING'] },
};

const isExpression = (v: unknown) => typeof v === 'string' && v.startsWith('${') && v.endsWith('}');

function checkType(path: string, value: unknown, type: string, out: string[]): void {
  if (isExpression(value)) return;
  const ok =
    type === 'string' ? typeof value === 'string' : type === 'number' ? typeof value === 'number' : type === 'bool' ? typeof value === 'boolean' : type === 'list' ? Array.isArray(value) : type === 'map' ? typeof value === 'object' && value !== null && !Array.isArray(value) : true;
  if (!ok) out.push(`${path}: expected ${type}, got ${JSON.stringify(value)}`);
}

function checkBody(path: string, body: Json, schema: TfBlockSchema, out: string[], top: boolean): void {
  for (const [key, value] of Object.entries(body)) {
    if (top && META_ARGUMENTS.has(key)) continue;
    const attr = schema.attributes[key];
    const nested = schema.blocks[key];
    if (attr) checkType(`${path}.${key}`, value, attr.type, out);
    else if (nested) {
      const items = Array.isArray(value) ? (value as Json[]) : [value as Json];
      if (nested.nesting === 'single' && items.length > 1) out.push(`${path}.${key}: at most one block (got ${items.length})`);
      for (const [i, item] of items.entries()) checkBody(`${path}.${key}${items.length > 1 ? `[${i}]` : ''}`, item, nested.schema, out, false);
    } else out.push(`${path}.${key}: unknown attribute or block`);
  }
  for (const [key, attr] of Object.entries(schema.attributes)) if (attr.required && !(key in body)) out.push(`${path}: required attribute ${key} missing`);
  for (const [key, b] of Object.entries(schema.blocks)) if (b.required && !(key in body)) out.push(`${path}: required block ${key} missing`);
}

function visit(value: unknown, path: string, fn: (path: string, value: unknown) => void): void {
  fn(path, value);
  if (Array.isArray(value)) for (const v of value) visit(v, path, fn);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visit(v, path ? `${path}.${k}` : k, fn);
}

/** The autoscaler's API limits: ≤ 128 schedules, cron syntax, duration ≥ 300 s, minima within max, scale-in window 60–3600 s. */
function checkAutoscaler(path: string, body: Json, out: string[]): void {
  const policy = ((body.autoscaling_policy as Json[] | undefined) ?? [])[0];
  if (!policy) return;
  const schedules = (policy.scaling_schedules as Json[] | undefined) ?? [];
  if (schedules.length > 128) out.push(`${path}: ${schedules.length} scaling schedules (at most 128)`);
  for (const s of schedules) {
    try {
      parseGceCron(String(s.schedule));
    } catch (e) {
      out.push(`${path}.scaling_schedules[${String(s.name)}]: ${(e as Error).message}`);
    }
    if (typeof s.duration_sec === 'number' && s.duration_sec < 300) out.push(`${path}.scaling_schedules[${String(s.name)}]: duration_sec ${s.duration_sec} is below 300`);
    if (typeof s.min_required_replicas === 'number' && typeof policy.max_replicas === 'number' && s.min_required_replicas > policy.max_replicas) {
      out.push(`${path}.scaling_schedules[${String(s.name)}]: min_required_replicas ${s.min_required_replicas} exceeds max_replicas ${policy.max_replicas}`);
    }
  }
  const control = ((policy.scale_in_control as Json[] | undefined) ?? [])[0];
  if (control && typeof control.time_window_sec === 'number' && (control.time_window_sec < 60 || control.time_window_sec > 3600)) out.push(`${path}.scale_in_control.time_window_sec must be 60–3600`);
  if (typeof policy.min_replicas === 'number' && typeof policy.max_replicas === 'number' && policy.min_replicas > policy.max_replicas) out.push(`${path}: min_replicas exceeds max_replicas`);
}

/** All problems of one Terraform file (HCL syntax errors included). */
export async function validateTerraform(fileName: string, text: string, schema: TerraformSchema = loadGoogleSchema()): Promise<string[]> {
  let doc: Json;
  try {
    doc = (await parse(fileName, text)) as Json;
  } catch (e) {
    return [`${fileName}: HCL syntax: ${(e as Error).message}`];
  }
  const out: string[] = [];
  const variables = new Set(Object.keys((doc.variable as Json | undefined) ?? {}));
  const resources = (doc.resource as Record<string, Record<string, Json[]>> | undefined) ?? {};
  const declared = new Set<string>();
  for (const [type, byName] of Object.entries(resources)) for (const name of Object.keys(byName)) declared.add(`${type}.${name}`);
  for (const [type, byName] of Object.entries(resources)) {
    const s = schema.resources[type];
    for (const [name, bodies] of Object.entries(byName)) {
      const path = `${type}.${name}`;
      if (!s) {
        out.push(`${path}: resource type not in the ${schema.provider} schema`);
        continue;
      }
      for (const body of bodies) {
        checkBody(path, body, s, out, true);
        const enums = TF_ENUMS[type] ?? {};
        visit(body, '', (p, value) => {
          const allowed = enums[p];
          if (allowed && typeof value === 'string' && !isExpression(value) && !allowed.includes(value)) out.push(`${path}.${p}: "${value}" is not one of ${allowed.join(', ')}`);
        });
        if (type === 'google_compute_region_autoscaler') checkAutoscaler(path, body, out);
      }
    }
  }
  // References: var.X must be declared; type.name.attr must name a declared resource.
  visit(doc, '', (p, value) => {
    if (typeof value !== 'string') return;
    for (const m of value.matchAll(/\b(var\.([a-z0-9_]+)|(google_[a-z0-9_]+)\.([A-Za-z0-9_-]+))/g)) {
      if (m[2] && !variables.has(m[2])) out.push(`${p}: reference to undeclared variable var.${m[2]}`);
      if (m[3] && !declared.has(`${m[3]}.${m[4]}`) && !p.startsWith('terraform')) out.push(`${p}: reference to undeclared resource ${m[3]}.${m[4]}`);
    }
  });
  return out;
}

/** The parsed deploy/gcp/main.tf of a rendering (hcl2json's JSON: blocks as arrays). */
// biome-ignore lint/suspicious/noExplicitAny: tests navigate the parsed HCL freely; validateTerraform checks its shape.
export async function parseTerraform(files: readonly { path: string; content: string }[], path = 'deploy/gcp/main.tf'): Promise<Record<string, any>> {
  const file = files.find((f) => f.path === path);
  if (!file) throw new Error(`${path} not rendered`);
  return (await parse(path, file.content)) as Json;
}
