// The image tag hashes exactly the build context: what the Dockerfile copies changes it, nothing else does.
import { appendFileSync, cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { contextFiles, imageTag } from '../../scripts/deploy/image-tag.js';
import { readDockerfile } from './dockerfile.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const INPUTS = ['Dockerfile', '.dockerignore', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'app'];
let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A copy of the image inputs plus a README and a test dir, which are not inputs. */
function copy(): string {
  dir = mkdtempSync(join(tmpdir(), 'mcp-continuity-tag-'));
  for (const entry of INPUTS) cpSync(join(ROOT, entry), join(dir, entry), { recursive: true });
  writeFileSync(join(dir, 'README.md'), 'readme');
  return dir;
}

describe('the image tag', () => {
  it('covers every path the Dockerfile copies from the build context', () => {
    const files = contextFiles(ROOT);
    const copied = readDockerfile(ROOT)
      .flatMap((stage) => stage.instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(copied.length).toBeGreaterThan(0);
    for (const path of copied) expect(files.some((f) => f === path || f.startsWith(`${path}/`)), path).toBe(true);
  });

  it('is the same for the same tree and changes with app/, the lockfile or the Dockerfile, not with other files', () => {
    const root = copy();
    const first = imageTag(root);
    expect(first).toMatch(/^[0-9a-f]{12}$/);
    expect(imageTag(root)).toBe(first);
    appendFileSync(join(root, 'README.md'), 'more');
    expect(imageTag(root)).toBe(first);
    const seen = new Set([first]);
    for (const file of ['app/main.ts', 'package-lock.json', 'Dockerfile']) {
      appendFileSync(join(root, file), '\n');
      const tag = imageTag(root);
      expect(seen.has(tag), file).toBe(false);
      seen.add(tag);
    }
  });

  it('refuses a .dockerignore pattern it cannot hash faithfully', () => {
    const root = copy();
    appendFileSync(join(root, '.dockerignore'), '!docs/**/*.md\n');
    expect(() => imageTag(root)).toThrow(/unsupported pattern "!docs\/\*\*\/\*\.md"/);
  });
});
