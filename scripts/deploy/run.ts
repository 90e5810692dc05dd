// Runs the external tools of a deploy (az, terraform, node) and turns their failures into step errors.
import { spawn } from 'node:child_process';

/** A failed step: which one, what happened, and what the user should do next. Exit code 1 (2 for usage). */
export class StepError extends Error {
  constructor(
    readonly step: string,
    readonly what: string,
    readonly next: string,
    readonly exitCode = 1,
  ) {
    super(`${step}: ${what}`);
    this.name = 'StepError';
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Show the tool's output live (terraform apply, acr build): long steps need visible progress. */
  readonly live?: boolean;
}

/** Runs a command; `code` is -1 when the executable is missing (ENOENT), never throws for a failed command. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', options.live ? 'inherit' : 'pipe', options.live ? 'inherit' : 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') resolve({ code: -1, stdout, stderr: `${command}: not found on PATH` });
      else reject(error);
    });
    child.once('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** The first lines of a tool's error output, for a one-glance message (the full output was shown live). */
export function firstLines(text: string, lines = 3): string {
  return text.trim().split('\n').slice(0, lines).join(' | ') || '(no output)';
}
