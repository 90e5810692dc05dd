// The bad-input corpus: malformed and hostile requests, each with the refusal it must get.

export interface CorpusContext {
  /** A session this server minted (initialized), for cases that need a real one. */
  readonly session: string;
  readonly port: number;
  readonly prefix: string;
}

export interface CorpusCase {
  /** A sentence: what is sent. */
  readonly name: string;
  readonly method?: string;
  /** Header overrides (lower-case names); `null` removes a default header. */
  readonly headers?: (ctx: CorpusContext) => Record<string, string | null>;
  readonly body?: string | Buffer;
  /** Raw request bytes on a socket, for what fetch and node:http refuse to send (CR, LF, NUL, non-ASCII). */
  readonly raw?: (ctx: CorpusContext) => Buffer;
  /** The session id the case is about: no write may mention it (and no command at all if never minted). */
  readonly id?: (ctx: CorpusContext) => string;
  /** A value planted in Redis before the request: at `${prefix}session:{<id>}` unless `key` says otherwise. */
  readonly plant?: { readonly value: string | Record<string, string>; readonly key?: (ctx: CorpusContext, id: string) => string };
  /** Exact status expected; otherwise any 4xx. */
  readonly status?: number;
}

const V4 = 'a3bb189e-8bf9-4888-9912-ace4e6543002';
const PLANTED = ['5f0c3d2e-1b7a-4c1e-9d3f-2a6b8c9e0f11', '6e1d4c3f-2c8b-4d2f-8e4a-3b7c9d0f1a22', '7f2e5d4a-3d9c-4e3a-9f5b-4c8d0e1a2b33', '803f6e5b-4e0d-4f4b-a06c-5d9e1f2b3c44', '914a7f6c-5f1e-4a5c-b17d-6e0f2a3c4d55', 'a25b8a7d-6a2f-4b6d-821e-7f1a3b4d5e66', 'b36c9b8e-7b3a-4c7e-933f-8a2b4c5e6f77', 'c47dac9f-8c4b-4d8f-a44a-9b3c5d6f7a88', 'd58ebda0-9d5c-4e9a-b55b-ac4d6e7a8b99'];

const LIST = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
export const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'corpus', version: '1.0.0' } },
});

/** A stored session as the Redis store writes it: a hash of revision and shape JSON. */
const validShape = (id: string, patch: Record<string, unknown> = {}) =>
  JSON.stringify({
    v: 2,
    id,
    createdAt: Date.now(),
    maxExpiresAt: Date.now() + 3_600_000,
    protocolVersion: '2025-06-18',
    capabilities: {},
    clientInfo: { name: 'corpus', version: '1.0.0' },
    toolsets: [],
    ...patch,
  });
const planted = (shape: string, rev = '1') => ({ rev, shape });

/** A raw POST of tools/list with one extra header line, bytes as given. */
function rawWithHeader(line: Buffer | string) {
  return (ctx: CorpusContext) =>
    Buffer.concat([
      Buffer.from(`POST /mcp HTTP/1.1\r\nhost: 127.0.0.1:${ctx.port}\r\naccept: application/json, text/event-stream\r\ncontent-type: application/json\r\n`),
      Buffer.isBuffer(line) ? line : Buffer.from(line, 'latin1'),
      Buffer.from(`\r\ncontent-length: ${LIST.length}\r\nconnection: close\r\n\r\n${LIST}`),
    ]);
}

const withId = (id: string) => () => ({ 'mcp-session-id': id });

const sessionIds: Array<[string, string, number?]> = [
  ['an empty session id', '', 400],
  ['a 10,000-character session id', 'a'.repeat(10_000), 404],
  ['a 100,000-character session id (over the header limit)', 'b'.repeat(100_000), 431],
  ['a Redis glob star as session id', '*', 404],
  ['a Redis glob question mark as session id', '?', 404],
  ['a Redis glob character class as session id', '[a]', 404],
  ['a key pattern as session id', 'mcp-continuity:session:*', 404],
  ['a 36-character run of glob stars as session id', '*'.repeat(36), 404],
  ['a UUID-shaped glob as session id', '????????-????-4???-8???-????????????', 404],
  ['a ULID as session id', '01ARZ3NDEKTSV4RRFFQ69G5FAV', 404],
  ['a version-1 UUID as session id', 'c232ab00-9414-11ec-b3c8-9f6bdeced846', 404],
  ['the nil UUID as session id', '00000000-0000-0000-0000-000000000000', 404],
  ['a braced UUID as session id', `{${V4}}`, 404],
  ['a UUID without dashes as session id', V4.replaceAll('-', ''), 404],
  ['a path traversal as session id', '../../etc/passwd', 404],
  ['a JSON object as session id', '{"id":1}', 404],
];

