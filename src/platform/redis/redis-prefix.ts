/**
 * Why `prefix` cannot be a REDIS_PREFIX, or undefined. Keys are built as `{prefix}:…` (a Redis Cluster hash tag: all of
 * them in one slot, which the Lua scripts need) and swept by pattern (`{prefix}:…:*`): a `{` or `}` moves the hash tag, a
 * glob character (`*`, `?`, `[`, `]`, `\\`) makes a sweep match other prefixes' keys, whitespace is a copy-paste slip.
 * Its own module so the deployment spec checks the prefix it renders without loading the configuration.
 */
export function findRedisPrefixProblem(prefix: string): string | undefined {
  const bad = prefix.match(/[{}*?[\]\\\s]/)?.[0];
  if (bad === undefined) return undefined;
  return `must not contain ${JSON.stringify(bad)} (no braces, glob characters or whitespace: keys are "{prefix}:…" hash tags, swept by pattern), got ${JSON.stringify(prefix)}`;
}
