import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { type RedisTrace, redisSpan } from '../telemetry/trace-context.ts';

/** A Lua script argument as Redis receives it. */
export type ScriptArg = string | number | Buffer;

/** What a script returns before `parse`: Redis' reply, as ioredis decodes it. */
export type RawReply = unknown;

interface Definition<R> {
  /** For errors and logs. */
  name: string;
  lua: string;
  /** Turns the raw reply into the script's typed result (name the reply codes here, once). */
  parse: (reply: RawReply) => R;
  /**
   * How a run shows inside a trace: a span of its own, or an event on the request's (or job's) span,
   * for bookkeeping steps that every request makes (see {@link RedisTrace}).
   * @defaultValue 'span'
   */
  trace?: RedisTrace;
}

/** A script with a fixed set of named keys: `run(redis, { key: … }, ...args)`. */
export interface Script<K extends string, R> {
  readonly name: string;
  /** SHA1 of the body, as EVALSHA wants it. */
  readonly sha: string;
  run(redis: Redis, keys: Readonly<Record<K, string>>, ...args: ScriptArg[]): Promise<R>;
}

/** A script over any number of keys (e.g. three per product of an order): `run(redis, [keys…], ...args)`. */
export interface VariadicScript<R> {
  readonly name: string;
  readonly sha: string;
  run(redis: Redis, keys: readonly string[], ...args: ScriptArg[]): Promise<R>;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function evaluate(redis: Redis, name: string, sha: string, lua: string, keys: readonly string[], args: readonly ScriptArg[], mode: RedisTrace | undefined): Promise<RawReply> {
  return redisSpan(name, () => evaluateUntraced(redis, sha, lua, keys, args), mode);
}

async function evaluateUntraced(redis: Redis, sha: string, lua: string, keys: readonly string[], args: readonly ScriptArg[]): Promise<RawReply> {
  try {
    return await redis.evalsha(sha, keys.length, ...keys, ...args);
  } catch (error) {
    // A Redis that restarted, failed over, or never saw the script: send the body once (EVAL also caches it).
    if (!isNoScript(error)) throw error;
    return redis.eval(lua, keys.length, ...keys, ...args);
  }
}

/**
 * The one way Salescale runs Lua in Redis: EVALSHA by the body's SHA1, the body itself only when Redis
 * answers NOSCRIPT; keys named (so a call cannot pass them in the wrong order or number) and the reply
 * parsed once, where its codes get names. Commands go through the client as any other, so auto-pipelining
 * and the connection's timeouts apply. Works on every connection without registering anything on it.
 * Inside a trace each run is one span, `redis <name>` (or an event of that name: `trace: 'event'`).
 */
export function defineScript<const K extends readonly string[], R>(definition: Definition<R> & { keys: K }): Script<K[number], R>;
export function defineScript<R>(definition: Definition<R> & { keys: 'variadic' }): VariadicScript<R>;
export function defineScript<R>(definition: Definition<R> & { keys: readonly string[] | 'variadic' }): Script<string, R> | VariadicScript<R> {
  const sha = createHash('sha1').update(definition.lua).digest('hex');
  const { name, lua, parse, keys: keyNames, trace } = definition;
  if (keyNames === 'variadic') {
    return { name, sha, run: async (redis, keys, ...args) => parse(await evaluate(redis, name, sha, lua, keys as readonly string[], args, trace)) } as VariadicScript<R>;
  }
  return {
    name,
    sha,
    async run(redis, keys, ...args) {
      const ordered = keyNames.map((key) => {
        const value = (keys as Record<string, string>)[key];
        if (value === undefined) throw new TypeError(`script ${name}: key "${key}" missing`);
        return value;
      });
      return parse(await evaluate(redis, name, sha, lua, ordered, args, trace));
    },
  } as Script<string, R>;
}

/** Parses an integer reply (Redis returns Lua numbers as integers). */
export function integerReply(reply: RawReply): number {
  return Number(reply);
}

/** Parses a reply that is a bulk string or nil. */
export function optionalStringReply(reply: RawReply): string | null {
  return reply === null || reply === undefined ? null : String(reply);
}
