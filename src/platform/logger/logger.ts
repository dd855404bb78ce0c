import { pino, stdSerializers, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { classifyDatabaseFailure, redactStatementParameters } from '../db/errors.ts';
import { isRedisUnavailable } from '../redis/errors.ts';

export type { Logger } from 'pino';

/**
 * pino's error serializer, without the stack for an expected dependency failure (PostgreSQL or
 * Redis unreachable, a pool timeout, a deadlock rolled back) or an error marked `expected: true` (a job
 * failed for good on a mail server's refusal, `failForGood`): an outage logs one readable line per
 * failure, not a stack trace that reads like a bug. Any other error keeps its stack.
 */
export function serializeError(error: unknown): unknown {
  const serialized = stdSerializers.err(error as Error) as unknown;
  if (!serialized || typeof serialized !== 'object') return serialized;
  // pg-pool hangs the broken client on an idle connection's error (`err.client`): logged whole, it made
  // a 3 kB line of the client's internals (connection parameters, parser state, listeners).
  const { client: _client, ...own } = serialized as Record<string, unknown>;
  redactStatementParameters(error, own);
  if (!((error as { expected?: unknown }).expected === true || classifyDatabaseFailure(error) || isRedisUnavailable(error))) return own;
  const { stack: _stack, aggregateErrors: _aggregate, ...rest } = own;
  return { ...rest, expected: true };
}

export function createLogger(options: { level: string; name?: string; instanceId?: string; destination?: DestinationStream }): Logger {
  const config: LoggerOptions = {
    level: options.level,
    name: options.name,
    base: options.instanceId ? { instance: options.instanceId } : undefined,
    // Never log credentials that arrive in headers.
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]'], censor: '[redacted]' },
    serializers: { err: serializeError },
  };
  return options.destination ? pino(config, options.destination) : pino(config);
}

