// Test helpers for the infra: synthesize a stack in memory and look things up in its Terraform JSON.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdktf';
import { defineEnvironment, ENVIRONMENTS, type EnvironmentName, type StackConfig } from '../../infra/config.js';
import { McpContinuityStack } from '../../infra/stack.js';

// Testing.app() would leave a fresh temp dir per call; one per worker process, removed on exit.
const outdir = mkdtempSync(join(tmpdir(), 'mcp-continuity-infra-test-'));
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }));

export type Json = Record<string, any>;

/** The stack's Terraform JSON as `Testing.synth` prints it: keys sorted, metadata removed. */
export function synthText(config: StackConfig): string {
  const app = Testing.app({ outdir, stackTraces: false });
  return Testing.synth(new McpContinuityStack(app, config));
}

export function synth(config: StackConfig): Json {
  return JSON.parse(synthText(config)) as Json;
}

/** The image tests deploy: the stack has no default image (see `requireImage`), so tests name one. */
export const TEST_IMAGE = 'registry.example.test/mcp-continuity:1.0.0';

/** A named environment with some settings changed, e.g. `variant('dev', { redis: 'managed' })`. */
export function variant(name: EnvironmentName, overrides: Partial<Omit<StackConfig, 'environment'>> = {}): StackConfig {
  const { environment, ...base } = ENVIRONMENTS[name];
  return defineEnvironment(environment, { image: TEST_IMAGE, ...base, ...overrides });
}

/** All resources of one Terraform type, keyed by logical id. */
export function resourcesOf(json: Json, type: string): Record<string, Json> {
  return (json.resource?.[type] ?? {}) as Record<string, Json>;
}

/** The single resource of a type (fails if there are none or several) with its Terraform address. */
export function only(json: Json, type: string): { address: string; id: string; body: Json } {
  const entries = Object.entries(resourcesOf(json, type));
  if (entries.length !== 1) throw new Error(`expected exactly one ${type}, found ${entries.length}`);
  const [id, body] = entries[0]!;
  return { address: `${type}.${id}`, id, body };
}

/** The resource of a type whose field has the given value, e.g. a role assignment by role name. */
export function findBy(json: Json, type: string, field: string, value: unknown): { address: string; body: Json } {
  const match = Object.entries(resourcesOf(json, type)).filter(([, body]) => body[field] === value);
  if (match.length !== 1) throw new Error(`expected one ${type} with ${field}=${String(value)}, found ${match.length}`);
  const [id, body] = match[0]!;
  return { address: `${type}.${id}`, body };
}

/** The resources of a type whose body passes a test, with their addresses. */
export function where(json: Json, type: string, test: (body: Json) => boolean): { address: string; body: Json }[] {
  return Object.entries(resourcesOf(json, type))
    .filter(([, body]) => test(body))
    .map(([id, body]) => ({ address: `${type}.${id}`, body }));
}

/** Terraform interpolation of a resource attribute, as cdktf writes it. */
export const ref = (address: string, attribute: string) => `\${${address}.${attribute}}`;
