// Builds "the next release" for rolling-deploy tests: a copy of app/ under .next-release/ (gitignored)
// with its source patched (the format version, a field only it writes), run by ServerProcess with tsx.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** One textual change to a file of the copy; `from` must occur exactly once, so a refactor fails loudly here. */
export interface SourcePatch {
  /** Path under app/, e.g. 'sessions/format.ts'. */
  readonly file: string;
  readonly from: string;
  readonly to: string;
}

export interface NextRelease {
  /** The copy's entry point relative to the repository root: `ServerProcess.start({ entry })`. */
  readonly entry: string;
  dispose(): Promise<void>;
}

export async function buildNextRelease(patches: readonly SourcePatch[]): Promise<NextRelease> {
  const relative = join('.next-release', randomUUID().slice(0, 8));
  const dir = join(ROOT, relative);
  // Under the repository, not /tmp: the copy resolves its imports from the same node_modules.
  await cp(join(ROOT, 'app'), join(dir, 'app'), { recursive: true });
  for (const { file, from, to } of patches) {
    const path = join(dir, 'app', file);
    const source = await readFile(path, 'utf8');
    const at = source.indexOf(from);
    if (at < 0 || source.indexOf(from, at + 1) >= 0) throw new Error(`next release: app/${file} does not contain ${JSON.stringify(from)} exactly once; update the patch`);
    await writeFile(path, source.replace(from, to));
  }
  return { entry: join(relative, 'app', 'main.ts'), dispose: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A past release: app/ as it was at `commit` of this repository (git archive), beside the same
 * node_modules. For the rolling-deploy tests of a change the previous release's code must tolerate.
 */
export async function buildReleaseAt(commit: string): Promise<NextRelease> {
  const relative = join('.next-release', `at-${commit.slice(0, 8)}-${randomUUID().slice(0, 8)}`);
  const dir = join(ROOT, relative);
  await mkdir(dir, { recursive: true });
  const archive = spawnSync('sh', ['-c', `git -C "${ROOT}" archive ${commit} app | tar -x -C "${dir}"`], { encoding: 'utf8' });
  if (archive.status !== 0) throw new Error(`release at ${commit}: git archive failed (${archive.stderr.trim()}); the test needs this repository's history`);
  return { entry: join(relative, 'app', 'main.ts'), dispose: () => rm(dir, { recursive: true, force: true }) };
}
