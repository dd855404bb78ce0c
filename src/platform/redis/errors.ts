/**
 * ioredis' ways of saying "Redis is not reachable right now": commands refused on a fast-fail
 * connection while disconnected, a connection closed under a command, the retry budget used up,
 * a command timeout, or a server that is loading, read-only (failover) or busy.
 */
const UNAVAILABLE_MESSAGES = ["Stream isn't writeable", 'Connection is closed', 'Reached the max retries per request limit', 'Command timed out', 'Connection timeout'];
const UNAVAILABLE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|BUSY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/** Whether `error` (or one of its causes) says Redis is unreachable or not serving for now. */
export function isRedisUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { name, message } = e as { name?: unknown; message?: unknown };
    if (name === 'MaxRetriesPerRequestError') return true;
    if (typeof message !== 'string') continue;
    if (UNAVAILABLE_MESSAGES.some((known) => message.startsWith(known))) return true;
    if (name === 'ReplyError' && UNAVAILABLE_REPLIES.test(message)) return true;
  }
  return false;
}
