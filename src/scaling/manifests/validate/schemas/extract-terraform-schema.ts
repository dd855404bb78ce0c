/**
 * Extracts the Terraform schema of a few resource types from a CDKTF prebuilt provider package
 * (`@cdktf/provider-google`), whose `.jsii` assembly is generated from the provider's own schema
 * (`terraform providers schema -json`): attribute and block names, required flags, types and block
 * nesting. The subset is committed beside this file so that `npm test` validates the rendered
 * Terraform offline without the 300 MB package. Re-run after bumping the provider:
 *
 *   npm pack @cdktf/provider-google@16.12.1 && tar xzf cdktf-provider-google-16.12.1.tgz package/.jsii package/package.json
 *   node src/scaling/manifests/validate/schemas/extract-terraform-schema.ts package google_compute_region_autoscaler … > …json
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface JsiiType {
  fqn?: string;
  primitive?: string;
  collection?: { kind: 'array' | 'map'; elementtype: JsiiType };
  union?: { types: JsiiType[] };
}
interface JsiiProperty {
  name: string;
  optional?: boolean;
  type: JsiiType;
  docs?: { summary?: string; remarks?: string };
}

export interface TfAttribute {
  type: 'string' | 'number' | 'bool' | 'any' | 'list' | 'map';
  required: boolean;
}
export interface TfBlockSchema {
  attributes: Record<string, TfAttribute>;
  blocks: Record<string, { nesting: 'single' | 'list'; required: boolean; schema: TfBlockSchema }>;
}

const META = new Set(['connection', 'count', 'dependsOn', 'forEach', 'lifecycle', 'provider', 'provisioners']);

function snake(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function tfName(p: JsiiProperty): string {
  // The generated docs end with "Docs at Terraform Registry: {@link https://registry.terraform.io/…#<name> …}".
  const m = /registry\.terraform\.io\/[^\s}]*#([a-z0-9_]+)/.exec(`${p.docs?.summary ?? ''} ${p.docs?.remarks ?? ''}`);
  return m ? m[1] : snake(p.name);
}

function structOf(t: JsiiType, types: Record<string, { properties?: JsiiProperty[]; kind: string }>): { fqn: string; list: boolean } | undefined {
  if (t.fqn && types[t.fqn]?.kind === 'interface' && t.fqn !== 'cdktf.IResolvable') return { fqn: t.fqn, list: false };
  for (const u of t.union?.types ?? []) {
    const el = u.collection?.kind === 'array' ? u.collection.elementtype : undefined;
    if (el?.fqn && types[el.fqn]?.kind === 'interface' && el.fqn !== 'cdktf.IResolvable') return { fqn: el.fqn, list: true };
  }
  return undefined;
}

function attributeType(t: JsiiType): TfAttribute['type'] {
  if (t.primitive === 'string') return 'string';
  if (t.primitive === 'number') return 'number';
  if (t.primitive === 'boolean') return 'bool';
  if (t.collection?.kind === 'array') return 'list';
  if (t.collection?.kind === 'map') return 'map';
  const u = t.union?.types ?? [];
  if (u.some((x) => x.primitive === 'boolean')) return 'bool';
  if (u.some((x) => x.collection?.kind === 'array')) return 'list';
  if (u.some((x) => x.collection?.kind === 'map')) return 'map';
  return 'any';
}

export function extractBlock(fqn: string, types: Record<string, { properties?: JsiiProperty[]; kind: string }>, top = false): TfBlockSchema {
  const out: TfBlockSchema = { attributes: {}, blocks: {} };
  for (const p of types[fqn].properties ?? []) {
    if (top && META.has(p.name)) continue;
    const name = tfName(p);
    const struct = structOf(p.type, types);
    if (struct) out.blocks[name] = { nesting: struct.list ? 'list' : 'single', required: !p.optional, schema: extractBlock(struct.fqn, types) };
    else out.attributes[name] = { type: attributeType(p.type), required: !p.optional };
  }
  return out;
}

if (import.meta.main) {
  const [dir, ...resourceTypes] = process.argv.slice(2);
  const jsii = JSON.parse(readFileSync(join(dir, '.jsii'), 'utf8')) as { name: string; version: string; types: Record<string, { properties?: JsiiProperty[]; kind: string }> };
  const provider = /providers\/hashicorp\/(\w+)\/([\d.]+)\//.exec(JSON.stringify(jsii.types[Object.keys(jsii.types).find((k) => k.endsWith('Config')) ?? ''] ?? {}));
  const resources: Record<string, TfBlockSchema> = {};
  for (const type of resourceTypes) {
    const module = type.replace(/^[a-z]+_/, '').replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
    const pascal = module[0].toUpperCase() + module.slice(1);
    const fqn = `${jsii.name}.${module}.${pascal}Config`;
    if (!jsii.types[fqn]) throw new Error(`${type}: ${fqn} not in ${jsii.name}`);
    resources[type] = extractBlock(fqn, jsii.types, true);
  }
  process.stdout.write(
    `${JSON.stringify({ source: `npm ${jsii.name}@${jsii.version} (.jsii, generated from the provider schema)`, provider: provider ? `hashicorp/${provider[1]} ${provider[2]}` : 'unknown', resources }, null, 1)}\n`,
  );
}
