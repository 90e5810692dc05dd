// A real OTLP/HTTP receiver for tests: accepts what the JSON exporters send and keeps the decoded requests.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type AnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type KeyValue = { key: string; value: AnyValue };

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Record<string, string | number | boolean>;
  readonly status: { code?: number };
  readonly service: string | undefined;
}

export interface ReceivedPoint {
  readonly metric: string;
  readonly attributes: Record<string, string | number | boolean>;
  /** Sum or gauge value, or a histogram's count. */
  readonly value: number;
  readonly service: string | undefined;
  readonly instance: string;
}

const valueOf = (v: AnyValue): string | number | boolean =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : v.doubleValue ?? v.boolValue ?? '');

const attrs = (list: readonly KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

export class OtlpReceiver {
  readonly bodies: Array<{ path: string; contentType: string; body: unknown }> = [];
  readonly spans: ReceivedSpan[] = [];
  /** Every exported point, in arrival order (cumulative: the last one per series is the total). */
  readonly points: ReceivedPoint[] = [];

  private constructor(readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const contentType = req.headers['content-type'] ?? '';
        const text = Buffer.concat(chunks).toString('utf8');
        if (!contentType.includes('json')) {
          res.writeHead(415).end();
          return;
        }
        const body = JSON.parse(text) as unknown;
        receiver.bodies.push({ path: req.url ?? '', contentType, body });
        receiver.#decode(req.url ?? '', body, req.socket.remotePort ?? 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #decode(path: string, body: unknown, _port: number): void {
    if (path.endsWith('/v1/traces')) {
      for (const rs of (body as { resourceSpans?: any[] }).resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const s of ss.spans ?? []) {
            this.spans.push({ traceId: s.traceId, spanId: s.spanId, parentSpanId: s.parentSpanId || undefined, name: s.name, kind: s.kind, attributes: attrs(s.attributes), status: s.status ?? {}, service: resource['service.name'] as string | undefined });
          }
        }
      }
    } else if (path.endsWith('/v1/metrics')) {
      for (const rm of (body as { resourceMetrics?: any[] }).resourceMetrics ?? []) {
        const resource = attrs(rm.resource?.attributes);
        for (const sm of rm.scopeMetrics ?? []) {
          for (const m of sm.metrics ?? []) {
            const points = m.sum?.dataPoints ?? m.gauge?.dataPoints ?? m.histogram?.dataPoints ?? [];
            for (const p of points) {
              const value = m.histogram ? Number(p.count) : Number(p.asInt ?? p.asDouble ?? 0);
              this.points.push({ metric: m.name, attributes: attrs(p.attributes), value, service: resource['service.name'] as string | undefined, instance: String(resource['service.instance.id'] ?? resource['service.name'] ?? '') });
            }
          }
        }
      }
    }
  }

  /** The latest cumulative value of `metric` per series from `service`, summed over series matching `where`. */
  total(metric: string, where: Record<string, string> = {}, service?: string): number {
    const latest = new Map<string, number>();
    for (const p of this.points) {
      if (p.metric !== metric || (service && p.service !== service)) continue;
      if (!Object.entries(where).every(([k, v]) => p.attributes[k] === v)) continue;
      latest.set(`${p.service}|${JSON.stringify(p.attributes)}`, p.value);
    }
    return [...latest.values()].reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
