/**
 * Extracts JSON Schemas of ARM resource bodies from the Azure SDK packages' serialization mappers
 * (`dist/esm/models/mappers.js` of @azure/arm-compute, -network, -postgresql-flexible, -rediscache,
 * -monitor), which AutoRest generates from the same REST API specifications the ARM template
 * schemas come from: the wire name of every property (`properties.upgradePolicy`), required flags,
 * read-only properties (refused in a template), types and closed enums. No npm package ships the
 * ARM deployment-template schemas themselves; the subset is committed beside this file and read by
 * `arm-validate.ts`. Re-run after bumping a package:
 *
 *   npm pack @azure/arm-compute@22.4.0 … && tar xzf … &&
 *   node extract-arm-schema.ts compute=@azure/arm-compute@22.4.0=<dir of mappers.js> network=… > arm-resources.json
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface MapperType {
  name: string;
  className?: string;
  element?: { type: MapperType };
  value?: { type: MapperType };
  allowedValues?: unknown[];
}
interface Mapper {
  serializedName?: string;
  required?: boolean;
  readOnly?: boolean;
  constraints?: Record<string, unknown>;
  type: MapperType;
}
interface CompositeMapper {
  type: { name: 'Composite'; className: string; modelProperties?: Record<string, Mapper>; polymorphicDiscriminator?: unknown; uberParent?: string; additionalProperties?: unknown };
}

type JsonSchema = Record<string, unknown>;

/** An ARM template expression (`[parameters('x')]`) may stand for any value. */
const EXPRESSION: JsonSchema = { type: 'string', pattern: '^\\[' };
const orExpression = (s: JsonSchema): JsonSchema => ({ anyOf: [s, EXPRESSION] });

/** Definitions reached from the roots, keyed `<package>.<className>` (composites are $refs, not inlined). */
const definitions: Record<string, JsonSchema> = {};

function schemaOf(t: MapperType, mappers: Record<string, CompositeMapper>, pkg: string): JsonSchema {
  switch (t.name) {
    case 'String':
    case 'DateTime':
    case 'TimeSpan':
    case 'Uuid':
    case 'Date':
    case 'Base64Url':
    case 'ByteArray':
      return { type: 'string' };
    case 'Number':
      return orExpression({ type: 'number' });
    case 'Boolean':
      return orExpression({ type: 'boolean' });
    case 'Enum':
      return orExpression({ enum: t.allowedValues });
    case 'Sequence':
      return orExpression({ type: 'array', items: t.element ? schemaOf(t.element.type, mappers, pkg) : {} });
    case 'Dictionary':
      return orExpression({ type: 'object', additionalProperties: t.value ? schemaOf(t.value.type, mappers, pkg) : {} });
    case 'Composite':
      return t.className ? ref(t.className, mappers, pkg) : {};
    default:
      return {};
  }
}

function ref(className: string, mappers: Record<string, CompositeMapper>, pkg: string): JsonSchema {
  const key = `${pkg}.${className}`;
  if (!(key in definitions)) {
    definitions[key] = {};
    definitions[key] = composite(className, mappers, pkg);
  }
  return { $ref: `#/definitions/${key}` };
}

/** A composite as an object schema; wire names with dots become nested objects. Polymorphic types stay open. */
export function composite(className: string, mappers: Record<string, CompositeMapper>, pkg: string): JsonSchema {
  const m = mappers[className];
  if (!m) return {};
  if (m.type.polymorphicDiscriminator || m.type.uberParent) return { type: 'object' };
  // Types the spec leaves open (additionalProperties, e.g. redisConfiguration) stay open.
  const root: JsonSchema = { type: 'object', properties: {}, required: [], additionalProperties: m.type.additionalProperties !== undefined };
  for (const p of Object.values(m.type.modelProperties ?? {})) {
    if (!p.serializedName) continue;
    const path = p.serializedName.split(/(?<!\\)\./).map((s) => s.replace(/\\\./g, '.'));
    let node = root;
    for (const [i, key] of path.entries()) {
      const props = node.properties as Record<string, JsonSchema>;
      if (i === path.length - 1) {
        props[key] = p.readOnly ? { not: {}, description: 'read-only' } : schemaOf(p.type, mappers, pkg);
        if (p.required && !p.readOnly) (node.required as string[]).push(key);
      } else {
        props[key] ??= { type: 'object', properties: {}, required: [], additionalProperties: false };
        if (p.required && !(node.required as string[]).includes(key)) (node.required as string[]).push(key);
        node = props[key];
      }
    }
  }
  return root;
}

