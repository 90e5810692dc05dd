// Chaos-drill call records: which replica each call and each answer to a question reached, and how each call ended.

/** How a call ended, as the client saw it. */
export type CallOutcome = 'ok' | 'tool error' | 'refused' | 'orphaned' | 'timeout' | 'reset' | 'http' | 'other';

export interface CallRecord {
  /** Unique in a drill (`<client>.<n>`), sent to the proxy in `CALL_HEADER` so it can say where it routed the call. */
  readonly id: string;
  readonly client: number;
  readonly tool: string;
  /** performance.now() when the call was made, and the drill's phase then. */
  readonly started: number;
  readonly startPhase: string;
  /** remember / recall: the key, the value written, and (recall) the value read back. */
  readonly key?: string;
  readonly value?: string;
  answer?: string;
  /** Proxy upstream port that received the call's POST (the replica that ran it); undefined if the proxy had none. */
  port?: number;
  /** The replica the proxy sent the POST to, from its routing record (known even when no answer came back). */
  routedTo?: number;
  /** performance.now() when the proxy forwarded the POST. */
  routedAt?: number;
  ended?: number;
  endPhase?: string;
  outcome?: CallOutcome;
  /** JSON-RPC error code, HTTP status, or the first words of the message. */
  detail?: string;
  /** Eliciting calls: the questions asked during the call and where their answers went. */
  questions?: QuestionRecord[];
}

export interface QuestionRecord {
  /** The request id the server gave the question (`s1.<replica id>.<copy>.<n>`). */
  readonly id: string;
  readonly asked: number;
  /** Proxy upstream port and HTTP status of the POST carrying the client's answer. */
  answerPort?: number;
  answerStatus?: number;
  answerError?: string;
}

/** A GET that resumed a stream (Last-Event-ID): when, and where the proxy sent it. */
export interface ResumeRecord {
  readonly at: number;
  readonly port: number | undefined;
  readonly status: number | undefined;
  /** The body of a refused resume (its reason). */
  readonly refusal?: string;
}

/** The header the drill's proxy adds to each answer, naming the upstream port. */
export const UPSTREAM_HEADER = 'x-upstream-port';
/** The header naming a call (`CallRecord.id`) on its POST, for the proxy's routing record. */
export const CALL_HEADER = 'x-chaos-call';

type Message = { id?: unknown; method?: unknown; params?: { name?: unknown; arguments?: unknown } };

function messages(body: unknown): Message[] {
  if (typeof body !== 'string') return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    return (Array.isArray(parsed) ? parsed : [parsed]) as Message[];
  } catch {
    return [];
  }
}

/** The key a call's POST is matched by: a client never has two calls with the same tool and arguments in flight. */
export const callKey = (tool: string, args: unknown) => `${tool} ${JSON.stringify(args ?? {})}`;

/**
 * A fetch for one drill client that notes, from the proxy's header, which replica received each call
 * (`calls`, by `callKey`), each answer to a question (`questions`, by the question's id) and each resume.
 */
export function observingFetch(calls: Map<string, CallRecord>, questions: Map<string, QuestionRecord>, resumes: ResumeRecord[]): typeof fetch {
  return async (input, init) => {
    const sent = messages(init?.body);
    const headers = new Headers(init?.headers);
    const named = sent.flatMap((m) => (m.method === 'tools/call' && typeof m.params?.name === 'string' ? [calls.get(callKey(m.params.name, m.params.arguments))?.id] : []))[0];
    if (named) {
      headers.set(CALL_HEADER, named);
      init = { ...init, headers };
    }
    const resume = (init?.method ?? 'GET') === 'GET' && headers.has('last-event-id');
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (error) {
      for (const m of sent) {
        const q = typeof m.id === 'string' && !m.method ? questions.get(m.id) : undefined;
        if (q) q.answerError = (error as Error).message.slice(0, 60);
      }
      if (resume) resumes.push({ at: performance.now(), port: undefined, status: undefined });
      throw error;
    }
    const raw = response.headers.get(UPSTREAM_HEADER);
    const port = raw ? Number(raw) : undefined;
    if (resume) {
      const refusal = response.status >= 400 ? (await response.clone().text()).slice(0, 120) : undefined;
      resumes.push({ at: performance.now(), port, status: response.status, ...(refusal ? { refusal } : {}) });
    }
    for (const m of sent) {
      if (m.method === 'tools/call' && typeof m.params?.name === 'string') {
        const call = calls.get(callKey(m.params.name, m.params.arguments));
        if (call) call.port = port;
      } else if (m.method === undefined && typeof m.id === 'string') {
        const q = questions.get(m.id);
        if (q) Object.assign(q, { answerPort: port, answerStatus: response.status });
      }
    }
    return response;
  };
}

/** The replica id inside a question's id, shortened for a report. */
export function asker(questionId: string): string {
  return (questionId.split('.')[1] ?? '?').slice(0, 8);
}

/**
 * A lost write explained: every write of the key sent from the one whose value the read showed (the
 * older value) onwards, and the read itself, one line each (replica, sent and answered times, outcome).
 */
export function keyHistory(calls: readonly CallRecord[], read: CallRecord, t0: number): string[] {
  const ofKey = calls.filter((c) => c.key === read.key && c.started <= read.started && (c.tool === 'remember' || c === read));
  const writes = ofKey.filter((c) => c.tool === 'remember');
  const from = writes.findLastIndex((c) => c.value === read.answer);
  const shown = from >= 0 ? ofKey.slice(ofKey.indexOf(writes[from] as CallRecord)) : ofKey.slice(-12);
  return shown
    .filter((c) => c.tool === 'remember' || c === read)
    .map((c) => `${c.tool === 'remember' ? `write ${c.value}` : `read answered ${JSON.stringify(c.answer)}`}: ${describeCall(c, t0)}`);
}

/** One line per call for a report: phases, replica, outcome, and the questions' round trips. */
export function describeCall(c: CallRecord, t0: number, resumes: readonly ResumeRecord[] = []): string {
  const at = (t: number) => `+${((t - t0) / 1000).toFixed(2)}s`;
  const took = c.ended === undefined ? 'unfinished' : `answered at ${at(c.ended)} (${Math.round(c.ended - c.started)} ms)`;
  const questions = (c.questions ?? []).map(
    (q) => `asked by ${asker(q.id)} at ${at(q.asked)}, answer to :${q.answerPort ?? '?'} (${q.answerStatus ?? q.answerError ?? 'not sent'})`,
  );
  const during = resumes.filter((r) => r.at >= c.started && (c.ended === undefined || r.at <= c.ended)).map((r) => `resumed on :${r.port ?? '?'} (${r.status ?? 'failed'}${r.refusal ? ` ${r.refusal}` : ''}) at ${at(r.at)}`);
  return [
    `client ${c.client} ${c.tool}${c.key === undefined ? '' : `(${c.key}${c.value === undefined ? '' : `=${c.value}`})`} on :${c.port ?? (c.routedTo ? `${c.routedTo} (routed there, no answer)` : '?')}${c.routedAt === undefined ? '' : ` (forwarded at ${at(c.routedAt)})`} [${c.startPhase} → ${c.endPhase ?? '?'}] at ${at(c.started)}, ${took}: ${c.outcome ?? '?'}${c.detail ? ` (${c.detail})` : ''}`,
    ...(c.questions && !questions.length ? ['no question reached the client'] : questions),
    ...during,
  ].join('; ');
}
