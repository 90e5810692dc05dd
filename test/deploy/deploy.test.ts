// npm run deploy / destroy against fake az and terraform: build once per content, roll out, wait, print, no secret shown.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployWorld, line, type RunResult } from './deploy-world.js';

let world: DeployWorld;
beforeAll(async () => {
  world = await DeployWorld.create();
});
afterAll(() => world.close());

const lines = (result: RunResult) => result.calls.map(line);
const appliedImages = (result: RunResult) => result.calls.filter((c) => c[0] === 'terraform' && c.includes('apply'));

describe('npm run deploy -- dev', () => {
  let fresh: RunResult;
  let tag: string;

  it('on a fresh subscription provisions the base, stores an API key, builds the image, applies, waits for /readyz and prints the endpoint', async () => {
    world.readyAnswers = [503, 503, 200];
    fresh = await world.run(['deploy', 'dev']);
    expect(fresh.stderr).toBe('');
    expect(fresh.code).toBe(0);
    const calls = lines(fresh);
    const order = ['az version', 'terraform version', 'az account show', 'terraform -chdir=', 'az keyvault secret show', 'az keyvault secret set', 'az acr repository list', 'az acr build'];
    let at = -1;
    for (const start of order) {
      const next = calls.findIndex((c, i) => i > at && c.startsWith(start));
      expect(next, `${start} after call ${at}: ${calls.join('\n')}`).toBeGreaterThan(at);
      at = next;
    }
    // The base apply targets exactly the registry, vault, identity, group and their role assignments; the full apply comes after the build.
    const [base, full] = appliedImages(fresh);
    expect(base!.filter((a) => a.startsWith('-target=')).map((a) => a.split('.')[0]).sort()).toEqual(
      ['azurerm_container_registry', 'azurerm_key_vault', 'azurerm_resource_group', 'azurerm_role_assignment', 'azurerm_role_assignment', 'azurerm_user_assigned_identity'].map((t) => `-target=${t}`),
    );
    expect(full!.some((a) => a.startsWith('-target='))).toBe(false);
    expect(calls.indexOf(line(full!))).toBeGreaterThan(calls.findIndex((c) => c.startsWith('az acr build')));

    const build = fresh.calls.find((c) => line(c).startsWith('az acr build'))!;
    const image = build[build.indexOf('--image') + 1]!;
    expect(image).toMatch(/^mcp-continuity:[0-9a-f]{12}$/);
    tag = image.split(':')[1]!;
    expect(build.at(-1)).toBe(world.clone);
    expect(world.state().appliedImage).toMatch(new RegExp(`/${image}$`));
    expect(world.state().revision).toBe(1);
    expect(world.readyHits).toBe(3);
    expect(fresh.stdout).toMatch(/not ready yet \(HTTP 503/);
    expect(fresh.stdout).toContain('MCP endpoint: https://mcp-continuity-dev.example.test/mcp');
    expect(fresh.stdout).toContain('.vscode/mcp.json');
    expect(fresh.stdout).toContain('npx @modelcontextprotocol/inspector');
  });

  it('stores the API key as "id:key" without ever putting it on a command line or on the screen', () => {
    const secret = world.state().secret!;
    expect(secret).toMatch(/^deploy:[A-Za-z0-9_-]{43}$/);
    const key = secret.split(':')[1]!;
    expect(lines(fresh).join('\n')).not.toContain(key);
    expect(fresh.stdout + fresh.stderr).not.toContain(key);
    expect(fresh.stdout).toMatch(/az keyvault secret show --vault-name kv-mcpc-dev-[0-9a-f]{6} --name mcp-api-keys --query value -o tsv/);
  });

  it('again with nothing changed builds nothing, keeps the image tag and makes no new revision, and leaves the key alone', async () => {
    const secret = world.state().secret;
    const again = await world.run(['deploy', 'dev']);
    expect(again.code).toBe(0);
    expect(lines(again).some((c) => c.startsWith('az acr build'))).toBe(false);
    expect(lines(again).some((c) => c.startsWith('az keyvault secret set'))).toBe(false);
    expect(lines(again).some((c) => c.startsWith('az acr repository show-tags --name acrmcpcdev'))).toBe(true);
    expect(again.stdout).toContain(`mcp-continuity:${tag} is already in the registry`);
    expect(world.state().revision).toBe(1);
    expect(world.state().secret).toBe(secret);
  });

  it('after a change in app/ builds a new tag and rolls out a new revision', async () => {
    appendFileSync(join(world.clone, 'app', 'main.ts'), '\n// a change\n');
    const changed = await world.run(['deploy', 'dev']);
    expect(changed.code).toBe(0);
    const build = changed.calls.find((c) => line(c).startsWith('az acr build'));
    expect(build).toBeDefined();
    const image = build![build!.indexOf('--image') + 1]!;
    expect(image).not.toBe(`mcp-continuity:${tag}`);
    expect(world.state().revision).toBe(2);
    expect(changed.stdout).toContain('mcp-continuity-dev--r2');
  });
});

describe('npm run deploy -- dev with INFRA_AUTH=none', () => {
  it('touches no API-keys secret and prints a client config without a key', async () => {
    const result = await world.run(['deploy', 'dev'], { env: { INFRA_AUTH: 'none' } });
    expect(result.code).toBe(0);
    expect(lines(result).some((c) => c.startsWith('az keyvault'))).toBe(false);
    expect(result.stdout).toContain('auth mode "none" reads no API keys');
    expect(result.stdout).not.toContain('Authorization');
  });
});

describe('npm run destroy -- dev', () => {
  it('with --yes destroys without a prompt (-auto-approve)', async () => {
    const result = await world.run(['destroy', 'dev', '--yes']);
    expect(result.code).toBe(0);
    const destroy = result.calls.find((c) => c.includes('destroy'));
    expect(destroy).toEqual(expect.arrayContaining(['destroy', '-auto-approve', '-input=false']));
    expect(result.stdout).toContain('soft-deleted');
  });

  it('without --yes and without a terminal refuses before touching anything', async () => {
    const result = await world.run(['destroy', 'dev']);
    expect(result.code).toBe(2);
    expect(result.calls).toEqual([]);
    expect(result.stderr).toContain('npm run destroy -- dev --yes');
  });
});
