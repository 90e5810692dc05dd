// Telemetry to Azure Monitor: a real replica with APPLICATIONINSIGHTS_CONNECTION_STRING, a loopback TLS fake of the ingestion endpoint.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectLegacy } from '../support/clients.js';
import { FakeIngestion } from '../support/fake-ingestion.js';
import { ServerProcess } from '../support/server-process.js';

let ingestion: FakeIngestion;
let server: ServerProcess | undefined;

beforeAll(async () => {
  ingestion = await FakeIngestion.start();
});

afterAll(async () => {
  await server?.kill();
  await ingestion?.close();
});

describe('telemetry exported to Azure Monitor', () => {
  it('telemetry:azure-monitor — a tools/call arrives as a request in the client trace, with the MCP attributes and no session id', async () => {
    const iKey = randomUUID();
    server = await ServerProcess.start({
      env: {
        APPLICATIONINSIGHTS_CONNECTION_STRING: ingestion.connectionString(iKey),
        NODE_EXTRA_CA_CERTS: ingestion.caFile,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        // The SDK's own usage reports go to Microsoft, not to the connection string's endpoint.
        APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL: 'true',
      },
    });
    const client = await connectLegacy(server.url);
    const traceId = randomBytes(16).toString('hex');
    await client.client.callTool({ name: 'session_info', arguments: {}, _meta: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } });

    const until = Date.now() + 20_000;
    const request = () => ingestion.envelopes.find((e) => e.data?.baseType === 'RequestData' && e.tags?.['ai.operation.id'] === traceId);
    while (!request() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    const found = request();
    expect(found, `trace ${traceId}; envelopes received: ${JSON.stringify(ingestion.envelopes.map((e) => [e.data?.baseType, e.data?.baseData?.name, e.tags?.["ai.operation.id"], e.tags?.["ai.operation.parentId"]]))}`).toBeDefined();
    expect(found!.iKey).toBe(iKey);
    expect(found!.data?.baseData?.name).toBe('tools/call session_info');
    expect(found!.data?.baseData?.properties).toMatchObject({ 'mcp.method.name': 'tools/call', 'gen_ai.tool.name': 'session_info' });
    expect(ingestion.bodies.join('\n')).not.toContain(client.sessionId);
    await client.close();
  });
});
