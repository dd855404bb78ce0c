/**
 * A tiny schema language for environment variables: each field both validates the raw string and
 * gives the parsed value its TypeScript type, so the config type can never disagree with its parser.
 */

export class ConfigError extends Error {
  readonly variable: string;

  constructor(variable: string, message: string) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

export interface Field<T> {
  /** Parses the raw value (undefined when unset). Throws a message string on bad input. */
  parse(raw: string | undefined, name: string): T;
  /** One line for `--help`-style documentation and the README. */
  describe: string;
}

type Parser<T> = (raw: string, name: string) => T;

function field<T>(describe: string, parse: Parser<T>, fallback: (() => T) | undefined): Field<T> {
  return {
    describe,
    parse(raw, name) {
      if (raw === undefined || raw === '') {
        if (fallback === undefined) throw new ConfigError(name, 'is required but not set');
        return fallback();
      }
      return parse(raw, name);
    },
  };
}

export function int(options: { default?: number; min?: number; max?: number } = {}): Field<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  const dflt = options.default;
  return field(
    `integer ${min === Number.MIN_SAFE_INTEGER ? '' : `≥ ${min}`}${dflt === undefined ? '' : ` (default ${dflt})`}`.trim(),
    (raw, name) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
      const value = Number(raw);
      if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
      return value;
    },
    dflt === undefined ? undefined : () => dflt,
  );
}

/**
 * The longest delay Node's setTimeout/setInterval hold (2^31 − 1 ms, about 24.8 days): a longer one is taken as
 * 1 ms, with only a TimeoutOverflowWarning (a shutdown that timed out at once, a sweep every millisecond).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration in milliseconds that becomes a timer's delay (a timeout or an interval): an integer no longer than
 * {@link MAX_TIMER_MS}. Thresholds compared with a measurement are plain {@link int}s.
 */
export function timerMs(options: { default: number; min: number; max?: number }): Field<number> {
  const max = Math.min(options.max ?? MAX_TIMER_MS, MAX_TIMER_MS);
  const inner = int({ ...options, max });
  return {
    describe: inner.describe,
    parse(raw, name) {
      if (raw !== undefined && /^\s*\d+\s*$/.test(raw) && Number(raw) > MAX_TIMER_MS) {
        throw new ConfigError(name, `must be at most ${MAX_TIMER_MS} ms (about 24.8 days, the longest timer Node holds; a longer one fires after 1 ms), got ${raw.trim()}`);
      }
      return inner.parse(raw, name);
    },
  };
}

export function num(options: { default?: number; min?: number; max?: number } = {}): Field<number> {
  const dflt = options.default;
  return field(
    `number${dflt === undefined ? '' : ` (default ${dflt})`}`,
    (raw, name) => {
      // Decimal only: `Number()` reads a blank value as 0 and `0x10` as 16.
      const value = Number(raw);
      if (!/^\s*-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(raw) || !Number.isFinite(value)) throw new ConfigError(name, `must be a number, got "${raw}"`);
      if (options.min !== undefined && value < options.min) throw new ConfigError(name, `must be ≥ ${options.min}`);
      if (options.max !== undefined && value > options.max) throw new ConfigError(name, `must be ≤ ${options.max}, got ${value}`);
      return value;
    },
    dflt === undefined ? undefined : () => dflt,
  );
}

export function str(options: { default?: string } = {}): Field<string> {
  const dflt = options.default;
  return field(`string${dflt === undefined ? '' : ` (default "${dflt}")`}`, (raw) => raw, dflt === undefined ? undefined : () => dflt);
}

/** An IANA time zone name (`Europe/Berlin`, `America/New_York`, `UTC`), as Node's Intl knows them. */
export function timeZone(dflt: string): Field<string> {
  return field(
    `IANA time zone (default "${dflt}")`,
    (raw, name) => {
      try {
        return new Intl.DateTimeFormat('en-US', { timeZone: raw }).resolvedOptions().timeZone;
      } catch {
        throw new ConfigError(name, `unknown time zone "${raw}" (an IANA name like Europe/Berlin)`);
      }
    },
    () => dflt,
  );
}

export function optionalStr(): Field<string | undefined> {
  return { describe: 'string (optional)', parse: (raw) => (raw === undefined || raw === '' ? undefined : raw) };
}

/**
 * A secret shared with another party (a token a client presents, a key the payment provider holds too): optional, and
 * refused with whitespace around it, never trimmed.
 * A secret file or `.env` line written with `echo` ends in a newline; kept, that token could never be presented (a
 * client sends it without), and trimmed, the value used would silently differ from the one configured elsewhere.
 * The value used is the value given, so a length check on it counts what is used.
 */
export function secretStr(): Field<string | undefined> {
  return {
    describe: 'string (optional; no whitespace around it)',
    parse(raw, name) {
      if (raw === undefined || raw === '') return undefined;
      if (raw.trim() !== raw) throw new ConfigError(name, 'has leading or trailing whitespace (a file written with `echo` ends in a newline: write it with `printf %s`): remove it');
      return raw;
    },
  };
}

export function url(options: { protocols: string[]; optional?: boolean }): Field<string | undefined> {
  return {
    describe: `URL (${options.protocols.join(', ')})${options.optional ? ', optional' : ''}`,
    parse(raw, name) {
      if (raw === undefined || raw === '') {
        if (options.optional) return undefined;
        throw new ConfigError(name, 'is required but not set');
      }
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new ConfigError(name, 'is not a valid URL');
      }
      if (!options.protocols.includes(parsed.protocol)) {
        throw new ConfigError(name, `must use ${options.protocols.join(' or ')}, got ${parsed.protocol}`);
      }
      return raw;
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[], dflt: T): Field<T> {
  return field(
    `one of ${values.join('|')} (default ${dflt})`,
    (raw, name) => {
      if (!(values as readonly string[]).includes(raw)) {
        throw new ConfigError(name, `must be one of ${values.join(', ')}, got "${raw}"`);
      }
      return raw as T;
    },
    () => dflt,
  );
}

export function bool(dflt: boolean): Field<boolean> {
  return field(
    `true|false (default ${dflt})`,
    (raw, name) => {
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(name, `must be true or false, got "${raw}"`);
    },
    () => dflt,
  );
}

export function list<T>(item: Parser<T>, dflt: T[] = []): Field<T[]> {
  return field(
    'comma-separated list',
    (raw, name) =>
      raw
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '')
        .map((part) => item(part, name)),
    () => dflt,
  );
}

export type Parsed<S extends Record<string, Field<unknown>>> = { [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/** Parses every field, collecting all problems so one boot failure names every bad variable. */
export function parseEnv<S extends Record<string, Field<unknown>>>(schema: S, env: Record<string, string | undefined>): Parsed<S> {
  const out: Record<string, unknown> = {};
  const problems: ConfigError[] = [];
  for (const [name, f] of Object.entries(schema)) {
    try {
      out[name] = f.parse(env[name], name);
    } catch (error) {
      if (error instanceof ConfigError) problems.push(error);
      else throw error;
    }
  }
  if (problems.length === 1) throw problems[0];
  if (problems.length > 1) {
    // One line, each problem after its variable's name: a log pipeline splits lines into separate events.
    const error = new ConfigError(problems.map((p) => p.variable).join(', '), '');
    error.message = problems.map((p) => p.message).join('; ');
    throw error;
  }
  return out as Parsed<S>;
}