/** Resource type → [package dir, root class, API version the package's operations use]. */
const RESOURCES: Record<string, [string, string, string]> = {
  'Microsoft.Compute/virtualMachineScaleSets': ['compute', 'VirtualMachineScaleSet', '2024-11-01'],
  'Microsoft.Network/virtualNetworks': ['network', 'VirtualNetwork', '2025-05-01'],
  'Microsoft.Network/networkSecurityGroups': ['network', 'NetworkSecurityGroup', '2025-05-01'],
  'Microsoft.Network/publicIPAddresses': ['network', 'PublicIPAddress', '2025-05-01'],
  'Microsoft.Network/loadBalancers': ['network', 'LoadBalancer', '2025-05-01'],
  'Microsoft.Network/applicationGateways': ['network', 'ApplicationGateway', '2025-05-01'],
  'Microsoft.DBforPostgreSQL/flexibleServers': ['postgresql-flexible', 'Server', '2025-08-01'],
  'Microsoft.DBforPostgreSQL/flexibleServers/configurations': ['postgresql-flexible', 'Configuration', '2025-08-01'],
  'Microsoft.DBforPostgreSQL/flexibleServers/databases': ['postgresql-flexible', 'Database', '2025-08-01'],
  'Microsoft.Cache/redis': ['rediscache', 'RedisCreateParameters', '2024-11-01'],
  'Microsoft.Insights/metricAlerts': ['monitor', 'MetricAlertResource', '2018-03-01'],
  'Microsoft.Insights/actionGroups': ['monitor', 'ActionGroupResource', '2021-09-01'],
  'Microsoft.Insights/autoscalesettings': ['monitor', 'AutoscaleSettingResource', '2022-10-01'],
};

if (import.meta.main) {
  const dirs = Object.fromEntries(
    process.argv.slice(2).map((d) => {
      const [name, label, dir] = d.split('=');
      return [name, [label, dir]];
    }),
  );
  const loaded: Record<string, Record<string, CompositeMapper>> = {};
  const versions: Record<string, string> = {};
  for (const [name, [label, dir]] of Object.entries(dirs)) {
    loaded[name] = (await import(pathToFileURL(join(dir, 'mappers.js')).href)) as Record<string, CompositeMapper>;
    versions[name] = label;
  }
  const resources: Record<string, { apiVersion: string; source: string; schema: JsonSchema }> = {};
  for (const [type, [pkg, className, apiVersion]] of Object.entries(RESOURCES)) {
    const schema = composite(className, loaded[pkg], pkg);
    if (type === 'Microsoft.Insights/autoscalesettings') {
      // The 2022-10-01 REST spec (Azure/azure-rest-api-specs, monitor/…/stable/2022-10-01/autoscale_API.json) adds
      // predictiveAutoscalePolicy, which the 2015-04-01 mapper of @azure/arm-monitor 7 lacks.
      const props = (schema.properties as Record<string, JsonSchema>).properties.properties as Record<string, JsonSchema>;
      props.predictiveAutoscalePolicy = {
        type: 'object',
        properties: { scaleMode: orExpression({ enum: ['Disabled', 'ForecastOnly', 'Enabled'] }), scaleLookAheadTime: { type: 'string' } },
        required: ['scaleMode'],
        additionalProperties: false,
      };
    }
    resources[type] = { apiVersion, source: `npm ${versions[pkg]}, mapper ${className}`, schema };
  }
  process.stdout.write(`${JSON.stringify({ note: 'Generated by extract-arm-schema.ts; ARM resource bodies (wire format) from the Azure SDK serialization mappers.', resources, definitions })}\n`);
}
