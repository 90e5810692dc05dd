// Content hash of exactly what goes into the image: the files .dockerignore lets into the build context.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';

/** Repository name of the image in the stack's registry. */
export const IMAGE_REPOSITORY = 'mcp-continuity';

/**
 * The build context's files, from `.dockerignore`'s allowlist form (`*`, then `!path` lines): the same
 * list `az acr build` uploads, so the tag changes exactly when the image's input changes. Any other
 * pattern is refused rather than half-understood, which would make the tag lie.
 */
export function contextFiles(root: string): string[] {
  const lines = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  if (lines[0] !== '*') throw new Error('.dockerignore must start with "*" and list the image inputs as "!path" lines');
  const files = new Set<string>(['Dockerfile', '.dockerignore']);
  for (const line of lines.slice(1)) {
    if (!line.startsWith('!') || /[*?[\]]/.test(line)) throw new Error(`.dockerignore: unsupported pattern "${line}"; use "!path" lines only`);
    for (const file of walk(root, line.slice(1).replace(/\/+$/, ''))) files.add(file);
  }
  return [...files].sort();
}

function walk(root: string, relative: string): string[] {
  const stat = statSync(join(root, relative), { throwIfNoEntry: false });
  if (!stat) return [];
  if (!stat.isDirectory()) return [relative];
  return readdirSync(join(root, relative)).flatMap((name) => walk(root, posix.join(relative, name)));
}

/** `<first 12 hex of sha256 over each file's path and bytes>`: same tree, same tag, on any machine. */
export function imageTag(root: string): string {
  const hash = createHash('sha256');
  for (const file of contextFiles(root)) {
    const bytes = readFileSync(join(root, file));
    hash.update(`${file}\0${bytes.length}\0`).update(bytes);
  }
  return hash.digest('hex').slice(0, 12);
}
