/** Reading rendered files back as objects, for validation and tests. */
import { parse, parseAllDocuments } from 'yaml';
import type { RenderedFile } from '../rendered-file.ts';
import type { K8sObject } from './k8s-validate.ts';

export function getFile(files: readonly RenderedFile[], path: string): RenderedFile {
  const file = files.find((f) => f.path === path);
  if (!file) throw new Error(`no rendered file ${path}`);
  return file;
}

export function parseYamlDocuments(content: string): unknown[] {
  return parseAllDocuments(content).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
    return doc.toJS();
  });
}

export function getK8sObjects(files: readonly RenderedFile[]): K8sObject[] {
  return files.filter((f) => f.format === 'k8s').flatMap((f) => parseYamlDocuments(f.content) as K8sObject[]);
}

export function getObject(files: readonly RenderedFile[], path: string): Record<string, unknown> {
  const file = getFile(files, path);
  return (file.format === 'json' ? JSON.parse(file.content) : parse(file.content)) as Record<string, unknown>;
}

/**
 * What `kustomize build <dir>` would emit, for the features the rendered kustomizations use:
 * `resources` (files and directories), and `patches` that delete an object (`$patch: delete`).
 */
export function buildKustomization(files: readonly RenderedFile[], dir: string): K8sObject[] {
  const k = getObject(files, `${dir}/kustomization.yaml`) as { resources?: string[]; patches?: { path: string }[]; namespace?: string };
  let objects: K8sObject[] = [];
  for (const resource of k.resources ?? []) {
    const path = normalize(`${dir}/${resource}`);
    if (files.some((f) => f.path === `${path}/kustomization.yaml`)) objects.push(...buildKustomization(files, path));
    else objects.push(...(parseYamlDocuments(getFile(files, path).content) as K8sObject[]));
  }
  for (const patch of k.patches ?? []) {
    const p = parse(getFile(files, normalize(`${dir}/${patch.path}`)).content) as K8sObject & { $patch?: string };
    if (p.$patch === 'delete') objects = objects.filter((o) => !(o.kind === p.kind && o.metadata?.name === p.metadata?.name));
  }
  return objects;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '..') out.pop();
    else if (part !== '.' && part !== '') out.push(part);
  }
  return out.join('/');
}
