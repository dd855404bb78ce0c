/**
 * Offline validation of the Azure ARM template (no Bicep or ARM binary installs from the registries
 * here): each resource body against the JSON Schema extracted from the Azure SDK serialization
 * mappers (schemas/arm-resources.json, see extract-arm-schema.ts) with Ajv — unknown and read-only
 * properties, missing required ones, types and closed enums, expressions (`[…]`) accepted anywhere —
 * plus what a schema cannot see: the API version the schema was made for, parameters and resources
 * that `[parameters(…)]` / `[resourceId(…)]` name, and the autoscale setting's documented limits
 * (≤ 20 profiles, ≤ 10 rules, fixed dates ≤ 365 days in a known Windows zone, cooldowns 1 min – 1 week,
 * look-ahead 1–60 min, minimum ≤ default ≤ maximum). Test-time only.
 */
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { isWindowsTimeZone, parseIsoDuration, parseLocalDateTime } from '../../simulate/azure-autoscale.ts';

type Obj = Record<string, unknown>;

interface ArmSchemas {
  resources: Record<string, { apiVersion: string; source: string; schema: Obj }>;
  definitions: Record<string, Obj>;
}

/** Resource types the extracted schemas do not cover (their RP has no SDK package in the set), checked at template level only. */
export const ARM_UNVALIDATED_TYPES: Record<string, string> = {
  'Microsoft.Network/privateDnsZones': 'Private DNS (Microsoft.Network privateDnsZones API, not in @azure/arm-network)',
  'Microsoft.Network/privateDnsZones/virtualNetworkLinks': 'Private DNS (Microsoft.Network privateDnsZones API, not in @azure/arm-network)',
};

/** Extensible enums (strings in the REST specs, so open in the schemas): the values of the API references. Paths use [] for arrays. */
export const ARM_ENUMS: Record<string, Record<string, readonly string[]>> = {
  'Microsoft.Compute/virtualMachineScaleSets': {
    'properties.orchestrationMode': ['Uniform', 'Flexible'],
    'properties.upgradePolicy.mode': ['Automatic', 'Manual', 'Rolling'],
    'sku.tier': ['Standard', 'Basic'],
    'properties.virtualMachineProfile.storageProfile.osDisk.createOption': ['FromImage', 'Empty', 'Attach', 'Copy', 'Restore'],
    'properties.virtualMachineProfile.storageProfile.osDisk.managedDisk.storageAccountType': ['Standard_LRS', 'Premium_LRS', 'StandardSSD_LRS', 'UltraSSD_LRS', 'Premium_ZRS', 'StandardSSD_ZRS', 'PremiumV2_LRS'],
  },
  'Microsoft.Network/loadBalancers': {
    'sku.name': ['Basic', 'Standard', 'Gateway'],
    'properties.probes[].properties.protocol': ['Http', 'Tcp', 'Https'],
    'properties.loadBalancingRules[].properties.protocol': ['Udp', 'Tcp', 'All'],
    'properties.outboundRules[].properties.protocol': ['Tcp', 'Udp', 'All'],
  },
  'Microsoft.Network/applicationGateways': {
    'properties.sku.name': ['Standard_Small', 'Standard_Medium', 'Standard_Large', 'WAF_Medium', 'WAF_Large', 'Standard_v2', 'WAF_v2', 'Basic'],
    'properties.sku.tier': ['Standard', 'WAF', 'Standard_v2', 'WAF_v2', 'Basic'],
    'identity.type': ['SystemAssigned', 'UserAssigned', 'SystemAssigned, UserAssigned', 'None'],
    'properties.sslPolicy.policyType': ['Predefined', 'Custom', 'CustomV2'],
    'properties.sslPolicy.policyName': ['AppGwSslPolicy20150501', 'AppGwSslPolicy20170401', 'AppGwSslPolicy20170401S', 'AppGwSslPolicy20220101', 'AppGwSslPolicy20220101S'],
    'properties.httpListeners[].properties.protocol': ['Http', 'Https', 'Tcp', 'Tls'],
    'properties.probes[].properties.protocol': ['Http', 'Https', 'Tcp', 'Tls'],
    'properties.backendHttpSettingsCollection[].properties.protocol': ['Http', 'Https', 'Tcp', 'Tls'],
    'properties.backendHttpSettingsCollection[].properties.cookieBasedAffinity': ['Enabled', 'Disabled'],
    'properties.redirectConfigurations[].properties.redirectType': ['Permanent', 'Found', 'SeeOther', 'Temporary'],
    'properties.requestRoutingRules[].properties.ruleType': ['Basic', 'PathBasedRouting'],
  },
  'Microsoft.Network/publicIPAddresses': { 'sku.name': ['Basic', 'Standard'], 'properties.publicIPAllocationMethod': ['Static', 'Dynamic'] },
  'Microsoft.Network/networkSecurityGroups': {
    'properties.securityRules[].properties.access': ['Allow', 'Deny'],
    'properties.securityRules[].properties.direction': ['Inbound', 'Outbound'],
    'properties.securityRules[].properties.protocol': ['Tcp', 'Udp', 'Icmp', 'Esp', '*', 'Ah'],
  },
  'Microsoft.DBforPostgreSQL/flexibleServers': {
    'sku.tier': ['Burstable', 'GeneralPurpose', 'MemoryOptimized'],
    'properties.highAvailability.mode': ['Disabled', 'ZoneRedundant', 'SameZone'],
    'properties.createMode': ['Default', 'Create', 'Update', 'PointInTimeRestore', 'GeoRestore', 'Replica', 'ReviveDropped'],
    'properties.version': ['11', '12', '13', '14', '15', '16', '17', '18'],
  },
  'Microsoft.Cache/redis': { 'properties.sku.name': ['Basic', 'Standard', 'Premium'], 'properties.sku.family': ['C', 'P'], 'properties.minimumTlsVersion': ['1.0', '1.1', '1.2'] },
};

