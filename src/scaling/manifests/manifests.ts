/**
 * `salescale manifests`: every deployment target rendered from one DeploymentSpec. Rendering is
 * pure (spec in, files out) so that a test can re-render in memory and compare with the committed files.
 */
import { join } from 'node:path';
import { writeOutputFiles } from '../output-files.ts';
import { checkConnectionBudget } from './connection-budget.ts';
import { checkDeploymentSpec, type DeploymentSpec } from './deployment-spec.ts';
import { getPrescaleSchedule } from './prescale-plan.ts';
import { renderAws } from './render-aws.ts';
import { renderCompose, renderSwarm } from './render-compose.ts';
import { renderK8s } from './render-k8s.ts';
import { renderAzure } from './render-azure.ts';
import { renderGcp } from './render-gcp.ts';
import { renderDigitalOcean, renderHeroku } from './render-paas.ts';
import type { RenderedFile } from './rendered-file.ts';

export const MANIFEST_TARGETS = ['k8s', 'compose', 'swarm', 'aws', 'gcp', 'azure', 'heroku', 'do'] as const;
export type ManifestTarget = (typeof MANIFEST_TARGETS)[number];

export function isManifestTarget(value: string): value is ManifestTarget {
  return (MANIFEST_TARGETS as readonly string[]).includes(value);
}

/** The files of one target (paths relative to the repository root). */
export function renderTarget(target: ManifestTarget, spec: DeploymentSpec): RenderedFile[] {
  checkDeploymentSpec(spec);
  checkConnectionBudget(spec, target);
  const schedule = getPrescaleSchedule(spec);
  switch (target) {
    case 'k8s':
      return renderK8s(spec, schedule);
    case 'compose':
      return renderCompose(spec);
    case 'swarm':
      return renderSwarm(spec);
    case 'aws':
      return renderAws(spec, schedule);
    case 'gcp':
      return renderGcp(spec, schedule);
    case 'azure':
      return renderAzure(spec, schedule);
    case 'heroku':
      return renderHeroku(spec);
    case 'do':
      return renderDigitalOcean(spec);
  }
}

export function renderTargets(targets: readonly ManifestTarget[], spec: DeploymentSpec): RenderedFile[] {
  return targets.flatMap((target) => renderTarget(target, spec));
}

/** Writes files under `root`, creating folders, all or none (UNWRITABLE_OUTPUT); returns the paths written. */
export async function writeRenderedFiles(files: readonly RenderedFile[], root: string): Promise<string[]> {
  await writeOutputFiles(
    files.map((file) => ({ path: join(root, file.path), content: file.content })),
    { createFolders: true },
  );
  return files.map((file) => file.path);
}
