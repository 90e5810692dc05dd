// One chaos-drill client: a real legacy SDK client looping tool calls and checking its own scratchpad.
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connectLegacy, type LegacyClient } from '../test/support/clients.js';

export type LossReason = '404' | 'wrong state' | 'never connected';

export interface ClientTally {
  calls: number;
  failed: number;
  /** Failed calls by cause: HTTP status (502, 503), 'timeout', 'reset', or 'other'. */
  failures: Record<string, number>;
  /** Failed calls by drill phase. */
  failuresByPhase: Record<string, number>;
  /** Writes the server took but said it could not save yet (the store was down): held on one replica. */
  held: number;
  lost: LossReason | undefined;
  lostDetail: string | undefined;
}

export interface ClientOptions {
  readonly url: string;
  /** Pause between iterations, so replicas keep CPU to restart. */
  readonly thinkMs: number;
  /** Bound on one call; a call in flight on a killed replica may otherwise wait for the SDK's 60 s. */
  readonly callTimeoutMs: number;
  readonly stopped: () => boolean;
  /** The drill's current phase, recorded with a loss. */
  readonly phase: () => string;
}

/** The scratchpad's answer when it kept a value on this replica only (store down). */
const HELD = /saved when the session store is back/;

const NO_ANSWER = '\u0000no answer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cause(error: unknown): string {
  if (error instanceof StreamableHTTPError) return String(error.code);
  const message = error instanceof Error ? `${error.message} ${String((error as { cause?: unknown }).cause ?? '')}` : String(error);
  if (/timed out|timeout/i.test(message)) return 'timeout';
  if (/fetch failed|ECONNRESET|ECONNREFUSED|socket|terminated|aborted/i.test(message)) return 'reset';
  return 'other';
}

/** Thrown inside the loop when the session is gone or its state is wrong. */
class Lost extends Error {
  constructor(readonly reason: LossReason, detail: string) {
    super(detail);
  }
}

export class ChaosClient {
  readonly tally: ClientTally = { calls: 0, failed: 0, failures: {}, failuresByPhase: {}, held: 0, lost: undefined, lostDetail: undefined };
  sessionId: string | undefined;
  #client: LegacyClient | undefined;
  #counter = 0;
  /** Last value the server confirmed; `#unconfirmed` are writes whose answer never came (they may have landed). */
  #confirmed: string | undefined;
  #unconfirmed = new Set<string>();
  #toolsetEnabled = false;
  /** The last few calls, for the report when the session is lost. */
  readonly #history: string[] = [];

  constructor(readonly index: number, readonly options: ClientOptions) {}

  async run(): Promise<void> {
    try {
      await this.#connect();
      for (let i = 0; !this.options.stopped(); i++) {
        await this.#iteration(i);
        await sleep(this.options.thinkMs);
      }
      // Once the faults are over every replica must agree: three reads (three replicas, round robin).
      const seen = new Set<string | undefined>();
      for (let n = 0; n < 3; n++) {
        const value = await this.#verify(5);
        if (value !== NO_ANSWER) seen.add(value);
      }
      if (seen.size > 1) throw new Lost('wrong state', `replicas disagree after the drill: ${[...seen].join(' / ')}`);
    } catch (error) {
      if (!(error instanceof Lost)) throw error;
      this.tally.lost = error.reason;
      this.tally.lostDetail = `[${this.options.phase()}] ${error.message}; last calls: ${this.#history.join(' | ')}`;
    } finally {
      await this.#client?.close();
    }
  }

  async #connect(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.#client = await connectLegacy(this.options.url, { name: `chaos-${this.index}` });
        this.sessionId = this.#client.sessionId;
        this.#client.transport.onerror = () => {};
        return;
      } catch (error) {
        if (cause(error) === '404' || attempt >= 20) throw new Lost('never connected', `initialize handshake failed: ${(error as Error).message}`);
        await sleep(250);
      }
    }
  }

  async #call(name: string, args: Record<string, unknown>): Promise<{ ok: true; text: string; isError: boolean } | { ok: false }> {
    const client = this.#client as LegacyClient;
    this.tally.calls++;
    try {
      const result = await client.client.callTool({ name, arguments: args }, undefined, { timeout: this.options.callTimeoutMs });
      const first = (result.content as Array<{ text?: string }>)[0];
      this.#note(`${name}(${String(args.value ?? '')}) ${first?.text?.slice(0, 30) ?? ''}`);
      return { ok: true, text: first?.text ?? '', isError: result.isError === true };
    } catch (error) {
      const why = cause(error);
      this.#note(`${name}(${String(args.value ?? '')}) failed ${why}`);
      if (why === '404') throw new Lost('404', `${name}: session not found (${(error as Error).message.slice(0, 120)})`);
      if (this.#toolsetEnabled && /tool.*not found|unknown tool/i.test((error as Error).message)) throw new Lost('wrong state', `${name}: toolset gone`);
      this.tally.failed++;
      this.tally.failures[why] = (this.tally.failures[why] ?? 0) + 1;
      const phase = this.options.phase().replace(/ \d+$/, '');
      this.tally.failuresByPhase[phase] = (this.tally.failuresByPhase[phase] ?? 0) + 1;
      return { ok: false };
    }
  }

  #note(entry: string): void {
    this.#history.push(`${this.options.phase()}: ${entry}`);
    if (this.#history.length > 6) this.#history.shift();
  }

  async #iteration(i: number): Promise<void> {
    if (i % 10 === 5) {
      if (!this.#toolsetEnabled) {
        const enabled = await this.#call('enable_toolset', { name: 'math' });
        if (enabled.ok && !enabled.isError) this.#toolsetEnabled = true;
        return;
      }
      const sum = await this.#call('add', { a: i, b: 1 });
      if (sum.ok && (sum.isError || sum.text !== String(i + 1))) throw new Lost('wrong state', `add answered ${sum.text.slice(0, 80)}`);
      return;
    }
    const value = String(++this.#counter);
    const wrote = await this.#call('remember', { key: 'counter', value });
    if (wrote.ok && !wrote.isError && !HELD.test(wrote.text)) {
      this.#confirmed = value;
      this.#unconfirmed.clear();
    } else {
      // Not confirmed as saved (no answer, or the server said it holds the value on one replica until
      // the store is back): a later read may show it or the last saved value, never anything older.
      if (wrote.ok && HELD.test(wrote.text)) this.tally.held++;
      this.#unconfirmed.add(value);
    }
    await this.#verify(1);
  }

  /** Recalls the counter; a wrong answer loses the session, a failed call is retried up to `attempts` times. */
  async #verify(attempts: number): Promise<string | undefined> {
    for (let n = 0; n < attempts; n++) {
      const read = await this.#call('recall', { key: 'counter' });
      if (!read.ok) {
        if (n + 1 < attempts) await sleep(500);
        continue;
      }
      const got = read.isError ? undefined : read.text;
      if (got === this.#confirmed) return got;
      if (got !== undefined && this.#unconfirmed.has(got)) return got;
      if (read.isError && this.#confirmed === undefined) return undefined;
      throw new Lost('wrong state', `recall answered ${JSON.stringify(got?.slice(0, 40))}, expected ${JSON.stringify(this.#confirmed)}`);
    }
    return NO_ANSWER;
  }
}
