// A server span per MCP request (OpenTelemetry MCP conventions), continuing the client's trace from _meta or the headers.
import { sessionTag } from '../sessions/shape.js';
import { telemetry } from './index.js';
import { instruments, secondsSince } from './instruments.js';
import { whenResponseEnds } from './response-end.js';
import { enter, leave } from './scope.js';
import { errorType, type Attributes, type SpanHandle, type Telemetry, type TraceCarrier } from './types.js';

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

/** Ends `request` when a streamed body ends or is cancelled (an SSE answer outlives handle()). */
function onBodyEnd(response: Response, request: RequestSpan): Response {
  if (!response.body) {
    request.finish();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          request.finish();
          controller.close();
        } else controller.enqueue(value);
      } catch (error) {
        request.finish();
        controller.error(error);
      }
    },
    cancel(reason) {
      request.finish();
      return reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** Name and attributes of one kind of request, built once and reused (spans and metric points alike). */
interface Kind {
  readonly name: string;
  readonly common: Attributes;
  /** `common` plus `error.type`, by type. */
  readonly failed: Map<string, Attributes>;
}

const kinds = new Map<string, Kind>();
function kindOf(method: string, tool: string | undefined, protocolVersion: string | null | undefined): Kind {
  const key = `${method}\n${tool ?? ''}\n${protocolVersion ?? ''}`;
  let kind = kinds.get(key);
  if (!kind) {
    // Tool names come from clients: bounded like the tags.
    if (kinds.size >= 1000) kinds.clear();
    const common: Record<string, string> = { 'mcp.method.name': method };
    if (method === 'tools/call' && tool !== undefined) common['gen_ai.tool.name'] = tool;
    if (protocolVersion) common['mcp.protocol.version'] = protocolVersion;
    kinds.set(key, (kind = { name: tool ? `${method} ${tool}` : method, common, failed: new Map() }));
  }
  return kind;
}

/** One request's span and its operation-duration point, ended once (methods, no closures per request). */
class RequestSpan {
  #ended = false;
  #session: string | undefined;
  #tag: string | undefined;

  constructor(
    readonly span: SpanHandle,
    readonly kind: Kind | undefined,
    readonly started: number,
  ) {}

  /** The session this request is about: the parent of what its store commands and restore start. */
  attach(sessionId: string, tag: string): void {
    this.#session = sessionId;
    this.#tag = tag;
    enter(sessionId, this.span, tag);
  }

  /** `finish()` as a callback, made only for a streamed answer. */
  get finishOk(): () => void {
    return () => this.finish();
  }

  finish(failure?: string): void {
    if (this.#ended) return;
    this.#ended = true;
    if (failure) this.span.fail(failure);
    this.span.end();
    if (this.#session !== undefined) leave(this.#session, this.span, this.#tag);
    if (!this.kind) return;
    let attributes = this.kind.common;
    if (failure) {
      attributes = this.kind.failed.get(failure) ?? { ...attributes, 'error.type': failure };
      if (this.kind.failed.size < 50) this.kind.failed.set(failure, attributes);
    }
    instruments().operationDuration.record(secondsSince(this.started), attributes);
  }
}

/** Initialize requests by their Request, until the session host names the id it minted. */
const initializing = new WeakMap<Request, RequestSpan>();

/** The session host minted `id` for this initialize: its store commands are children of the request's span. */
export function sessionMinted(request: Request, id: string): void {
  initializing.get(request)?.attach(id, tagOf(id));
}

/** A GET: the stream's opening (or its resume from Last-Event-ID, with the replay), not its whole life. */
async function traceStream(t: Telemetry, request: Request, sessionId: string | null, fn: () => Promise<Response>): Promise<Response> {
  const resume = request.headers.has('last-event-id');
  const span = t.startSpan(resume ? 'mcp.stream.resume' : 'mcp.stream.open', { kind: 'server', parent: headerParent(request.headers) });
  const traced = new RequestSpan(span, undefined, 0);
  if (sessionId) {
    const tag = tagOf(sessionId);
    span.setAttribute('mcp.session.id', tag);
    traced.attach(sessionId, tag);
  }
  try {
    const response = await fn();
    span.setAttribute('http.response.status_code', response.status);
    if (resume) instruments().replays.add(1, response.status === 200 ? REPLAYED : response.status === 204 ? NOTHING_LEFT : REFUSED);
    traced.finish(response.status >= 400 ? String(response.status) : undefined);
    return response;
  } catch (error) {
    if (resume) instruments().replays.add(1, REFUSED);
    traced.finish(errorType(error));
    throw error;
  }
}

const REPLAYED = { outcome: 'replayed' } as const;
const NOTHING_LEFT = { outcome: 'complete' } as const;
const REFUSED = { outcome: 'refused' } as const;

function headerParent(headers: Headers): TraceCarrier | undefined {
  const traceparent = headers.get('traceparent');
  return traceparent ? { traceparent, tracestate: headers.get('tracestate') ?? undefined } : undefined;
}

/**
 * Runs the host's handling of one parsed POST inside a server span named `{mcp.method.name} {target}`,
 * ended when the response ends (an SSE answer outlives the handler); a GET inside a span for the stream's
 * opening or resume. Off: just `fn()`. `mcp.session.id` is the session tag the logs use (a short hash), never the id.
 */
export async function traceRequest(request: Request, body: unknown, fn: () => Promise<Response>): Promise<Response> {
  const t = telemetry();
  if (!t.enabled) return fn();
  const started = performance.now();
  const headers = request.headers;
  const sessionId = headers.get('mcp-session-id');
  if (request.method === 'GET') return traceStream(t, request, sessionId, fn);
  const rpc = summarize(body);
  const method = rpc.method ?? 'unknown';
  const kind = kindOf(method, rpc.target, headers.get('mcp-protocol-version') ?? rpc.protocolVersion);
  const span = t.startSpan(kind.name, { kind: 'server', parent: rpc.meta?.traceparent ? rpc.meta : headerParent(headers), attributes: kind.common });
  span.setAttribute('jsonrpc.request.id', rpc.id);
  const traced = new RequestSpan(span, kind, started);
  if (sessionId) {
    const tag = tagOf(sessionId);
    span.setAttribute('mcp.session.id', tag);
    traced.attach(sessionId, tag);
  } else initializing.set(request, traced);
  let response: Response;
  try {
    response = await fn();
  } catch (error) {
    const status = (error as { status?: unknown }).status;
    span.setAttribute('http.response.status_code', typeof status === 'number' ? status : 500);
    traced.finish(errorType(error));
    throw error;
  }
  // Only an initialize answer carries a new session id (the span has it already if the host named it).
  const created = sessionId ? null : response.headers.get('mcp-session-id');
  // The status makes the span a request with a result code in Application Insights.
  span.setAttribute('http.response.status_code', response.status);
  if (created) span.setAttribute('mcp.session.id', tagOf(created));
  if (response.status >= 400) {
    traced.finish(String(response.status));
    return response;
  }
  // A JSON answer is complete when the handler returns; only a stream needs watching.
  if (!(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
    traced.finish();
    return response;
  }
  // Served by our node:http server: it says when the last byte is out. Otherwise: watch the body.
  return whenResponseEnds(response, traced.finishOk) ? response : onBodyEnd(response, traced);
}
