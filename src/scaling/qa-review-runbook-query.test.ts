/**
 * QA review: the colon rule for `alerts --runbook-url` (d561973) refuses a scheme-less URL when the text before
 * the first "/" holds a colon. RFC 3986 §4.2 forbids the colon only in the first *path segment*; a query may hold
 * colons, so `runbook.md?since=10:00` is a valid relative reference (path "runbook.md") and is now refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findRunbookUrlProblem } from './alerts/runbook-links.ts';

describe('QA review: --runbook-url relative path with a colon in its query', () => {
  it('":::" is still refused (the rule the fix was for; baseline)', () => {
    assert.notEqual(findRunbookUrlProblem('::::'), undefined);
  });
  it('runbook.md?since=10:00 (colon only in the query) is taken as the relative path it is', () => {
    assert.equal(findRunbookUrlProblem('runbook.md?since=10:00'), undefined);
  });
});