function visitPaths(value: unknown, path: string, fn: (path: string, value: unknown) => void): void {
  fn(path, value);
  if (Array.isArray(value)) for (const v of value) visitPaths(v, `${path}[]`, fn);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) visitPaths(v, path ? `${path}.${k}` : k, fn);
}

let cached: { schemas: ArmSchemas; ajv: Ajv } | undefined;

function load() {
  if (!cached) {
    const schemas = JSON.parse(readFileSync(new URL('./schemas/arm-resources.json', import.meta.url), 'utf8')) as ArmSchemas;
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addSchema({ $id: 'arm-definitions', definitions: schemas.definitions });
    cached = { schemas, ajv };
  }
  return cached;
}

/** The schema of a resource entry in a template: the body plus the template's own fields. */
function templateSchema(type: string, entry: { apiVersion: string; schema: Obj }): Obj {
  const rewrite = (o: unknown): unknown => {
    if (Array.isArray(o)) return o.map(rewrite);
    if (o && typeof o === 'object') return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/definitions/', 'arm-definitions#/definitions/') : rewrite(v)]));
    return o;
  };
  const root = rewrite(structuredClone(entry.schema)) as Obj;
  root.properties = {
    ...(root.properties as Obj),
    name: { type: 'string' },
    type: { const: type },
    apiVersion: { type: 'string' },
    dependsOn: { type: 'array', items: { type: 'string' } },
    condition: {},
    comments: { type: 'string' },
  };
  root.required = [...new Set([...((root.required as string[]) ?? []), 'name', 'type', 'apiVersion'])];
  return root;
}

function checkAutoscale(path: string, props: Obj, out: string[]): void {
  const profiles = (props.profiles as Obj[]) ?? [];
  if (profiles.length > 20) out.push(`${path}: ${profiles.length} profiles (at most 20)`);
  const duration = (where: string, text: unknown, minS: number, maxS: number) => {
    try {
      const s = parseIsoDuration(String(text));
      if (s < minS || s > maxS) out.push(`${where}: ${String(text)} outside ${minS}–${maxS} s`);
    } catch (e) {
      out.push(`${where}: ${(e as Error).message}`);
    }
  };
  for (const p of profiles) {
    const where = `${path}.profiles[${String(p.name)}]`;
    const c = (p.capacity ?? {}) as { minimum: string; maximum: string; default: string };
    const [min, max, def] = [Number(c.minimum), Number(c.maximum), Number(c.default)];
    if (p.capacity && !(min <= def && def <= max)) out.push(`${where}.capacity: needs minimum ≤ default ≤ maximum (got ${c.minimum}/${c.default}/${c.maximum})`);
    const rules = (p.rules as Obj[]) ?? [];
    if (rules.length > 10) out.push(`${where}: ${rules.length} rules (at most 10)`);
    for (const [i, r] of rules.entries()) {
      const t = r.metricTrigger as Obj;
      const a = r.scaleAction as Obj;
      duration(`${where}.rules[${i}].metricTrigger.timeGrain`, t.timeGrain, 60, 12 * 3600);
      duration(`${where}.rules[${i}].metricTrigger.timeWindow`, t.timeWindow, 300, 12 * 3600);
      duration(`${where}.rules[${i}].scaleAction.cooldown`, a.cooldown, 60, 7 * 86400);
      if (!(Number(a.value) >= 1)) out.push(`${where}.rules[${i}].scaleAction.value must be 1 or greater`);
    }
    const f = p.fixedDate as { timeZone: string; start: string; end: string } | undefined;
    if (f) {
      if (!isWindowsTimeZone(f.timeZone)) out.push(`${where}.fixedDate.timeZone: unknown Windows time zone "${f.timeZone}"`);
      else {
        // A date it cannot parse is one problem among the others, not an exception that hides them.
        const parse = (field: 'start' | 'end') => {
          try {
            return parseLocalDateTime(f[field], f.timeZone);
          } catch (e) {
            out.push(`${where}.fixedDate.${field}: ${(e as Error).message}`);
            return undefined;
          }
        };
        const [start, end] = [parse('start'), parse('end')];
        if (start !== undefined && end !== undefined) {
          if (!(end >= start)) out.push(`${where}.fixedDate: end before start`);
          if (end - start > 365 * 86_400_000) out.push(`${where}.fixedDate: more than 365 days`);
        }
      }
    }
  }
  const predictive = props.predictiveAutoscalePolicy as Obj | undefined;
  if (predictive?.scaleLookAheadTime !== undefined) duration(`${path}.predictiveAutoscalePolicy.scaleLookAheadTime`, predictive.scaleLookAheadTime, 60, 3600);
}

