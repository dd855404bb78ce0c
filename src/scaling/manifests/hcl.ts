/**
 * A small HCL (Terraform language) writer: blocks with labels, attributes, nested blocks, maps and
 * lists. Literal strings are escaped (`${` → `$${`, `%{` → `%%{`) so that they reach Terraform as
 * written; `expr()` marks a Terraform expression written as is, `template()` a quoted string whose
 * `${…}` interpolations are intended.
 */

/** A Terraform expression (reference, function call) written without quotes. */
export interface HclExpr {
  readonly hcl: string;
}
/** A quoted string whose `${…}` are Terraform interpolations. */
export interface HclTemplate {
  readonly template: string;
}

export type HclValue = string | number | boolean | HclExpr | HclTemplate | readonly HclValue[] | { readonly [key: string]: HclValue };

export interface HclBlock {
  readonly block: string;
  readonly labels: readonly string[];
  readonly body: readonly HclEntry[];
}

/** An attribute (`name = value`) or a nested block. */
export type HclEntry = readonly [string, HclValue | undefined] | HclBlock;

export const expr = (hcl: string): HclExpr => ({ hcl });
export const template = (text: string): HclTemplate => ({ template: text });
export const block = (name: string, labels: readonly string[], body: readonly HclEntry[]): HclBlock => ({ block: name, labels, body });

function quote(text: string, interpolate: boolean): string {
  let s = text.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  if (!interpolate) s = s.replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
  return `"${s}"`;
}

const isBlock = (e: HclEntry): e is HclBlock => !Array.isArray(e);
const IDENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function value(v: HclValue, indent: string): string {
  if (typeof v === 'string') return quote(v, false);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`HCL cannot hold ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    const inner = `${indent}  `;
    return `[\n${v.map((x) => `${inner}${value(x, inner)},`).join('\n')}\n${indent}]`;
  }
  if ('hcl' in v && typeof v.hcl === 'string') return v.hcl;
  if ('template' in v && typeof v.template === 'string') return quote(v.template, true);
  const entries = Object.entries(v as Record<string, HclValue>);
  if (entries.length === 0) return '{}';
  const inner = `${indent}  `;
  return `{\n${entries.map(([k, x]) => `${inner}${IDENT.test(k) ? k : quote(k, false)} = ${value(x, inner)}`).join('\n')}\n${indent}}`;
}

function body(entries: readonly HclEntry[], indent: string): string {
  const lines: string[] = [];
  for (const e of entries) {
    if (isBlock(e)) lines.push(renderBlock(e, indent));
    else if (e[1] !== undefined) lines.push(`${indent}${e[0]} = ${value(e[1], indent)}`);
  }
  return lines.join('\n');
}

function renderBlock(b: HclBlock, indent: string): string {
  const head = [b.block, ...b.labels.map((l) => quote(l, false))].join(' ');
  const inner = body(b.body, `${indent}  `);
  return inner ? `${indent}${head} {\n${inner}\n${indent}}` : `${indent}${head} {}`;
}

/** A whole file: top-level blocks separated by blank lines. */
export function renderHcl(blocks: readonly HclBlock[], header?: string): string {
  const text = blocks.map((b) => renderBlock(b, '')).join('\n\n');
  return `${header ? `${header.split('\n').map((l) => `# ${l}`).join('\n')}\n\n` : ''}${text}\n`;
}
