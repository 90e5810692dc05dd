// One chaos-drill client: a real legacy SDK client looping tool calls and checking its own scratchpad.
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { connectLegacy, type LegacyClient } from '../test/support/clients.js';
import { callKey, observingFetch, type CallOutcome, type CallRecord, type QuestionRecord, type ResumeRecord } from './chaos-calls.js';

export type LossReason = '404' | 'wrong state' | 'never connected';

export interface ClientTally {
  calls: number;
  failed: number;
  /** Failed calls by cause: HTTP status (502, 503), 'timeout', 'orphaned' (-32003: the replica running it died), 'reset', or 'other'. */
  failures: Record<string, number>;
  /** Failed calls by drill phase. */
  failuresByPhase: Record<string, number>;
  /** Writes the server refused honestly ("Not saved: … retry"): nothing confirmed, nothing held. */
  refused: number;
  /** Reads that showed a key older than a write the server had confirmed (target 0). */
  confirmedWritesLost: number;
  lost: LossReason | undefined;
  lostDetail: string | undefined;
  /** Each read that showed an older value than confirmed: the read's call record (its key's history is in `calls`). */
  lossReads: CallRecord[];
  /**
   * Reads that showed a write the client had timed out on, which the drill's own proxy forwarded only
   * after that timeout (the SDK stops waiting but the POST goes on; the clients and the proxy share one
   * loaded event loop): a late delivery by the harness, not a write the server lost. Counted, explained, not fatal.
   */
  lateDeliveries: CallRecord[];
  /** Eliciting clients: forget_all calls, those whose question the client answered, and calls that did not end with that answer, by phase. */
  elicitations: { calls: number; answered: number; lostByPhase: Record<string, number> };
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
  /** This client's tool asks its user now and then (forget_all, answered "no"); the proxy sends the answer to any replica. */
  readonly elicits?: boolean;
  /** When the proxy forwarded the call with this id (`CallRecord.id`), if it did yet. */
  readonly forwardedAt?: (id: string) => number | undefined;
}

/** The store could not confirm or answer: an honest tool error, retried like a failed call. */
const STORE_DOWN = /^Not (saved|read|deleted): session store unavailable/;
/** Each iteration writes these keys with two calls in flight at once (round robin: two replicas). */
const KEYS = ['a', 'b'] as const;

const NO_ANSWER = '\u0000no answer';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** JSON-RPC code of "the replica running this request stopped before answering" (app/mcp/streams.ts). */
const ORPHANED = -32003;

