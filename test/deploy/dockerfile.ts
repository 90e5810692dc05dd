// Replays the Dockerfile's stages into temp dirs without Docker, so a test runs exactly the image's files and command.
import { execSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface Stage {
  readonly name: string;
  readonly instructions: readonly Instruction[];
}

/** Stages with their instructions; continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): Stage[] {
  const logical = text.replace(/\\\r?\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages: { name: string; instructions: Instruction[] }[] = [];
  for (const entry of logical) {
    const [, op = '', args = ''] = /^(\S+)\s*(.*)$/.exec(entry) ?? [];
    if (op.toUpperCase() === 'FROM') stages.push({ name: /\sAS\s+(\S+)$/i.exec(args)?.[1] ?? String(stages.length), instructions: [] });
    else stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

/** `ENV A=1 B=2` instructions of a stage as one map. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { op, args } of stage.instructions) {
    if (op !== 'ENV') continue;
    for (const [, key, value] of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[key!] = value!.replace(/^"|"$/g, '');
  }
  return env;
}

/** The exec-form `CMD [...]` of a stage. */
export function cmdOf(stage: Stage): string[] {
  const cmd = stage.instructions.filter((i) => i.op === 'CMD').at(-1);
  if (!cmd?.args.startsWith('[')) throw new Error('the Dockerfile needs an exec-form CMD ["node", …] so node is PID 1');
  return JSON.parse(cmd.args) as string[];
}

export function instruction(stage: Stage, op: string): string | undefined {
  return stage.instructions.filter((i) => i.op === op).at(-1)?.args;
}

export interface ReplayOptions {
  /** The build context (the repository). */
  readonly context: string;
  /** Where each stage's WORKDIR lives: `<root>/<stage name>`. */
  readonly root: string;
  /** Commands of a RUN to rewrite or skip (return undefined to skip). */
  readonly rewrite: (stage: Stage, command: string) => string | undefined;
}

/**
 * Runs COPY (from the context or `--from=<stage>`) and RUN (each `&&` part through `rewrite`, in a shell)
 * for every stage; WORKDIR maps to the stage's dir. Returns the stage dirs by name.
 */
export function replay(stages: readonly Stage[], options: ReplayOptions): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const stage of stages) {
    const dir = join(options.root, stage.name);
    mkdirSync(dir, { recursive: true });
    dirs.set(stage.name, dir);
    let workdir = '/';
    for (const { op, args } of stage.instructions) {
      if (op === 'WORKDIR') workdir = args;
      if (op === 'COPY') {
        const words = args.split(/\s+/);
        const from = words[0]?.startsWith('--from=') ? words.shift()!.slice('--from='.length) : undefined;
        const dest = words.pop()!;
        for (const source of words) {
          const base = from === undefined ? options.context : dirs.get(from);
          if (!base) throw new Error(`COPY --from=${from}: no such stage`);
          // An absolute source in another stage is inside that stage's WORKDIR (always /app here).
          const path = from === undefined ? source : relative(workdir, source);
          const target = dest.endsWith('/') ? join(dir, dest, source.split('/').pop()!) : join(dir, dest);
          cpSync(join(base, path), target, { recursive: true });
        }
      }
      if (op === 'RUN') {
        for (const part of args.split('&&').map((p) => p.trim())) {
          const command = options.rewrite(stage, part);
          if (command !== undefined) execSync(command, { cwd: dir, stdio: 'pipe', env: { ...process.env, ...envOf(stage) } });
        }
      }
    }
  }
  return dirs;
}

/** Links a stage's node_modules to the repository's instead of a full `npm ci` (same lockfile, 0.5 GB of dev tools). */
export function linkNodeModules(context: string, dir: string): void {
  symlinkSync(join(context, 'node_modules'), join(dir, 'node_modules'));
}

export function readDockerfile(context: string): Stage[] {
  return parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8'));
}
