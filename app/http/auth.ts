// Authentication in front of /mcp: one interface, three modes (none, API keys, OAuth resource server).
import type { Logger } from 'pino';
import type { AuthConfig } from '../config.js';
import { ApiKeyVerifier, bearerToken } from './api-keys.js';
import { jsonRpcError, RPC } from './errors.js';
import { OAuthResourceServer, type OAuthOptions } from './oauth.js';

/** Either who is calling (undefined only in mode `none`) or the response that refuses the request. */
export type AuthOutcome = { readonly ok: true; readonly principal: string | undefined } | { readonly ok: false; readonly response: Response };

export interface Authenticator {
  readonly mode: AuthConfig['mode'];
  authenticate(request: Request): Promise<AuthOutcome>;
  /** Serves a well-known metadata document for `path`, if this mode has one there. */
  metadata(path: string): Response | undefined;
}

const open: AuthOutcome = { ok: true, principal: undefined };

class NoAuth implements Authenticator {
  readonly mode = 'none';
  async authenticate(): Promise<AuthOutcome> {
    return open;
  }
  metadata(): undefined {
    return undefined;
  }
}

class KeyAuth implements Authenticator {
  readonly mode = 'key';
  readonly #verifier: ApiKeyVerifier;

  constructor(
    keys: ConstructorParameters<typeof ApiKeyVerifier>[0],
    private readonly logger: Logger,
  ) {
    this.#verifier = new ApiKeyVerifier(keys);
  }

  async authenticate(request: Request): Promise<AuthOutcome> {
    const header = request.headers.get('authorization');
    const token = bearerToken(header);
    const id = token === undefined ? undefined : this.#verifier.verify(token);
    if (id !== undefined) return { ok: true, principal: `key:${id}` };
    // Which of the two went wrong helps the caller; the key itself is never logged.
    this.logger.debug({ reason: header === null ? 'missing' : 'no matching key' }, 'refused an unauthenticated request');
    const challenge = header === null ? 'Bearer' : 'Bearer error="invalid_token"';
    const message =
      header === null
        ? 'Unauthorized: send Authorization: Bearer <API key>'
        : 'Unauthorized: the API key is not valid (it may have been rotated out): ask for a current one';
    return { ok: false, response: jsonRpcError(401, RPC.serverError, message, { 'www-authenticate': challenge }) };
  }

  metadata(): undefined {
    return undefined;
  }
}

export interface AuthenticatorOptions {
  readonly auth: AuthConfig;
  /** Public URL of the MCP endpoint (oauth mode). */
  readonly publicUrl: string | undefined;
  readonly logger: Logger;
  /** Test and tuning knobs of the OAuth mode (JWKS cooldown, clock tolerance). */
  readonly oauth?: Partial<Pick<OAuthOptions, 'jwksCooldownMs' | 'clockToleranceS'>>;
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const { auth, logger } = options;
  if (auth.mode === 'none') return new NoAuth();
  if (auth.mode === 'key') return new KeyAuth(auth.keys, logger);
  if (!options.publicUrl) throw new Error('oauth mode needs the public URL of the MCP endpoint (MCP_PUBLIC_URL)');
  return new OAuthResourceServer({ ...auth, ...options.oauth, publicUrl: options.publicUrl, logger });
}
