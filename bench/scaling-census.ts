// For the scaling bench: watches every command a Redis runs (MONITOR) and sorts it by what it is for,
// so each term of docs/scaling.md is counted on its own. Commands a script runs inside Redis show up
// with source "lua": they are counted apart (they cost Redis CPU, not a network round trip).
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { ADMIT_SESSION, TAKE_TOKEN } from '../app/sessions/redis-limits.js';
import { defineScripts } from '../app/sessions/redis-scripts.js';

/** What a top-level command is for: the terms of the model. */
export const KINDS = ['data', 'eventAppend', 'announce', 'heartbeat', 'liveness', 'touch', 'peer', 'limits', 'memory', 'streamRead', 'load', 'shape', 'scratchpad', 'other'] as const;
export type Kind = (typeof KINDS)[number];

/** Channels a replica publishes on, by role. */
export type ChannelRole = 'events' | 'heartbeat' | 'peers' | 'peer' | 'changes' | 'other';

export interface Census {
  readonly topLevel: Record<Kind, number>;
  /** Commands run inside scripts, by command name. */
  readonly inScripts: Record<string, number>;
  /** PUBLISH/SPUBLISH (top level or in a script) per channel role: count and payload bytes. */
  readonly publishes: Record<ChannelRole, { count: number; bytes: number }>;
  /** Session ids named by all `appended` announcements (to get sessions per flush). */
  announcedIds: number;
}

/** SHA1 of every script the server defines, by name (ioredis computes them when a script is defined). */
function scriptShas(): Map<string, string> {
  const client = new Redis({ lazyConnect: true });
  defineScripts(client);
  client.defineCommand('mcpTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
  client.defineCommand('mcpAdmitSession', { numberOfKeys: 1, lua: ADMIT_SESSION });
  const set = (client as unknown as { scriptsSet: Record<string, { sha: string }> }).scriptsSet;
  const out = new Map(Object.entries(set).map(([name, script]) => [script.sha, name]));
  client.disconnect();
  return out;
}

/** Undoes the escaping MONITOR applies to arguments (\\n, \\", \\xHH and the like). */
function unescapeMonitor(text: string): string {
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };
  return text.replace(/\\(x[0-9a-f]{2}|.)/g, (_, c: string) => (c.length === 3 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (simple[c] ?? c)));
}

const SCRIPT_KIND: Record<string, Kind> = {
  mcpDataSet: 'data',
  mcpDataDelete: 'data',
  mcpAppendEvents: 'eventAppend',
  mcpCreate: 'shape',
  mcpUpdateShape: 'shape',
  mcpDelete: 'shape',
  mcpTakeToken: 'limits',
  mcpAdmitSession: 'limits',
};

export function emptyCensus(): Census {
  const publishes = Object.fromEntries((['events', 'heartbeat', 'peers', 'peer', 'changes', 'other'] as const).map((r) => [r, { count: 0, bytes: 0 }])) as Census['publishes'];
  return { topLevel: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>, inScripts: {}, publishes, announcedIds: 0 };
}

/** Sorts commands of the deployment whose keys start with `prefix`. Pure: fed by `watch` or by a test. */
export class Classifier {
  readonly census = emptyCensus();
  readonly #shas = scriptShas();

  constructor(private readonly prefix: string) {}

  channelRole(channel: string): ChannelRole {
    const p = this.prefix;
    if (channel === `${p}events`) return 'events';
    if (channel.startsWith(`${p}heartbeat:`)) return 'heartbeat';
    if (channel === `${p}peers`) return 'peers';
    if (channel.startsWith(`${p}peer:`)) return 'peer';
    if (channel === `${p}changes`) return 'changes';
    return 'other';
  }

  /** One command as MONITOR reports it: its arguments (name first) and whether a script ran it. */
  add(args: readonly string[], fromScript: boolean): void {
    const name = (args[0] ?? '').toLowerCase();
    const c = this.census;
    if (name === 'publish' || name === 'spublish') {
      const role = this.channelRole(args[1] ?? '');
      const message = args[2] ?? '';
      c.publishes[role].count++;
      c.publishes[role].bytes += Buffer.byteLength(message);
      // Session ids only: the `~<stream>` tokens after each name the streams its events are for.
      if (role === 'events' && message.startsWith('appended ')) c.announcedIds += message.split(' ').slice(2).filter((t) => t && !t.startsWith('~')).length;
    }
    if (fromScript) {
      c.inScripts[name] = (c.inScripts[name] ?? 0) + 1;
      return;
    }
    c.topLevel[this.kind(name, args)]++;
  }

  kind(name: string, args: readonly string[]): Kind {
    const key = args[1] ?? '';
    const p = this.prefix;
    if (name === 'evalsha' || name === 'eval') {
      // The first call of a script on a Redis is an EVAL with its text (after NOSCRIPT), which MONITOR
      // shows escaped: name it by the SHA1 of the unescaped text.
      const sha = name === 'eval' ? createHash('sha1').update(unescapeMonitor(args[1] ?? '')).digest('hex') : (args[1] ?? '');
      const script = this.#shas.get(sha) ?? '';
      return SCRIPT_KIND[script] ?? (script.startsWith('mcpPad') ? 'scratchpad' : 'other');
    }
    if (name === 'publish' || name === 'spublish') {
      const role = this.channelRole(key);
      // A replica's sharded peer channel carries its beats too (cluster).
      if (role === 'heartbeat' || args[2]?.startsWith('beat ')) return 'heartbeat';
      return ({ events: 'announce', changes: 'scratchpad', peers: 'peer', peer: 'peer', other: 'other' } as const)[role];
    }
    if (name === 'info') return 'memory';
    if (key.startsWith(`${p}alive:`)) return 'liveness';
    if (key.endsWith(':answers')) return 'peer';
    if (name === 'xrange' && key.endsWith(':events')) return 'streamRead';
    if (key.startsWith(`${p}session:{`) && !key.includes('}:')) {
      if (name === 'pexpire' || name === 'del') return 'touch';
      if (name === 'hmget' && args[2] === 'rev' && args[3] === 'shape') return 'load';
      if (name === 'hmget' || name === 'hgetall') return 'data';
    }
    if (key.startsWith(`${p}scratchpad:`)) return 'scratchpad';
    if (key.startsWith(`${p}limits:`)) return 'limits';
    return 'other';
  }
}

/** MONITOR on its own connection, feeding a classifier until `stop`. */
export async function watch(url: string, prefix: string): Promise<{ stop: () => Promise<Census> }> {
  const classifier = new Classifier(prefix);
  // Never connected itself (its ready check would show up as an INFO): MONITOR runs on a duplicate.
  const client = new Redis(url, { lazyConnect: true });
  const monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => classifier.add(args, source === 'lua'));
  // The promise can resolve a moment before Redis streams the first command: let it settle.
  await new Promise((resolve) => setTimeout(resolve, 100));
  return {
    async stop() {
      monitor.disconnect();
      client.disconnect();
      return classifier.census;
    },
  };
}
