// Bearer API keys: the `id:key` list format and a constant-time check whose key id becomes the principal.
import { createHash, timingSafeEqual } from 'node:crypto';

export interface ApiKey {
  /** Names the key in logs and becomes the principal `key:<id>`; never secret. */
  readonly id: string;
  readonly key: string;
}

const ID = /^[A-Za-z0-9._-]{1,64}$/;
/** RFC 6750 b64token: what can follow `Bearer ` in an Authorization header. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MIN_KEY_LENGTH = 16;

/**
 * Parses `id:key` entries separated by commas or newlines. Errors name the entry by position or id and
 * never echo a key, because they end up in start-up logs.
 */
export function parseApiKeys(raw: string): ApiKey[] {
  const entries = raw.split(/[,\r\n]+/).map((e) => e.trim()).filter(Boolean);
  if (entries.length === 0) throw new Error('no keys given: expected one or more id:key entries separated by commas or newlines');
  const keys: ApiKey[] = [];
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : '';
    const key = colon > 0 ? entry.slice(colon + 1) : '';
    const where = `entry ${index + 1}`;
    if (!ID.test(id)) throw new Error(`${where} is not id:key (the id is 1-64 of A-Z a-z 0-9 . _ -)`);
    if (key.length < MIN_KEY_LENGTH || !TOKEN.test(key)) {
      throw new Error(`the key with id "${id}" must be at least ${MIN_KEY_LENGTH} characters of A-Z a-z 0-9 - . _ ~ + / (e.g. openssl rand -hex 32)`);
    }
    if (keys.some((k) => k.id === id)) throw new Error(`the id "${id}" appears twice: each key needs its own id`);
    if (keys.some((k) => k.key === key)) throw new Error(`the key with id "${id}" repeats an earlier key: each id needs its own key`);
    keys.push({ id, key });
  });
  return keys;
}

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Looks a presented key up among the accepted ones in time that does not depend on where (or whether) it matches. */
export class ApiKeyVerifier {
  readonly #keys: ReadonlyArray<{ readonly id: string; readonly digest: Buffer }>;

  constructor(keys: readonly ApiKey[]) {
    this.#keys = keys.map((k) => ({ id: k.id, digest: digest(k.key) }));
  }

  /** The id of the matching key, or undefined. Compares fixed-length digests and visits every key. */
  verify(presented: string): string | undefined {
    const candidate = digest(presented);
    let match: string | undefined;
    for (const key of this.#keys) {
      if (timingSafeEqual(candidate, key.digest) && match === undefined) match = key.id;
    }
    return match;
  }
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when absent or malformed. */
export function bearerToken(header: string | null): string | undefined {
  if (header === null) return undefined;
  const match = /^Bearer +(\S+) *$/i.exec(header);
  return match && TOKEN.test(match[1] as string) ? match[1] : undefined;
}
