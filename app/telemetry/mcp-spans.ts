// A server span per MCP request (OpenTelemetry MCP conventions), continuing the client's trace from _meta or the headers.
import { sessionTag } from '../sessions/shape.js';
import { telemetry } from './index.js';
import { instruments, secondsSince } from './instruments.js';
import { errorType, type TraceCarrier } from './types.js';

interface RpcSummary {
  readonly method: string | undefined;
  readonly id: string | undefined;
  readonly target: string | undefined;
  readonly protocolVersion: string | undefined;
  readonly meta: TraceCarrier | undefined;
}

const NOTHING: RpcSummary = { method: undefined, id: undefined, target: undefined, protocolVersion: undefined, meta: undefined };

/** Session tags by id: a SHA-256 per request is a measurable share of a warm call. Bounded; emptied when full. */
const tags = new Map<string, string>();
function tagOf(id: string): string {
  let tag = tags.get(id);
  if (tag === undefined) {
    if (tags.size >= 10_000) tags.clear();
    tags.set(id, (tag = sessionTag(id)));
  }
  return tag;
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** What the span needs from a JSON-RPC body: method, id, target, and `_meta` trace context. */
function summarize(body: unknown): RpcSummary {
  const message = (Array.isArray(body) ? body[0] : body) as { method?: unknown; id?: unknown; params?: Record<string, unknown> } | undefined;
  if (!message || typeof message !== 'object') return NOTHING;
  const params = message.params && typeof message.params === 'object' ? message.params : undefined;
  const meta = params?._meta && typeof params._meta === 'object' ? (params._meta as Record<string, unknown>) : undefined;
  const method = str(message.method);
  return {
    method,
    id: typeof message.id === 'string' || typeof message.id === 'number' ? String(message.id) : undefined,
    // Tool and prompt names are the conventions' targets; resource URIs may carry ids, so they stay out of names.
    target: method === 'tools/call' || method === 'prompts/get' ? str(params?.name) : undefined,
    protocolVersion: method === 'initialize' ? str(params?.protocolVersion) : undefined,
    meta: meta ? { traceparent: str(meta.traceparent), tracestate: str(meta.tracestate) } : undefined,
  };
}

/** Ends `finish` when a streamed body ends or is cancelled (an SSE answer outlives handle()). */
function onBodyEnd(response: Response, finish: () => void): Response {
  if (!response.body) {
    finish();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          finish();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * Runs the host's handling of one parsed POST inside a server span named `{mcp.method.name} {target}`,
 * ended when the response ends (an SSE answer outlives the handler). Off: just `fn()`.
 * `mcp.session.id` is the session tag the logs use (a short hash), never the id.
 */
export async function traceRequest(request: Request, body: unknown, fn: () => Promise<Response>): Promise<Response> {
  const t = telemetry();
  if (!t.enabled) return fn();
  const started = performance.now();
  const rpc = summarize(body);
  const method = rpc.method ?? 'unknown';
  const headers = request.headers;
  const sessionId = headers.get('mcp-session-id');
  const headerParent = headers.get('traceparent');
  const common = { 'mcp.method.name': method, 'gen_ai.tool.name': method === 'tools/call' ? rpc.target : undefined, 'mcp.protocol.version': headers.get('mcp-protocol-version') ?? rpc.protocolVersion };
  const { span, run } = t.startSpan(rpc.target ? `${method} ${rpc.target}` : method, {
    kind: 'server',
    parent: rpc.meta?.traceparent ? rpc.meta : headerParent ? { traceparent: headerParent, tracestate: headers.get('tracestate') ?? undefined } : undefined,
    attributes: { ...common, 'mcp.session.id': sessionId ? tagOf(sessionId) : undefined, 'jsonrpc.request.id': rpc.id },
  });
  let ended = false;
  const finish = (failure?: string) => {
    if (ended) return;
    ended = true;
    if (failure) span.fail(failure);
    span.end();
    instruments().operationDuration.record(secondsSince(started), failure ? { ...common, 'error.type': failure } : common);
  };
  let response: Response;
  try {
    response = await run(fn);
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    span.setAttributes({ 'http.response.status_code': typeof status === 'number' ? status : 500 });
    finish(errorType(error));
    throw error;
  }
  // Only an initialize answer carries a new session id.
  const created = sessionId ? null : response.headers.get('mcp-session-id');
  // The status makes the span a request with a result code in Application Insights.
  span.setAttributes(created ? { 'http.response.status_code': response.status, 'mcp.session.id': tagOf(created) } : { 'http.response.status_code': response.status });
  if (response.status >= 400) {
    finish(String(response.status));
    return response;
  }
  // A JSON answer is complete when the handler returns; only a stream needs watching.
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    finish();
    return response;
  }
  return onBodyEnd(response, () => finish());
}
