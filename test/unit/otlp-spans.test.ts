// The app's own OTLP span pipeline against a real OTLP/HTTP receiver: parents, sampling, the encoded form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpSpans } from '../../app/telemetry/otlp-spans.js';
import { OtlpReceiver } from '../support/otlp-receiver.js';

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await OtlpReceiver.start();
});
afterAll(() => receiver?.close());

const pipeline = (sampling = { ratio: 1, parentBased: true }) =>
  new OtlpSpans({ url: `${receiver.endpoint}/v1/traces`, headers: {}, resource: { 'service.name': 'unit', 'service.instance.id': 'r1' }, scope: 'mcp-continuity', delayMs: 60_000, sampling });

describe('OTLP spans of our own', () => {
  it('telemetry:otlp-spans — a client trace continued, a child under its parent, attributes and a failure as sent; an unsampled client trace records nothing', async () => {
    const spans = pipeline();
    const traceId = 'a'.repeat(31) + '1';
    const server = spans.start('tools/call recall', { kind: 'server', parent: { traceparent: `00-${traceId}-${'b'.repeat(15)}1-01` }, attributes: { 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'recall' } })!;
    server.setAttribute('jsonrpc.request.id', '7');
    server.setAttribute('http.response.status_code', 200);
    const child = spans.start('session-store load', { kind: 'client', childOnly: true, parent: server })!;
    child.fail('unavailable');
    child.end();
    server.end();
    // Without a parent span a child-only span is not started at all.
    expect(spans.start('session-store touch', { childOnly: true })).toBeUndefined();
    // The client did not sample its trace: neither the span nor its child is exported.
    const unsampled = spans.start('tools/call x', { kind: 'server', parent: { traceparent: `00-${'c'.repeat(32)}-${'d'.repeat(16)}-00` } })!;
    spans.start('session-store load', { childOnly: true, parent: unsampled })!.end();
    unsampled.end();
    await spans.flush();

    expect(receiver.spans).toHaveLength(2);
    const [load, call] = receiver.spans;
    expect(call).toMatchObject({ traceId, parentSpanId: `${'b'.repeat(15)}1`, name: 'tools/call recall', kind: 2, service: 'unit' });
    expect(call!.attributes).toEqual({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'recall', 'jsonrpc.request.id': '7', 'http.response.status_code': 200 });
    expect(load).toMatchObject({ traceId, parentSpanId: call!.spanId, kind: 3, status: { code: 2 }, attributes: { 'error.type': 'unavailable' } });
    expect(call!.spanId).toMatch(/^[0-9a-f]{16}$/);
    const body = receiver.bodies.at(-1)!.body as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ startTimeUnixNano: string; endTimeUnixNano: string }> }> }> };
    const encoded = body.resourceSpans[0]!.scopeSpans[0]!.spans[1]!;
    // Unix nanoseconds, now-ish, end after start.
    expect(Math.abs(Number(BigInt(encoded.startTimeUnixNano) / 1_000_000n) - Date.now())).toBeLessThan(60_000);
    expect(BigInt(encoded.endTimeUnixNano) >= BigInt(encoded.startTimeUnixNano)).toBe(true);
  });

  it('telemetry:otlp-spans-root — a new trace gets fresh ids; ratio 0 keeps none', async () => {
    const before = receiver.spans.length;
    const spans = pipeline();
    const a = spans.start('initialize', { kind: 'server' })!;
    const b = spans.start('initialize', { kind: 'server' })!;
    a.end();
    b.end();
    const none = pipeline({ ratio: 0, parentBased: true });
    none.start('initialize', { kind: 'server' })!.end();
    await Promise.all([spans.flush(), none.flush()]);
    const got = receiver.spans.slice(before);
    expect(got).toHaveLength(2);
    expect(got[0]!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(got[0]!.traceId).not.toBe(got[1]!.traceId);
    expect(got[0]!.parentSpanId).toBeUndefined();
  });
});
