/**
 * Unknown-field detection for Kubernetes objects. kubernetes-models' validators accept any extra key
 * (its JSON schemas allow additional properties), but the model packages ship a `.d.ts` interface
 * per type whose property names are exactly the API's. This reads those declarations (a small
 * parser for the subset they use: interfaces, imports, `Array<T>`, unions, inline object types and
 * index signatures) and walks an object against them. Test-time only (the packages are dev dependencies).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

type TypeNode =
  | { kind: 'object'; props: Map<string, TypeNode>; index?: TypeNode }
  | { kind: 'ref'; file: string; name: string }
  | { kind: 'array'; of: TypeNode }
  | { kind: 'union'; of: TypeNode[] }
  | { kind: 'leaf' };

const LEAF: TypeNode = { kind: 'leaf' };

interface ParsedFile {
  imports: Map<string, string>;
  interfaces: Map<string, TypeNode>;
  /** The file's own interface (model files export exactly one). */
  primary?: string;
}

const files = new Map<string, ParsedFile>();

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Finds `pkg` in a node_modules folder at or above `fromDir` (bypasses `exports`, which hides .d.ts paths). */
function resolvePackageFile(specifier: string, fromDir: string): string {
  const parts = specifier.split('/');
  const pkgLength = specifier.startsWith('@') ? 2 : 1;
  const pkg = parts.slice(0, pkgLength).join('/');
  const sub = parts.slice(pkgLength).join('/');
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const root = join(dir, 'node_modules', pkg);
    if (existsSync(root)) return join(root, `${sub.replace(/\.js$/, '')}.d.ts`);
    if (dirname(dir) === dir) throw new Error(`cannot find package ${pkg} from ${fromDir}`);
  }
}

function resolveImport(specifier: string, fromFile: string): string {
  if (specifier.startsWith('.')) return resolve(dirname(fromFile), specifier.replace(/\.js$/, '.d.ts'));
  return resolvePackageFile(specifier, dirname(fromFile));
}

class TypeParser {
  private i = 0;
  private readonly s: string;
  private readonly file: string;
  private readonly imports: Map<string, string>;

  constructor(s: string, file: string, imports: Map<string, string>) {
    this.s = s;
    this.file = file;
    this.imports = imports;
  }

  private ws(): void {
    while (this.i < this.s.length && /\s/.test(this.s[this.i])) this.i++;
  }

  private peek(): string {
    this.ws();
    return this.s[this.i];
  }

  private expect(ch: string): void {
    this.ws();
    if (this.s[this.i] !== ch) throw new Error(`${this.file}: expected "${ch}" at ${this.i}: ${this.s.slice(this.i, this.i + 40)}`);
    this.i++;
  }

  parseObject(): TypeNode {
    this.expect('{');
    const props = new Map<string, TypeNode>();
    let index: TypeNode | undefined;
    while (this.peek() !== '}') {
      if (this.peek() === '[') {
        // [key: string]: T
        while (this.s[this.i] !== ']') this.i++;
        this.i++;
        this.expect(':');
        index = this.parseUnion();
      } else {
        const m = /^(?:"([^"]+)"|([A-Za-z_$][\w$]*))(\?)?\s*:/.exec(this.s.slice(this.i));
        if (!m) throw new Error(`${this.file}: cannot read a property at: ${this.s.slice(this.i, this.i + 60)}`);
        this.i += m[0].length;
        props.set(m[1] ?? m[2], this.parseUnion());
      }
      if (this.peek() === ';' || this.peek() === ',') this.i++;
    }
    this.expect('}');
    return { kind: 'object', props, index };
  }

  parseUnion(): TypeNode {
    const of = [this.parsePostfix()];
    while (this.peek() === '|') {
      this.i++;
      of.push(this.parsePostfix());
    }
    return of.length === 1 ? of[0] : { kind: 'union', of };
  }

  private parsePostfix(): TypeNode {
    let node = this.parsePrimary();
    while (this.s.startsWith('[]', this.i)) {
      this.i += 2;
      node = { kind: 'array', of: node };
    }
    return node;
  }

  private parsePrimary(): TypeNode {
    const c = this.peek();
    if (c === '{') return this.parseObject();
    if (c === '(') {
      this.i++;
      const inner = this.parseUnion();
      this.expect(')');
      return inner;
    }
    if (c === '"' || c === "'") {
      const end = this.s.indexOf(c, this.i + 1);
      this.i = end + 1;
      return LEAF;
    }
    const m = /^[A-Za-z_$][\w$.]*|^-?\d+(\.\d+)?/.exec(this.s.slice(this.i));
    if (!m) throw new Error(`${this.file}: cannot read a type at: ${this.s.slice(this.i, this.i + 60)}`);
    this.i += m[0].length;
    const name = m[0];
    if (this.s[this.i] === '<') {
      this.i++;
      const args = [this.parseUnion()];
      while (this.peek() === ',') {
        this.i++;
        args.push(this.parseUnion());
      }
      this.expect('>');
      if (name === 'Array' || name === 'ReadonlyArray') return { kind: 'array', of: args[0] };
      if (name === 'Record') return { kind: 'object', props: new Map(), index: args[1] };
      return LEAF;
    }
    const from = this.imports.get(name);
    if (from) return { kind: 'ref', file: from, name };
    return LEAF;
  }
}

