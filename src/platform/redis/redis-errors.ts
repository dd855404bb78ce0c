/**
 * Redis did not become ready in time (down, unreachable, or not Redis at that address). Its own file
 * so that the CLI can recognise it without loading ioredis.
 */
export class RedisUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}