function cause(error: unknown): string {
  if (error instanceof StreamableHTTPError) return String(error.code);
  if ((error as { code?: unknown }).code === ORPHANED) return 'orphaned';
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
  readonly tally: ClientTally = { calls: 0, failed: 0, failures: {}, failuresByPhase: {}, refused: 0, confirmedWritesLost: 0, lost: undefined, lostDetail: undefined, lossReads: [], lateDeliveries: [], elicitations: { calls: 0, answered: 0, lostByPhase: {} } };
  sessionId: string | undefined;
  #client: LegacyClient | undefined;
  #counter = 0;
  /** Per key: the last value the server confirmed, and later writes whose answer never came (they may have landed). */
  readonly #confirmed = new Map<string, string>();
  readonly #unconfirmed = new Map<string, Set<string>>(KEYS.map((k) => [k, new Set<string>()]));
  #toolsetEnabled = false;
  /** A second toolset enabled while a replica's invalidation channel is frozen: every replica must serve it. */
  #textEnabled = false;
  /** The last few calls, for the report when the session is lost. */
  readonly #history: string[] = [];
  /** Every call this client made, with the replica that ran it and how it ended (the drill's per-call accounting). */
  readonly calls: CallRecord[] = [];
  /** Eliciting calls that did not end with the user's answer. */
  readonly lostElicitations: CallRecord[] = [];
  /** GETs that resumed a stream. */
  readonly resumes: ResumeRecord[] = [];
  /** Calls in flight, by `callKey`, for the fetch to note their replica. */
  readonly #inflight = new Map<string, CallRecord>();
  readonly #questions = new Map<string, QuestionRecord>();
  /** The forget_all call in flight, whose questions the handler records. */
  #asking: CallRecord | undefined;

  constructor(readonly index: number, readonly options: ClientOptions) {}

  async run(): Promise<void> {
    try {
      await this.#connect();
      for (let i = 0; !this.options.stopped(); i++) {
        await this.#iteration(i);
        await sleep(this.options.thinkMs);
      }
      // Once the faults are over every replica must agree: three reads (three replicas, round robin).
      for (const key of KEYS) {
        const seen = new Set<string | undefined>();
        for (let n = 0; n < 3; n++) {
          const value = await this.#verify(key, 5);
          if (value !== NO_ANSWER) seen.add(value);
        }
        if (seen.size > 1) throw new Lost('wrong state', `replicas disagree on "${key}" after the drill: ${[...seen].join(' / ')}`);
      }
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
        this.#client = await connectLegacy(this.options.url, {
          name: `chaos-${this.index}`,
          fetch: observingFetch(this.#inflight, this.#questions, this.resumes),
          ...(this.options.elicits
            ? {
                capabilities: { elicitation: { form: {} } },
                configure: (c) =>
                  c.setRequestHandler(ElicitRequestSchema, async (_request, extra) => {
                    this.tally.elicitations.answered++;
                    const question: QuestionRecord = { id: String(extra.requestId), asked: performance.now() };
                    this.#questions.set(question.id, question);
                    this.#asking?.questions?.push(question);
                    return { action: 'accept', content: { confirm: false } };
                  }),
              }
            : {}),
        });
        this.sessionId = this.#client.sessionId;
        this.#client.transport.onerror = () => {};
        return;
      } catch (error) {
        if (cause(error) === '404' || attempt >= 20) throw new Lost('never connected', `initialize handshake failed: ${(error as Error).message}`);
        await sleep(250);
      }
    }
  }

  async #call(name: string, args: Record<string, unknown>): Promise<{ ok: true; text: string; isError: boolean; record: CallRecord } | { ok: false }> {
    const client = this.#client as LegacyClient;
    this.tally.calls++;
    const keyed = name === 'remember' || name === 'recall';
    const record: CallRecord = {
      id: `${this.index}.${this.calls.length}`,
      client: this.index,
      tool: name,
      started: performance.now(),
      startPhase: this.options.phase(),
      ...(keyed ? { key: String(args.key) } : {}),
      ...(name === 'remember' ? { value: String(args.value) } : {}),
      ...(name === 'forget_all' ? { questions: [] } : {}),
    };
    this.calls.push(record);
    if (record.questions) this.#asking = record;
    const key = callKey(name, args);
    this.#inflight.set(key, record);
    const end = (outcome: CallOutcome, detail?: string) => {
      this.#inflight.delete(key);
      Object.assign(record, { ended: performance.now(), endPhase: this.options.phase(), outcome, ...(detail ? { detail } : {}) });
    };
    try {
      const result = await client.client.callTool({ name, arguments: args }, undefined, { timeout: this.options.callTimeoutMs });
      const first = (result.content as Array<{ text?: string }>)[0];
      const text = first?.text ?? '';
      this.#note(`${name}(${String(args.value ?? '')}) ${text.slice(0, 30)}`);
      if (name === 'recall') record.answer = result.isError ? undefined : text;
      if (result.isError && STORE_DOWN.test(text)) {
        end('refused', text.slice(0, 60));
        this.tally.refused++;
        this.#fail('refused');
        return { ok: false };
      }
      end(result.isError ? 'tool error' : 'ok', result.isError || name === 'forget_all' ? text.slice(0, 60) : undefined);
      return { ok: true, text, isError: result.isError === true, record };
    } catch (error) {
      const why = cause(error);
      const code = (error as { code?: unknown }).code;
      end(why === 'timeout' || why === 'orphaned' || why === 'reset' || why === 'other' ? why : 'http', `${code === undefined ? '' : `${String(code)}: `}${(error as Error).message.slice(0, 80)}`);
      this.#note(`${name}(${String(args.value ?? '')}) failed ${why}`);
      if (why === '404') throw new Lost('404', `${name}: session not found (${(error as Error).message.slice(0, 120)})`);
      if (this.#toolsetEnabled && /tool.*not found|unknown tool/i.test((error as Error).message)) throw new Lost('wrong state', `${name}: toolset gone`);
      this.#fail(why);
      return { ok: false };
    }
  }

  #fail(why: string): void {
    this.tally.failed++;
    this.tally.failures[why] = (this.tally.failures[why] ?? 0) + 1;
    const phase = this.options.phase().replace(/ \d+$/, '');
    this.tally.failuresByPhase[phase] = (this.tally.failuresByPhase[phase] ?? 0) + 1;
  }

  #note(entry: string): void {
    this.#history.push(`${this.options.phase()}: ${entry}`);
    if (this.#history.length > 6) this.#history.shift();
  }

  async #iteration(i: number): Promise<void> {
    if (!this.#textEnabled && this.options.phase().startsWith('frozen')) {
      const enabled = await this.#call('enable_toolset', { name: 'text' });
      if (enabled.ok && !enabled.isError) this.#textEnabled = true;
    }
    if (this.#textEnabled && i % 3 === 0) {
      // Another replica may have a frozen channel: it must still know this session's new toolset.
      const upper = await this.#call('uppercase', { text: `x${i}` });
      if (upper.ok && (upper.isError || upper.text !== `X${i}`)) throw new Lost('wrong state', `uppercase answered ${upper.text.slice(0, 80)}`);
    }
    if (this.options.elicits && i % 10 === 7) return this.#elicit();
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
    // Two writes in flight at once, as agents make parallel tool calls; the proxy sends them to two replicas.
    const value = String(++this.#counter);
    await Promise.all(KEYS.map((key) => this.#write(key, `${key}${value}`)));
    await Promise.all(KEYS.map((key) => this.#verify(key, 1)));
  }

  /** forget_all answered "no": the scratchpad stays as it is, so the state checks still hold. */
  async #elicit(): Promise<void> {
    const e = this.tally.elicitations;
    e.calls++;
    const refused = this.tally.refused;
    const kept = await this.#call('forget_all', {});
    if (kept.ok && !kept.isError && kept.text === 'Kept everything.') return;
    if (this.tally.refused > refused) return; // the store could not read the scratchpad: refused before asking
    if (kept.ok && !kept.isError) throw new Lost('wrong state', `forget_all answered ${kept.text.slice(0, 80)}`);
    if (this.#asking) this.lostElicitations.push(this.#asking);
    const phase = this.options.phase().replace(/ \d+$/, '');
    e.lostByPhase[phase] = (e.lostByPhase[phase] ?? 0) + 1;
  }

  async #write(key: string, value: string): Promise<void> {
    const wrote = await this.#call('remember', { key, value });
    const unconfirmed = this.#unconfirmed.get(key) as Set<string>;
    if (wrote.ok && !wrote.isError) {
      this.#confirmed.set(key, value);
      unconfirmed.clear();
    } else {
      // No answer, or "not saved" after a command timeout: it may still have landed. A later read may show
      // it or the last confirmed value, never anything older.
      unconfirmed.add(value);
    }
  }

  /** The write of `value` to `key`, if the client timed out on it before the proxy forwarded it. */
  #deliveredLate(key: string, value: string | undefined): CallRecord | undefined {
    const write = this.calls.findLast((c) => c.tool === 'remember' && c.key === key && c.value === value);
    const forwarded = write && this.options.forwardedAt?.(write.id);
    return write && write.outcome === 'timeout' && forwarded !== undefined && write.ended !== undefined && forwarded > write.ended ? write : undefined;
  }

  /** Recalls a key; an older value than confirmed loses the session, a failed call is retried up to `attempts` times. */
  async #verify(key: string, attempts: number): Promise<string | undefined> {
    for (let n = 0; n < attempts; n++) {
      const read = await this.#call('recall', { key });
      if (!read.ok) {
        if (n + 1 < attempts) await sleep(500);
        continue;
      }
      const got = read.isError ? undefined : read.text;
      const confirmed = this.#confirmed.get(key);
      if (got === confirmed) return got;
      if (got !== undefined && this.#unconfirmed.get(key)?.has(got)) return got;
      const late = this.#deliveredLate(key, got);
      if (late) {
        // The key now holds that value: later reads are checked against it.
        this.tally.lateDeliveries.push(read.record);
        this.#confirmed.set(key, got as string);
        return got;
      }
      this.tally.confirmedWritesLost++;
      this.tally.lossReads.push(read.record);
      throw new Lost('wrong state', `recall "${key}" answered ${JSON.stringify(got?.slice(0, 40))}, expected ${JSON.stringify(confirmed)}`);
    }
    return NO_ANSWER;
  }
}
