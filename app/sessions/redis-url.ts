// Parses a Redis location given as a URL or as an Azure (StackExchange.Redis-style) connection string.
import type { RedisOptions } from 'ioredis';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly tls: boolean;
  readonly db: number;
}

/** Thrown for an unusable connection string. The message never contains the password. */
export class RedisUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisUrlError';
  }
}

const TRUE = new Set(['true', '1', 'yes']);

/**
 * Accepts `redis://[user:pass@]host[:port][/db]`, `rediss://…` (TLS), and Azure's
 * `host:port,password=…,ssl=True,abortConnect=False` (the form the portal shows).
 */
export function parseRedisUrl(input: string): RedisTarget {
  const text = input.trim();
  if (!text) throw new RedisUrlError('the Redis connection string is empty');
  return /^rediss?:\/\//i.test(text) ? parseUrlForm(text) : parseConnectionString(text);
}

function parseUrlForm(text: string): RedisTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RedisUrlError('the Redis URL is not a valid URL (expected redis://[:password@]host[:port][/db])');
  }
  if (!url.hostname) throw new RedisUrlError('the Redis URL has no host');
  const tls = url.protocol.toLowerCase() === 'rediss:';
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText ? Number(dbText) : 0;
  if (!Number.isInteger(db) || db < 0) throw new RedisUrlError(`the Redis URL's database "${dbText}" is not a whole number`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : 6379,
    username: url.username ? decodeCredential(url.username, 'user name') : undefined,
    password: url.password ? decodeCredential(url.password, 'password') : undefined,
    tls,
    db,
  };
}

/** Percent-decoding of the credentials; a stray `%` is a URIError, reported without the value. */
function decodeCredential(text: string, what: 'user name' | 'password'): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`the Redis URL's ${what} is not valid percent-encoding (write % as %25, @ as %40, : as %3A)`);
  }
}

function parseConnectionString(text: string): RedisTarget {
  const [endpoint = '', ...options] = text.split(',').map((part) => part.trim());
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(endpoint);
  if (!match?.[1]) throw new RedisUrlError('the Redis connection string does not start with host:port (expected host:port,password=…,ssl=True or a redis:// URL)');
  let password: string | undefined;
  let username: string | undefined;
  let tls = false;
  let db = 0;
  for (const option of options) {
    if (!option) continue;
    const eq = option.indexOf('=');
    // Access keys are base64 and may end in '=', so only the first '=' separates name from value.
    const name = (eq === -1 ? option : option.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? '' : option.slice(eq + 1).trim();
    if (name === 'password') password = value;
    else if (name === 'user' || name === 'username') username = value;
    else if (name === 'ssl') tls = TRUE.has(value.toLowerCase());
    else if (name === 'defaultdatabase') db = Number(value) || 0;
  }
  const port = match[2] ? Number(match[2]) : tls ? 6380 : 6379;
  return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port, username, password, tls, db };
}

/** Where Redis is, fit for a log line: scheme, host and port, never credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${target.tls ? 'rediss' : 'redis'}://${host}:${target.port}${target.db ? `/${target.db}` : ''}`;
}

export function toIoredisOptions(target: RedisTarget): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    db: target.db,
    ...(target.tls ? { tls: { servername: target.host } } : {}),
  };
}
