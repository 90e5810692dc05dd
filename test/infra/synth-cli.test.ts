// `npm run synth` (tsx infra/main.ts) writes both environments; run as a real process into a temp outdir.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'mcp-continuity-synth-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const tsx = join(root, 'node_modules', '.bin', 'tsx');
// Clear INFRA_* so a developer's shell cannot change what is checked here.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFRA_')));

describe('the synth entry point', () => {
  it('writes cdktf.out/stacks/dev and prod cdk.tf.json without absolute paths', () => {
    execFileSync(tsx, ['infra/main.ts'], { cwd: root, env: { ...env, CDKTF_OUTDIR: outdir, INFRA_IMAGE: 'registry.example.test/mcp-continuity:1.0.0' }, stdio: 'pipe' });
    for (const stack of ['dev', 'prod']) {
      const file = join(outdir, 'stacks', stack, 'cdk.tf.json');
      expect(existsSync(file)).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(JSON.parse(text).terraform.backend.local.path).toBe(`../../../terraform.${stack}.tfstate`);
      expect(text).not.toContain(root);
      expect(text).not.toContain(outdir);
    }
  });

  it('refuses to synthesize without an image and names INFRA_IMAGE and npm run deploy', () => {
    const run = spawnSync(tsx, ['infra/main.ts'], { cwd: root, env: { ...env, CDKTF_OUTDIR: join(outdir, 'no-image') }, encoding: 'utf8' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('INFRA_IMAGE');
    expect(run.stderr).toContain('npm run deploy -- dev');
    expect(run.stderr).not.toMatch(/\n\s+at /); // a message to act on, not a stack trace
    expect(existsSync(join(outdir, 'no-image', 'stacks', 'dev', 'cdk.tf.json'))).toBe(false);
  });
});
