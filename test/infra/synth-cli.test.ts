// `npm run synth` (tsx infra/main.ts) writes both environments; run as a real process into a temp outdir.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const outdir = mkdtempSync(join(tmpdir(), 'mcp-continuity-synth-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the synth entry point', () => {
  it('writes cdktf.out/stacks/dev and prod cdk.tf.json without absolute paths', () => {
    const tsx = join(root, 'node_modules', '.bin', 'tsx');
    // Clear INFRA_* so a developer's shell cannot change what is checked here.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('INFRA_')));
    execFileSync(tsx, ['infra/main.ts'], { cwd: root, env: { ...env, CDKTF_OUTDIR: outdir }, stdio: 'pipe' });
    for (const stack of ['dev', 'prod']) {
      const file = join(outdir, 'stacks', stack, 'cdk.tf.json');
      expect(existsSync(file)).toBe(true);
      const text = readFileSync(file, 'utf8');
      expect(JSON.parse(text).terraform.backend.local.path).toBe(`../../../terraform.${stack}.tfstate`);
      expect(text).not.toContain(root);
      expect(text).not.toContain(outdir);
    }
  });
});