export const CASES: CorpusCase[] = [
  ...sessionIds.map(([name, id, status]): CorpusCase => ({ name, headers: withId(id), body: LIST, id: () => id, ...(status ? { status } : {}) })),
  { name: 'the upper-case form of a real session id', headers: (c) => ({ 'mcp-session-id': c.session.toUpperCase() }), body: LIST, id: (c) => c.session.toUpperCase(), status: 404 },
  { name: 'a real session id with a trailing character', headers: (c) => ({ 'mcp-session-id': `${c.session}x` }), body: LIST, id: (c) => `${c.session}x`, status: 404 },
  { name: 'a well-formed v4 UUID this server never minted', headers: withId(V4), body: LIST, id: () => V4, status: 404 },
  { name: 'GET with a session id that is a glob', method: 'GET', headers: () => ({ 'mcp-session-id': '*', accept: 'text/event-stream' }), id: () => '*', status: 404 },
  { name: 'DELETE with a session id that is a glob', method: 'DELETE', headers: withId('*'), id: () => '*', status: 404 },
  { name: 'DELETE of a v4 UUID this server never minted', method: 'DELETE', headers: withId(V4), id: () => V4, status: 404 },
  { name: 'a non-ASCII (UTF-8) session id', raw: rawWithHeader(Buffer.from('mcp-session-id: sessión-ü-会话', 'utf8')), id: () => 'sessión' },
  { name: 'a session id with an emoji', raw: rawWithHeader(Buffer.from(`mcp-session-id: ${V4.slice(0, 35)}😀`, 'utf8')), id: () => '😀' },
  { name: 'a session id with CRLF and an injected header', raw: rawWithHeader('mcp-session-id: abc\r\nx-injected: 1'), id: () => 'abc' },
  { name: 'a session id with a bare CR', raw: rawWithHeader('mcp-session-id: abc\rdef'), id: () => 'abc', status: 400 },
  { name: 'a session id with a bare LF inside', raw: rawWithHeader('mcp-session-id: abc\ndef: x'), id: () => 'abc' },
  { name: 'a session id with a NUL byte', raw: rawWithHeader('mcp-session-id: abc\0def'), id: () => 'abc', status: 400 },
  { name: 'a session id with Latin-1 bytes', raw: rawWithHeader(Buffer.from([...Buffer.from('mcp-session-id: caf'), 0xe9])), id: () => 'caf' },
  { name: 'two session id headers', raw: rawWithHeader(`mcp-session-id: ${V4}\r\nmcp-session-id: *`), id: () => V4 },

  { name: 'initialize without an Accept header', headers: () => ({ accept: null }), body: INITIALIZE, status: 406 },
  { name: 'initialize accepting only JSON (SSE mode needs both)', headers: () => ({ accept: 'application/json' }), body: INITIALIZE, status: 406 },
  { name: 'initialize accepting only text/html', headers: () => ({ accept: 'text/html' }), body: INITIALIZE, status: 406 },
  { name: 'initialize with Content-Type text/plain', headers: () => ({ 'content-type': 'text/plain' }), body: INITIALIZE, status: 415 },
  { name: 'initialize without a Content-Type', headers: () => ({ 'content-type': null }), body: INITIALIZE, status: 415 },
  { name: 'a request with an unsupported MCP-Protocol-Version', headers: (c) => ({ 'mcp-session-id': c.session, 'mcp-protocol-version': '1999-01-01' }), body: LIST, status: 400 },
  { name: 'a request with a garbage MCP-Protocol-Version', headers: (c) => ({ 'mcp-session-id': c.session, 'mcp-protocol-version': 'latest; drop table' }), body: LIST, status: 400 },
  { name: 'initialize with a foreign Host (DNS rebinding)', headers: () => ({ host: 'evil.example' }), body: INITIALIZE, status: 403 },
  { name: 'initialize with a look-alike Host', headers: () => ({ host: 'localhost.evil.example:3000' }), body: INITIALIZE, status: 403 },
  { name: 'initialize with a foreign Origin', headers: () => ({ origin: 'http://evil.example' }), body: INITIALIZE, status: 403 },
  { name: 'initialize with Origin null', headers: () => ({ origin: 'null' }), body: INITIALIZE, status: 403 },
  { name: 'a request on a real session with a foreign Origin', headers: (c) => ({ 'mcp-session-id': c.session, origin: 'https://attacker.example' }), body: LIST, status: 403 },
  { name: 'a Host header that is not an authority', headers: () => ({ host: 'a b@c' }), body: INITIALIZE, status: 400 },
  { name: 'PUT on the MCP endpoint', method: 'PUT', body: LIST, status: 405 },
  { name: 'PATCH on the MCP endpoint', method: 'PATCH', body: LIST, status: 405 },
  { name: 'POST to /readyz', method: 'POST', body: LIST, status: 405 },

  { name: 'a body that is not JSON', body: '{"jsonrpc":', status: 400 },
  { name: 'an empty body', body: '', status: 400 },
  { name: 'the JSON literal null', body: 'null', status: 400 },
  { name: 'a bare number', body: '42', status: 400 },
  { name: 'JSON nested 30,000 deep', body: `${'['.repeat(30_000)}${']'.repeat(30_000)}`, status: 400 },
  { name: 'a JSON-RPC 1.0 initialize', body: INITIALIZE.replace('"2.0"', '"1.0"'), status: 400 },
  { name: 'a message without jsonrpc on a real session', headers: (c) => ({ 'mcp-session-id': c.session }), body: '{"id":1,"method":"tools/list"}', status: 400 },
  { name: 'a message whose method is a number on a real session', headers: (c) => ({ 'mcp-session-id': c.session }), body: '{"jsonrpc":"2.0","id":1,"method":7}', status: 400 },
  { name: 'notifications/initialized without a session', body: '{"jsonrpc":"2.0","method":"notifications/initialized"}', status: 400 },
  { name: 'an empty batch', body: '[]', status: 400 },
  { name: 'a batch holding an initialize and a call', body: `[${INITIALIZE},${LIST}]`, status: 400 },
  { name: 'a batch holding only an initialize', body: `[${INITIALIZE}]`, status: 400 },
  { name: 'a batch of two initializes', body: `[${INITIALIZE},${INITIALIZE}]`, status: 400 },
  { name: 'a body over MAX_BODY_BYTES', body: Buffer.alloc(70 * 1024, 0x20), status: 413 },
  { name: 'an initialize padded over MAX_BODY_BYTES', body: INITIALIZE.replace('{}', `{"x":"${'y'.repeat(70 * 1024)}"}`), status: 413 },
  { name: 'an initialize whose capabilities are 20 KB (under the body limit)', body: INITIALIZE.replace('{}', `{"x":"${'y'.repeat(20 * 1024)}"}`), status: 400 },
  { name: 'an initialize whose capabilities are nested 40 deep', body: INITIALIZE.replace('{}', `${'{"a":'.repeat(40)}1${'}'.repeat(40)}`), status: 400 },
  { name: 'an initialize whose clientInfo is 4 KB', body: INITIALIZE.replace('"name":"corpus"', `"name":"${'n'.repeat(4096)}"`), status: 400 },
  { name: 'an initialize without clientInfo.version', body: INITIALIZE.replace(',"version":"1.0.0"', ''), status: 400 },

  { name: 'a planted shape that is not JSON', id: () => PLANTED[0] as string, headers: withId(PLANTED[0] as string), plant: { value: planted('not json at all') }, body: LIST, status: 404 },
  { name: 'a planted shape cut in half', id: () => PLANTED[1] as string, headers: withId(PLANTED[1] as string), plant: { value: planted(validShape(PLANTED[1] as string).slice(0, 60)) }, body: LIST, status: 404 },
  { name: 'a planted shape of version 1', id: () => PLANTED[2] as string, headers: withId(PLANTED[2] as string), plant: { value: planted(validShape(PLANTED[2] as string, { v: 1 })) }, body: LIST, status: 404 },
  { name: 'a planted shape whose id is another session', id: () => PLANTED[3] as string, headers: withId(PLANTED[3] as string), plant: { value: planted(validShape(V4)) }, body: LIST, status: 404 },
  { name: 'a planted hash without its shape', id: () => PLANTED[4] as string, headers: withId(PLANTED[4] as string), plant: { value: { rev: '1' } }, body: LIST, status: 404 },
  { name: 'a planted shape past its absolute lifetime', id: () => PLANTED[5] as string, headers: withId(PLANTED[5] as string), plant: { value: planted(validShape(PLANTED[5] as string, { maxExpiresAt: Date.now() - 1000 })) }, body: LIST, status: 404 },
  { name: 'a planted shape whose toolsets is a string', id: () => PLANTED[6] as string, headers: withId(PLANTED[6] as string), plant: { value: planted(validShape(PLANTED[6] as string, { toolsets: 'math' })) }, body: LIST, status: 404 },
  { name: 'a planted string where the session hash belongs', id: () => PLANTED[7] as string, headers: withId(PLANTED[7] as string), plant: { value: validShape(PLANTED[7] as string) }, body: LIST, status: 404 },
  {
    name: 'a valid session planted under a foreign key prefix',
    id: () => PLANTED[8] as string,
    headers: withId(PLANTED[8] as string),
    plant: { value: planted(validShape(PLANTED[8] as string)), key: (_c, id) => `someone-else:session:{${id}}` },
    body: LIST,
    status: 404,
  },
];
