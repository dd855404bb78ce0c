/**
 * Where an alert's `runbook_url` points: docs/runbook.md has one section per alert whose heading is the
 * alert's name, so its anchor is the name in lower case (`### HighQueueDepth` → `#highqueuedepth`, as
 * GitHub, GitLab and MkDocs derive it). The link is computed from the name, never written per rule, so a
 * renamed alert cannot keep a stale link; `runbook-links.test.ts` checks that every anchor has its heading.
 *
 * The package has no repository URL, so the default is the runbook's path in the repository: an engineer
 * paged by a relative link still knows which file to open. Deployments set where the runbook is served —
 * `alerts.runbookUrl` in the deployment spec (which `salescale alerts` takes as its default) or
 * `salescale alerts --runbook-url https://…` — and every rendered rule links there.
 */

/** The runbook's path in the repository: the default base of every `runbook_url`. */
export const DEFAULT_RUNBOOK_URL = 'docs/runbook.md';

/** The anchor of an alert's section in docs/runbook.md: its heading, the alert name, in lower case. */
export function getRunbookAnchor(alertName: string): string {
  return alertName.toLowerCase();
}

/** `<runbookUrl>#<anchor>`: the `runbook_url` annotation of an alert. */
export function getRunbookUrl(alertName: string, runbookUrl: string = DEFAULT_RUNBOOK_URL): string {
  return `${runbookUrl}#${getRunbookAnchor(alertName)}`;
}

/**
 * Why a runbook URL cannot be used, or undefined when it can: an absolute http(s) URL or a relative path,
 * without a fragment (the alert's anchor is appended) and without blanks or template braces (Prometheus
 * would try to expand `{{`).
 */
export function findRunbookUrlProblem(url: string): string | undefined {
  if (url === '') return 'is empty';
  if (/[\s"<>\\^`{|}]/.test(url)) return 'must not hold blanks, quotes, braces or backslashes';
  if (url.includes('#')) return 'must not hold a fragment (#): each alert appends its own anchor';
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // A relative path: its first path segment (up to the first /, ? or #) cannot hold a colon (RFC 3986 §4.2: it
    // would read as a scheme); a query may.
    const firstSegment = url.split(/[/?#]/)[0];
    if (firstSegment.includes(':')) return 'must be an http(s) URL or a relative path (a colon in the first path segment is neither)';
    return undefined;
  }
  if (scheme !== 'http' && scheme !== 'https') return `must be an http(s) URL or a relative path (got scheme ${scheme}:)`;
  try {
    new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  return undefined;
}