/** All problems of an ARM template. */
export function validateArmTemplate(template: Obj): string[] {
  const { schemas, ajv } = load();
  const out: string[] = [];
  const resources = (template.resources as Obj[]) ?? [];
  const params = new Set(Object.keys((template.parameters as Obj) ?? {}));
  const declared = new Set(resources.map((r) => `${String(r.type)}|${String(r.name)}`));
  for (const [i, r] of resources.entries()) {
    const type = String(r.type);
    const path = `resources[${i}] ${type} ${String(r.name)}`;
    const entry = schemas.resources[type];
    if (!entry) {
      if (!ARM_UNVALIDATED_TYPES[type]) out.push(`${path}: no schema for this resource type`);
    } else {
      if (r.apiVersion !== entry.apiVersion) out.push(`${path}: apiVersion ${String(r.apiVersion)} differs from the schema's ${entry.apiVersion} (${entry.source})`);
      const validate = ajv.compile(templateSchema(type, entry));
      if (!validate(r)) {
        for (const e of validate.errors ?? []) {
          // anyOf [value, expression] failures repeat below their branch errors: report the branch ones.
          if (e.keyword === 'anyOf') continue;
          const extra = e.keyword === 'additionalProperties' ? ` "${String((e.params as { additionalProperty: string }).additionalProperty)}"` : e.keyword === 'enum' ? ` ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}` : '';
          // …and so does the expression branch (`[…]` strings) of every value.
          if (/\/anyOf\/1\/(type|pattern)$/.test(e.schemaPath)) continue;
          out.push(`${path}${e.instancePath}: ${e.message}${extra}`);
        }
      }
    }
    const enums = ARM_ENUMS[type] ?? {};
    visitPaths(r, '', (p, value) => {
      const allowed = enums[p];
      if (allowed && typeof value === 'string' && !value.startsWith('[') && !allowed.includes(value)) out.push(`${path}.${p}: "${value}" is not one of ${allowed.join(', ')}`);
    });
    if (type === 'Microsoft.Insights/autoscalesettings') checkAutoscale(path, (r.properties as Obj) ?? {}, out);
  }
  // Names in expressions: parameters must exist; resourceId targets must be declared (sub-resources: their parent).
  const visit = (v: unknown, where: string) => {
    if (typeof v === 'string' && v.startsWith('[')) {
      for (const m of v.matchAll(/parameters\('([^']+)'\)/g)) if (!params.has(m[1])) out.push(`${where}: parameters('${m[1]}') is not declared`);
      // resourceId('Type/child', 'parent', 'child') with literal names: the parent (or the declared child resource) must exist.
      for (const m of v.matchAll(/resourceId\('([^']+)'((?:,\s*'[^']*')+)\)/g)) {
        const segments = m[1].split('/');
        const names = [...m[2].matchAll(/'([^']*)'/g)].map((x) => x[1]);
        const declaredChild = declared.has(`${m[1]}|${names.join('/')}`);
        const parent = declared.has(`${segments.slice(0, 2).join('/')}|${names[0]}`);
        if (!declaredChild && !parent) out.push(`${where}: ${m[0]} names no resource of the template`);
      }
    } else if (Array.isArray(v)) {
      for (const [i, x] of v.entries()) visit(x, `${where}[${i}]`);
    }
    // A key may be an expression too (userAssignedIdentities: { "[parameters('id')]": {} }).
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
      visit(k, `${where}.${k}`);
      visit(x, `${where}.${k}`);
    }
  };
  visit(template.resources, 'resources');
  visit(template.outputs, 'outputs');
  return out;
}
