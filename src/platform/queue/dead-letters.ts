import type { Job } from 'bullmq';
import type pg from 'pg';

/**
 * Records a job that exhausted its attempts (idempotent: the same job upserts one row, and a later
 * exhaustion after a retry or a discard opens it again), with the job's creation time: what tells the letter's own
 * job from a later one under the same id ({@link isJobOfLetter}).
 *
 * @param attemptsMade the attempts the job made, the one that failed included (what `attempts_made` shows the
 * operator). BullMQ counts an attempt in `job.attemptsMade` only once it has moved the job on, so a processor writing
 * the letter of the attempt it is running passes `job.attemptsMade + 1`. @defaultValue job.attemptsMade (a job
 * BullMQ has already failed)
 */
export async function recordDeadLetter(pool: pg.Pool, queue: string, job: Job, reason: string, attemptsMade = job.attemptsMade): Promise<void> {
  const content = storableContent(job);
  await pool.query(
    `INSERT INTO dead_letters (queue, job_id, name, data, opts, failed_reason, attempts_made, job_created_at, nul_escaped)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (queue, job_id) DO UPDATE SET failed_reason = excluded.failed_reason, attempts_made = excluded.attempts_made, failed_at = now(),
       job_created_at = excluded.job_created_at, retried_at = NULL, discarded_at = NULL, discard_reason = NULL, discarded_by = NULL`,
    [queue, job.id, content.name, content.data, content.opts, storableReason(reason), attemptsMade, job.timestamp, content.nulEscaped],
  );
}

/**
 * The job's name, data and options as PostgreSQL takes them. Its text and jsonb refuse a NUL (U+0000), and jsonb half
 * a surrogate pair (a text column would silently take it as U+FFFD), which a job added from the queue dashboard can
 * hold: had the letter's write failed on it, the job would have lived only in BullMQ's trimmed failed set, outside the
 * letters and their alert. Content holding either is stored escaped ({@link escapeNul}: reversible, see
 * {@link unescapeNul}) and flagged; any other is stored as it is.
 */
function storableContent(job: Job): { name: string; data: string; opts: string; nulEscaped: boolean } {
  const data = JSON.stringify(job.data ?? null);
  const opts = JSON.stringify(persistableOptions(job));
  // JSON.stringify writes a NUL and half a surrogate pair as escapes, `\u0000` and `\ud800`-`\udfff` (a string holding
  // that text matches too: escaped, harmlessly).
  const nulEscaped = !isStorableText(job.name) || UNSTORABLE_JSON.test(data) || UNSTORABLE_JSON.test(opts);
  if (!nulEscaped) return { name: job.name, data, opts, nulEscaped };
  return { name: escapeNul(job.name), data: JSON.stringify(mapStrings(JSON.parse(data), escapeNul)), opts: JSON.stringify(mapStrings(JSON.parse(opts), escapeNul)), nulEscaped };
}

/** The failure's text as a letter keeps it: each NUL shown as `\0` (for the operator to read; never read back), cut to {@link DEAD_LETTER_REASON_MAX}. */
function storableReason(reason: string): string {
  return reason.replaceAll('\0', '\\0').slice(0, DEAD_LETTER_REASON_MAX);
}

/** The JSON escapes PostgreSQL's jsonb refuses: a NUL, half a surrogate pair (JSON.stringify escapes only a lone one). */
const UNSTORABLE_JSON = /\\u(?:0000|d[89a-f][0-9a-f]{2})/;

/** Whether PostgreSQL stores `text` as it is: no NUL, no half of a surrogate pair. */
function isStorableText(text: string): boolean {
  return !text.includes('\0') && text.isWellFormed();
}

/**
 * `text` as PostgreSQL takes it, reversibly: each NUL as `\0`, each half of a surrogate pair as `\u` and its four hex
 * digits (`\ud800`), each backslash as `\\`.
 */
