// The Dockerfile and compose.yaml cannot run here (no Docker engine), so their promises are checked by reading.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV } from '../../app/config.js';

const root = join(import.meta.dirname, '..', '..');
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const compose = readFileSync(join(root, 'compose.yaml'), 'utf8');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

describe('the Dockerfile', () => {
  it('installs production dependencies only, from the lockfile', () => {
    expect(dockerfile).toMatch(/^RUN npm ci --omit=dev\b/m);
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
  });

  it('runs as a non-root user and listens on 0.0.0.0:3000', () => {
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/HOST=0\.0\.0\.0/);
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
  });

  it('starts what npm start starts, without npm, and npm start execs it so signals reach node', () => {
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? 'null') as string[];
    expect(cmd).toEqual(['node', 'dist/app/main.js']);
    expect(pkg.scripts.start).toBe(`exec ${cmd.join(' ')}`);
  });

  it('runs compiled JavaScript: no tsx in the runtime stage', () => {
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).not.toMatch(/\btsx\b/);
    expect(runtime).toMatch(/^COPY --from=build /m);
  });
});

describe('compose.yaml', () => {
  it('runs Redis with allkeys-lru and no persistence', () => {
    expect(compose).toContain('"--maxmemory-policy", "allkeys-lru"');
    expect(compose).toContain('"--save", ""');
    expect(compose).toContain('"--appendonly", "no"');
  });

  it('gives the app only environment names that app/config.ts reads', () => {
    const block = compose.slice(compose.indexOf('    environment:'), compose.indexOf('    ports:'));
    const names = [...block.matchAll(/^ {6}([A-Z_]+):/gm)].map((m) => m[1]);
    expect(names).toEqual([ENV.redisUrl, ENV.host, ENV.port, ENV.allowedHosts, ENV.drainDelay, ENV.allowedOrigins]);
  });
});
