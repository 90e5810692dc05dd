// One HTTP error type carrying its status, JSON-RPC code and cause; rendered as a JSON-RPC error body.

/** JSON-RPC codes used on the wire. -32001 is the code MCP servers use for "session not found". */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  invalidParams: -32602,
  serverError: -32000,
  sessionNotFound: -32001,
  internalError: -32603,
} as const;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly rpcCode: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }

  toResponse(): Response {
    return jsonRpcError(this.status, this.rpcCode, this.message, this.headers);
  }
}

export function jsonRpcError(status: number, code: number, message: string, headers: Readonly<Record<string, string>> = {}): Response {
  return Response.json({ jsonrpc: '2.0', error: { code, message }, id: null }, { status, headers });
}

export const sessionNotFound = () =>
  new HttpError(404, RPC.sessionNotFound, 'Session not found: start a new session with initialize');