function escapeNul(text: string): string {
  return text.replace(/[\\\0]|\p{Cs}/gu, (c) => (c === '\0' ? '\\0' : c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16)}`));
}

/** Undoes {@link escapeNul}: `\0` is a NUL again, `\ud800` half a surrogate pair, `\\` one backslash. */
function unescapeNul(text: string): string {
  return text.replace(/\\(\\|0|u[0-9a-f]{4})/g, (_, c: string) => (c === '\\' ? '\\' : c === '0' ? '\0' : String.fromCharCode(Number.parseInt(c.slice(1), 16))));
}

/** `value` (parsed JSON) with `map` applied to every string in it, object keys included. */
function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [map(key), mapStrings(item, map)]));
  return value;
}

/** A letter as read, its content unescaped when it was stored escaped ({@link storableContent}). */
function readLetter(row: DeadLetter & { nulEscaped?: boolean }): DeadLetter {
  const { nulEscaped, ...letter } = row;
  if (!nulEscaped) return letter;
  return { ...letter, name: unescapeNul(letter.name), data: mapStrings(letter.data, unescapeNul), opts: mapStrings(letter.opts, unescapeNul) as Record<string, unknown> };
}

/**
 * Whether a completed job can have a dead letter to close: it failed before (a job retried in Redis, by `queues
 * retry-failed` or the dashboard, keeps its stack traces, and a reset retry starts its attempts at 0), or it took
 * more than the attempt that completed it. A job re-added from its letter has its letter closed at the re-add; a
 * job never failed (nearly all) costs PostgreSQL nothing.
 */
export function mayHaveDeadLetter(job: Pick<Job, 'stacktrace' | 'attemptsMade'>): boolean {
  // attemptsMade already counts the attempt that completed the job.
  return (job.stacktrace?.length ?? 0) > 0 || job.attemptsMade > 1;
}

/**
 * Closes the job's dead letter, if it has one open: called by the worker once the job ran to completion, however it
 * came to run again (`queues retry-failed`, the dashboard's retry or retry-all, BullMQ's API).
 * So a letter means work not done, and closes when it is done: the gauge and QueueDeadLetters resolve, and
 * `queues retry-failed` never re-adds (and runs twice) a job that completed. One primary-key lookup.
 */
export async function closeDeadLetterOnCompletion(pool: pg.Pool, queue: string, job: Pick<Job, 'id' | 'timestamp'>): Promise<void> {
  if (!job.id) return;
  // Only the letter of this job: isJobOfLetter's rule, in SQL so the close stays one primary-key round trip (reading
  // the letter to decide in TS would add one per completed job that failed before). A job added later under the same
  // id (BullMQ's counter ids restart after a Redis loss) is another job, whose completion leaves the old job's work
  // undone. test/queues/letter-identity.test.ts pins the two forms to agree: change both, or neither.
  await pool.query(
    `UPDATE dead_letters SET retried_at = now()
      WHERE queue = $1 AND job_id = $2 AND retried_at IS NULL AND discarded_at IS NULL
        AND (job_created_at = $3::bigint OR (job_created_at IS NULL AND failed_at >= to_timestamp($3::float8 / 1000)))`,
    [queue, job.id, job.timestamp],
  );
}

/**
 * Whether `job`, held in Redis under a letter's job id, is the job of that letter: the job whose creation time the
 * letter recorded (`job.timestamp`, kept by BullMQ across retries in Redis). One with another creation time reuses
 * the id (a job added from the dashboard gets BullMQ's counter id, which restarts after a Redis loss) and is not the
 * letter's work. Exact: the producer's clock is compared with nothing else (it may run ahead of PostgreSQL's).
 * A letter written before `job_created_at` existed falls back to "created before the letter was written", which
 * holds only while the producer's clock agrees with PostgreSQL's to well under a job's run time.
 * The one rule of a letter's identity: {@link closeDeadLetterOnCompletion} applies it in SQL, and a test pins the two
 * to agree.
 */
export function isJobOfLetter(job: Pick<Job, 'timestamp'>, letter: Pick<DeadLetter, 'failedAt' | 'jobCreatedAt'>): boolean {
  if (letter.jobCreatedAt !== null) return job.timestamp === letter.jobCreatedAt;
  return job.timestamp <= letter.failedAt.getTime();
}

/**
 * Whether `job`, held in Redis under a letter's job id and completed, shows the letter's work done, so the letter is
 * closed (`queues retry-failed`) rather than re-added or discarded. A letter that recorded its job's creation time:
 * the held job is its own ({@link isJobOfLetter}) — however the completion and the letter are ordered, and whatever
 * the worker's clock: an attempt that lost its lock can write the letter after another delivery of the same job
 * completed, and a worker's `finishedOn` is its own clock, not PostgreSQL's. A letter without it (written before it
 * was kept) has no exact identity: only a completion after the letter was written (the job created before it) closes
 * it; any other completed job under its id is for the operator to judge (`queues discard`).
 */
export function isLetterDoneBy(job: Pick<Job, 'timestamp' | 'finishedOn'>, letter: Pick<DeadLetter, 'failedAt' | 'jobCreatedAt'>): boolean {
  if (!isJobOfLetter(job, letter)) return false;
  return letter.jobCreatedAt !== null || (job.finishedOn ?? 0) > letter.failedAt.getTime();
}

/**
 * The id a letter's job is re-added under once Redis has dropped it (`queues retry-failed`): its own, unless BullMQ
 * refuses that as a custom id. A job added without a jobId (from the queue dashboard, by a producer passing none) has
 * BullMQ's counter id, an integer, and BullMQ refuses to add a job under an integer id ("Custom Id cannot be
 * integers"): such a job is re-added as `letter-<id>-<creation time in ms>` (the letter's `job_created_at`; its
 * `failed_at` on a letter written before that was kept). Derived from the letter, not drawn afresh: an add that
 * reached Redis although the client saw it fail (the claim released, the letter open again) is re-added under the
 * same id on the next run, which BullMQ keeps once. The creation time tells apart the jobs that held the same counter
 * id (it restarts after a Redis loss). A processor's once-per-job-id claim sees the new id: a job that failed for
 * good did not commit the claim of its work, so the re-added job does the work once.
 */
export function reAddJobId(letter: Pick<DeadLetter, 'jobId' | 'jobCreatedAt' | 'failedAt'>): string {
  // BullMQ's own test (Job.validateOptions): an id that reads back as the same integer.
  if (`${Number.parseInt(letter.jobId, 10)}` !== letter.jobId) return letter.jobId;
  return `letter-${letter.jobId}-${letter.jobCreatedAt ?? letter.failedAt.getTime()}`;
}

/** The options worth keeping to re-enqueue the job (never its id or timestamps). */
function persistableOptions(job: Job): Record<string, unknown> {
  const { priority, attempts, backoff, lifo } = job.opts;
  return Object.fromEntries(Object.entries({ priority, attempts, backoff, lifo }).filter(([, v]) => v !== undefined));
}

export interface DeadLetter {
  queue: string;
  jobId: string;
  name: string;
  data: unknown;
  opts: Record<string, unknown>;
  failedReason: string;
  attemptsMade: number;
  failedAt: Date;
  /** The job's `job.timestamp` (ms) when the letter was written; null on letters written before it was kept. */
  jobCreatedAt: number | null;
  /**
   * `failed_at` to the microsecond, as text: the letter as listed. A later failure of the same job (a retry
   * that failed again) changes it, so {@link markDeadLettersRetried} leaves that failure visible.
   */
  revision: string;
}

/** The database's clock now, as text to the microsecond: a bound for {@link listDeadLetterPage}. */
export async function getDeadLetterClock(pool: pg.Pool): Promise<string> {
  const { rows } = await pool.query<{ now: string }>('SELECT now()::text AS now');
  return rows[0]!.now;
}

/** Where a page of {@link listDeadLetterPage} ends: the next page starts after this letter. */
export type DeadLetterCursor = Pick<DeadLetter, 'jobId' | 'revision'>;

/**
 * One page of a queue's open letters that failed at or before `failedBy`, oldest first (`failed_at`, then job id),
 * after `cursor`. `failedBy` (the time the caller started) bounds the paging: a letter that fails again while the
 * caller pages (a job it re-added that failed at once) gets a later `failed_at`, and without the bound would come up
 * again further on, to be re-added a second time in the same run, and again, for as long as it keeps failing.
 */
export async function listDeadLetterPage(pool: pg.Pool, queue: string, failedBy: string, cursor: DeadLetterCursor | undefined, limit: number): Promise<DeadLetter[]> {
  const { rows } = await pool.query(
    `SELECT queue, job_id AS "jobId", name, data, opts, failed_reason AS "failedReason", attempts_made AS "attemptsMade", failed_at AS "failedAt",
            job_created_at::float8 AS "jobCreatedAt", failed_at::text AS revision, nul_escaped AS "nulEscaped"
     FROM dead_letters
     WHERE retried_at IS NULL AND discarded_at IS NULL AND queue = $1 AND failed_at <= $2::timestamptz
       AND ($3::timestamptz IS NULL OR (failed_at, job_id) > ($3::timestamptz, $4::text))
     ORDER BY failed_at, job_id LIMIT $5`,
    [queue, failedBy, cursor?.revision ?? null, cursor?.jobId ?? null, limit],
  );
  return (rows as (DeadLetter & { nulEscaped: boolean })[]).map(readLetter);
}

/**
 * Marks letters retried, each only if it is still the failure that was listed: a retried job can fail again
 * (and record itself again) before the caller gets here, and that new failure must stay a dead letter.
 */
export async function markDeadLettersRetried(pool: pg.Pool, queue: string, letters: Pick<DeadLetter, 'jobId' | 'revision'>[]): Promise<number> {
  const result = await pool.query(
    `UPDATE dead_letters d SET retried_at = now()
       FROM unnest($2::text[], $3::timestamptz[]) AS l(job_id, failed_at)
      WHERE d.queue = $1 AND d.job_id = l.job_id AND d.failed_at = l.failed_at AND d.retried_at IS NULL AND d.discarded_at IS NULL`,
    [queue, letters.map((letter) => letter.jobId), letters.map((letter) => letter.revision)],
  );
  return result.rowCount ?? 0;
}

/** The longest reason a letter keeps, discarded (`discard_reason`) as failed (`failed_reason`). */
export const DEAD_LETTER_REASON_MAX = 2000;

/**
 * Claims a letter to re-add its job: closes it as retried only if it is still open and still the failure that was
 * listed. Claimed before the job is added, so a letter discarded meanwhile (`queues discard`, which removes its job)
 * is not run after all, and two runs of `queues retry-failed` never both add it. Returns the claim, for
 * {@link releaseDeadLetterClaim} when the add fails; undefined when the letter was not open any more.
 */
export async function claimDeadLetter(pool: pg.Pool, queue: string, letter: Pick<DeadLetter, 'jobId' | 'revision'>): Promise<string | undefined> {
  const { rows } = await pool.query<{ claim: string }>(
    `UPDATE dead_letters SET retried_at = clock_timestamp()
      WHERE queue = $1 AND job_id = $2 AND failed_at = $3::timestamptz AND retried_at IS NULL AND discarded_at IS NULL
      RETURNING retried_at::text AS claim`,
    [queue, letter.jobId, letter.revision],
  );
  return rows[0]?.claim;
}

/** Opens again a letter claimed by {@link claimDeadLetter} whose job could not be added (if nothing changed it since). */
export async function releaseDeadLetterClaim(pool: pg.Pool, queue: string, jobId: string, claim: string): Promise<void> {
  await pool.query('UPDATE dead_letters SET retried_at = NULL WHERE queue = $1 AND job_id = $2 AND retried_at = $3::timestamptz', [queue, jobId, claim]);
}

/** Who closed letters without retrying them, and why (`queues discard`). */
export interface DiscardNote {
  reason: string;
  actor: string | undefined;
}

/**
 * Closes open letters without running their jobs again, recording why and who. Only the letters named in `jobIds`
 * that are still open are closed; returns their ids. The caller removes a failed job from Redis first, so that
 * `queues retry-failed` (which retries the whole failed set) cannot run it again.
 */
export async function markDeadLettersDiscarded(pool: pg.Pool, queue: string, jobIds: string[], note: DiscardNote): Promise<string[]> {
  const { rows } = await pool.query<{ job_id: string }>(
    `UPDATE dead_letters SET discarded_at = now(), discard_reason = $3, discarded_by = $4
      WHERE queue = $1 AND job_id = ANY($2::text[]) AND retried_at IS NULL AND discarded_at IS NULL
      RETURNING job_id`,
    [queue, jobIds, note.reason, note.actor ?? null],
  );
  return rows.map((row) => row.job_id);
}

/** Open letters among `jobIds` (all of the queue's open letters when `jobIds` is undefined), one page after `afterJobId`. */
export async function listOpenDeadLetters(
  pool: pg.Pool,
  queue: string,
  jobIds: string[] | undefined,
  afterJobId: string | undefined,
  limit: number,
): Promise<Pick<DeadLetter, 'jobId' | 'failedAt' | 'jobCreatedAt'>[]> {
  // job_created_at as float8: pg reads bigint as a string; milliseconds since 1970 are exact in a double.
  const { rows } = await pool.query<Pick<DeadLetter, 'jobId' | 'failedAt' | 'jobCreatedAt'>>(
    `SELECT job_id AS "jobId", failed_at AS "failedAt", job_created_at::float8 AS "jobCreatedAt" FROM dead_letters
      WHERE queue = $1 AND retried_at IS NULL AND discarded_at IS NULL
        AND ($2::text[] IS NULL OR job_id = ANY($2::text[])) AND ($3::text IS NULL OR job_id > $3)
      ORDER BY job_id LIMIT $4`,
    [queue, jobIds ?? null, afterJobId ?? null, limit],
  );
  return rows;
}