function parseFile(file: string): ParsedFile {
  const cached = files.get(file);
  if (cached) return cached;
  const text = stripComments(readFileSync(file, 'utf8'));
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    const target = m[2].startsWith('.') || m[2].includes('kubernetes-models') ? resolveImport(m[2], file) : undefined;
    if (!target) continue;
    for (const part of m[1].split(',')) {
      const name = part.trim().split(/\s+as\s+/).pop();
      if (name) imports.set(name, target);
    }
  }
  const parsed: ParsedFile = { imports, interfaces: new Map() };
  for (const m of text.matchAll(/export interface (\w+)(?:\s+extends\s+[\w.,\s]+)?\s*\{/g)) {
    const parser = new TypeParser(text.slice(m.index + m[0].length - 1), file, imports);
    parsed.interfaces.set(m[1], parser.parseObject());
    parsed.primary ??= m[1];
  }
  // Files that only alias a union (IntOrString, Quantity): no interface, treat as a leaf.
  files.set(file, parsed);
  return parsed;
}

function resolveRef(node: Extract<TypeNode, { kind: 'ref' }>): TypeNode {
  const parsed = parseFile(node.file);
  const target = parsed.primary ? parsed.interfaces.get(parsed.primary) : undefined;
  return target ?? LEAF;
}

function walk(value: unknown, node: TypeNode, path: string, out: string[]): void {
  if (node.kind === 'ref') {
    walk(value, resolveRef(node), path, out);
    return;
  }
  if (node.kind === 'leaf' || value === null || value === undefined) return;
  if (node.kind === 'array') {
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) walk(item, node.of, `${path}[${i}]`, out);
    }
    return;
  }
  if (node.kind === 'union') {
    const structured = node.of.find((n) => n.kind !== 'leaf');
    if (structured) walk(value, structured, path, out);
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const type = node.props.get(key) ?? node.index;
    const childPath = path ? `${path}.${key}` : key;
    if (!type) out.push(`${childPath}: unknown field`);
    else walk(child, type, childPath, out);
  }
}

/** The `.d.ts` of a kind: kubernetes-models for built-in groups, the KEDA and prometheus-operator model packages for CRDs. */
export function getModelDeclarationFile(apiVersion: string, kind: string, fromDir = process.cwd()): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'keda.sh') return resolvePackageFile(`@kubernetes-models/keda/keda.sh/${version}/${kind}`, fromDir);
  if (group === 'monitoring.coreos.com') return resolvePackageFile(`@kubernetes-models/prometheus-operator/monitoring.coreos.com/${version}/${kind}`, fromDir);
  return resolvePackageFile(`kubernetes-models/${group ? `${group}/` : ''}${version}/${kind}`, fromDir);
}

/** Paths of fields the API does not know, e.g. `spec.template.spec.containers[0].imagePullPolicey: unknown field`. */
export function findUnknownFields(object: { apiVersion: string; kind: string }): string[] {
  const file = getModelDeclarationFile(object.apiVersion, object.kind);
  const parsed = parseFile(file);
  const root = parsed.primary ? parsed.interfaces.get(parsed.primary) : undefined;
  if (!root) throw new Error(`no interface in ${file}`);
  const out: string[] = [];
  walk(object, root, '', out);
  return out;
}
