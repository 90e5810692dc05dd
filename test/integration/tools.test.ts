// The shipped tools through a real SDK client: list_changed on enable_toolset, limits, session_info.
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../app/config.js';
import { startServer, type RunningServer } from '../../app/server.js';
import { DATA_LIMITS } from '../../app/sessions/data.js';
import { connectLegacy } from '../support/clients.js';

let server: RunningServer;
beforeAll(async () => {
  server = await startServer(loadConfig({ PORT: '0' }), { logger: pino({ level: 'silent' }) });
});
afterAll(async () => {
  await server?.close();
});

describe('tools', () => {
  it('tools:toolset — enable_toolset registers tools for this session only and sends tools/list_changed', async () => {
    const [one, other] = [await connectLegacy(server.url), await connectLegacy(server.url)];
    const changed = new Promise<void>((resolve) => one.client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve()));
    await one.call('enable_toolset', { name: 'math' });
    await changed;
    expect((await one.client.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['add', 'multiply']));
    expect((await other.client.listTools()).tools.map((t) => t.name)).not.toContain('add');
    expect(await one.call('enable_toolset', { name: 'math' })).toContain('already enabled');
    await expect(one.call('enable_toolset', { name: 'nope' })).rejects.toThrow(/Unknown toolset "nope"/);
    await Promise.all([one.close(), other.close()]);
  });

  it('tools:scratchpad — remember refuses to grow past its limits and recall says when nothing is there', async () => {
    const c = await connectLegacy(server.url);
    await expect(c.call('recall', { key: 'missing' })).rejects.toThrow(/Nothing is remembered/);
    for (let i = 0; i < DATA_LIMITS.keys; i++) await c.call('remember', { key: `k${i}`, value: 'x'.repeat(200) });
    await expect(c.call('remember', { key: 'one-more', value: 'x' })).rejects.toThrow(/already holds 64 keys/);
    await c.call('remember', { key: 'k0', value: 'overwrite is fine' });
    expect(await c.call('recall', { key: 'k0' })).toBe('overwrite is fine');
    await c.close();
  });

  it('tools:session-info — reports the session, client, negotiated version and replica', async () => {
    const c = await connectLegacy(server.url, { name: 'info-client' });
    const info = JSON.parse(await c.call('session_info'));
    expect(info).toMatchObject({
      sessionId: c.sessionId,
      protocolVersion: '2025-11-25',
      client: { name: 'info-client', version: '1.0.0' },
      replica: { name: expect.stringMatching(/^replica-[0-9a-f]{6}$/) },
      restored: false,
    });
    expect(Date.parse(info.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    await c.close();
  });
});
