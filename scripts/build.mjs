// Builds app/ into dist/ atomically, and only when its inputs changed: safe with several `npm start` at once.
// Plain JavaScript on purpose: it runs before anything is compiled, with nothing but node and typescript.
// Each run compiles into a directory of its own and renames it into place, so no process ever loads a
// dist/ that another is halfway through writing. `--always` compiles even when dist/ is up to date (an
// identical dist/ already in place stays).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const STAMP = '.build-stamp';
const TSC = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');

/** Every file the output depends on: the sources, both tsconfigs and the compiler's version. */
function inputsHash() {
  const hash = createHash('sha256');
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.push(path);
    }
  };
  walk(join(ROOT, 'app'));
  files.push(join(ROOT, 'tsconfig.json'), join(ROOT, 'tsconfig.build.json'));
  for (const file of files.sort()) hash.update(`${relative(ROOT, file)}\0`).update(readFileSync(file)).update('\0');
  hash.update(JSON.parse(readFileSync(join(dirname(TSC), '..', 'package.json'), 'utf8')).version);
  return hash.digest('hex');
}

const stampOf = (dir) => {
  try {
    return readFileSync(join(dir, STAMP), 'utf8').trim();
  } catch {
    return undefined;
  }
};

const always = process.argv.includes('--always');
const wanted = inputsHash();
if (!always && stampOf(DIST) === wanted) {
  process.stdout.write('dist/ is up to date\n');
  process.exit(0);
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
};
// Left behind by builds that were killed (SIGKILL, or a machine that went down): theirs, not ours, only once dead.
for (const name of readdirSync(ROOT)) {
  const pid = /^dist\.(?:tmp|old)-(\d+)(?:-\d+)?$/.exec(name)?.[1];
  if (pid && !alive(Number(pid))) rmSync(join(ROOT, name), { recursive: true, force: true });
}

const own = `${DIST}.tmp-${process.pid}`;
const tsc = spawn(process.execPath, [TSC, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', own], { cwd: ROOT, stdio: 'inherit' });
// Stopped while compiling (Ctrl-C on `npm start`): leave nothing half-built behind.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    tsc.kill(signal);
    rmSync(own, { recursive: true, force: true });
    process.exit(1);
  });
}
const [code] = await once(tsc, 'exit');
if (code !== 0) {
  rmSync(own, { recursive: true, force: true });
  process.exit(code ?? 1);
}
// Written last: a directory with a stamp is a finished build.
writeFileSync(join(own, STAMP), `${wanted}\n`);

// rename(2) cannot replace a non-empty directory, so an old dist/ moves aside first. Another build may
// win any of these steps; a dist/ that carries our stamp is as good as ours (same inputs, same output).
const moved = [];
for (let attempt = 0; attempt < 5; attempt++) {
  try {
    renameSync(own, DIST);
    break;
  } catch (error) {
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  }
  if (stampOf(DIST) === wanted) break;
  const aside = `${DIST}.old-${process.pid}-${attempt}`;
  try {
    renameSync(DIST, aside);
    moved.push(aside);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
}
rmSync(own, { recursive: true, force: true });
for (const dir of moved) rmSync(dir, { recursive: true, force: true });
if (stampOf(DIST) !== wanted) {
  process.stderr.write('could not put the build in place: another build keeps replacing dist/\n');
  process.exit(1);
}
process.stdout.write('built dist/\n');
