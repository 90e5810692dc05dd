// Server→client responses and client cancellations that land on another replica than the one they
// concern: requests this server sends carry an id naming the sender, and whichever replica receives the
// answer hands it over through the store's peer messages. Costs nothing for calls that send no request.
import type { JSONRPCMessage, MessageExtraInfo, TransportSendOptions, WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { PeerMessage, SessionStore } from '../sessions/store.js';
import { parseRequestId, wrapRequestId } from './peer-ids.js';

export interface PeerRouterOptions {
  readonly store: SessionStore;
  readonly logger: Logger;
  /** The session's live copy in this process, if any (without touching its idle clock). */
  readonly find: (id: string) => { readonly peers: SessionPeers | undefined } | undefined;
  /** While questions are out and the peer channel is unproven, mailboxes are read this often (default 1 s). */
  readonly pollMs?: number;
}

/** How long a replica keeps trying to hand over an answer the store refused (a master restarting, a client reconnecting). */
const FORWARD_RETRY_MS = [250, 500, 1000, 2000, 4000, 8000] as const;

/** What the router needs of a live session. */
export interface PeerSession {
  readonly id: string;
  /** Short hash of the id, for logs. */
  readonly tag: string;
  readonly transport: WebStandardStreamableHTTPServerTransport;
  /** Responses are plain JSON (`MCP_RESPONSE_MODE=json`): a call has no stream of its own to carry a question. */
  readonly answersInJson: boolean;
}

/**
 * A cancelled request gets this error as its answer: the spec lets the server stay silent, but its POST
 * stream (or JSON response) must end, and a stream closed without an answer is resumed by the client
 * and then left open forever. Senders of a cancellation ignore a late answer (spec, cancellation).
 */
export const REQUEST_CANCELLED = -32800;

type Deliver = (message: JSONRPCMessage, extra?: MessageExtraInfo) => void;
type Message = Record<string, unknown>;

const isRequest = (m: Message) => typeof m.method === 'string' && 'id' in m;
const isResponse = (m: Message) => !('method' in m) && 'id' in m && ('result' in m || 'error' in m);
const isCancel = (m: Message) => m.method === 'notifications/cancelled' && !('id' in m);
const cancelledId = (m: Message) => (m.params as { requestId?: unknown } | undefined)?.requestId;
/** Client ids are strings or numbers; 1 and "1" are different requests. */
const idKey = (id: unknown) => `${typeof id}:${String(id)}`;

/** Routes peer messages arriving from other replicas to the live sessions they name. One per host. */
export class PeerRouter {
  readonly #o: PeerRouterOptions;
  readonly #unsubscribe: Array<() => void>;
  /** Copies with questions out: what to re-read when the peer channel may have missed answers. */
  readonly #waiting = new Set<SessionPeers>();
  #copies = 0;
  /** Reads mailboxes while the channel cannot be trusted: an answer may land there at any time of an outage. */
  #poll: NodeJS.Timeout | undefined;
  /** Responses this replica handed to another one, and cancellations it broadcast (for /statusz and the bench). */
  routedResponses = 0;
  routedCancels = 0;
  #closed = false;

  constructor(options: PeerRouterOptions) {
    this.#o = options;
    this.#unsubscribe = [options.store.onPeerMessage((message) => this.#received(message)), options.store.onChannelSuspect(() => this.#catchUp())];
  }

  /** Wraps a connected session's transport; from then on its outgoing request ids name this replica. */
  attach(session: PeerSession): SessionPeers {
    return new SessionPeers(session, { replica: this.#o.store.replicaId, copy: (++this.#copies).toString(36) }, this);
  }

  /** @internal A client answered here a request that `replica` sent. */
  forward(session: PeerSession, replica: string, message: JSONRPCMessage, attempt = 0): void {
    if (attempt === 0) this.routedResponses++;
    this.#o.store.sendToReplica(replica, { kind: 'response', session: session.id, message }).then(
      (heard) => {
        // The sender is gone (its call failed with it), or its subscriber is away: the answer waits in the mailbox.
        if (!heard) this.#o.logger.debug({ session: session.tag }, 'response for a request of a replica not listening now; left in the mailbox');
      },
      (error: Error) => {
        // Only this replica holds the answer: a refused hand-over (the channel's or the mailbox's master
        // restarting, the client reconnecting) is tried again, and dropped only after about 16 s.
        const delay = FORWARD_RETRY_MS[attempt];
        if (delay === undefined || this.#closed) {
          this.#o.logger.warn({ session: session.tag, detail: error.message }, 'response for a request of another replica not routed: store unavailable');
          return;
        }
        this.#o.logger.debug({ session: session.tag, detail: error.message, attempt }, 'response for a request of another replica not routed yet; retrying');
        setTimeout(() => this.forward(session, replica, message, attempt + 1), delay).unref();
      },
    );
  }

  /** @internal A client cancelled a request that does not run here: the replica running it aborts it. */
  cancelElsewhere(session: PeerSession, requestId: string | number, reason: string | undefined): void {
    this.routedCancels++;
    const message: PeerMessage = { kind: 'cancelled', session: session.id, requestId, ...(reason === undefined ? {} : { reason }) };
    this.#o.store.broadcast(message).catch((error: Error) => this.#o.logger.warn({ session: session.tag, detail: error.message }, 'cancellation not routed: store unavailable'));
  }

  /** @internal A copy now has questions out, or none any more. */
  waiting(peers: SessionPeers, yes: boolean): void {
    if (yes) this.#waiting.add(peers);
    else this.#waiting.delete(peers);
    if (this.#waiting.size > 0 && !this.#poll && !this.#closed) {
      // A suspicion reads the mailboxes once, but an answer may land after that read while the channel is
      // still away (its master down, its slot moving): without a proof, read again on every tick.
      this.#poll = setInterval(() => {
        if (!this.#o.store.health().channelProven) this.#catchUp();
      }, this.#o.pollMs ?? 1000);
      this.#poll.unref();
    } else if (this.#waiting.size === 0 && this.#poll) {
      clearInterval(this.#poll);
      this.#poll = undefined;
    }
  }

  /** The channel went silent or came back: answers published meanwhile are in their sessions' mailboxes. */
  #catchUp(): void {
    for (const peers of this.#waiting) {
      this.#o.store.routedResponses(peers.sessionId).then(
        (answers) => {
          for (const answer of answers) peers.deliverResponse(answer as JSONRPCMessage);
        },
        () => undefined, // the store is away too: the next suspect or proof reads again
      );
    }
  }

  #received(message: PeerMessage): void {
    // Only the session the message names: the receiving replica checked that its caller owns it.
    const peers = this.#o.find(message.session)?.peers;
    if (!peers) return;
    if (message.kind === 'response') peers.deliverResponse(message.message as JSONRPCMessage);
    else peers.cancel(message.requestId, message.reason);
  }

  close(): void {
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#waiting.clear();
    clearInterval(this.#poll);
    this.#poll = undefined;
  }
}

/** One session's traffic at its transport boundary: outgoing request ids wrapped, answers sorted by owner. */
export class SessionPeers {
  readonly #session: PeerSession;
  readonly #self: { readonly replica: string; readonly copy: string };
  readonly #router: PeerRouter;
  readonly #deliver: Deliver;
  readonly #send: (message: JSONRPCMessage, options?: TransportSendOptions) => Promise<void>;
  /** SDK ids of requests this copy sent that await the client's answer. */
  readonly #pending = new Set<number>();
  /** The client's requests running here, by `idKey`. */
  readonly #running = new Map<string, string | number>();

  constructor(session: PeerSession, self: { replica: string; copy: string }, router: PeerRouter) {
    this.#session = session;
    this.#self = self;
    this.#router = router;
    const { transport } = session;
    const deliver = transport.onmessage;
    if (!deliver) throw new Error('attach a session to the peer router after connecting its server');
    this.#deliver = deliver;
    this.#send = transport.send.bind(transport);
    // The SDK calls both through the transport object each time, so replacing them here is enough.
    transport.send = (message, options) => {
      const m = message as Message;
      // A JSON answer cannot carry a question (the SDK would drop it): it goes to the GET stream instead.
      const unrelated = session.answersInJson && isRequest(m) && options?.relatedRequestId !== undefined;
      return this.#send(this.#outgoing(message), unrelated ? { ...options, relatedRequestId: undefined } : options);
    };
    transport.onmessage = (message, extra) => this.#incoming(message, extra);
    // Closed (evicted, deleted, stopping): the SDK fails its questions out, so nothing is waited for any more.
    const onclose = transport.onclose;
    transport.onclose = () => {
      this.#pending.clear();
      router.waiting(this, false);
      onclose?.();
    };
  }

  get sessionId(): string {
    return this.#session.id;
  }

  #settled(n: number): boolean {
    if (!this.#pending.delete(n)) return false;
    if (this.#pending.size === 0) this.#router.waiting(this, false);
    return true;
  }

  /** An answer to a request this replica sent, received here or routed from another replica. */
  deliverResponse(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const m = message as Message;
    const id = parseRequestId(m.id);
    // Another copy's (the session was evicted and restored since), answered twice, or made up: dropped.
    if (!id || id.replica !== this.#self.replica || id.copy !== this.#self.copy || !this.#settled(id.n)) return;
    this.#deliver({ ...m, id: id.n } as JSONRPCMessage, extra);
  }

  /** Aborts a client request running here, as the client's own cancellation would, and ends its stream. */
  cancel(requestId: string | number, reason: string | undefined, extra?: MessageExtraInfo): boolean {
    const key = idKey(requestId);
    const id = this.#running.get(key);
    if (id === undefined) return false;
    this.#running.delete(key);
    this.#deliver({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: id, ...(reason === undefined ? {} : { reason }) } }, extra);
    const error = { jsonrpc: '2.0' as const, id, error: { code: REQUEST_CANCELLED, message: reason ? `Request cancelled: ${reason}` : 'Request cancelled' } };
    this.#send(error).catch(() => undefined);
    return true;
  }

  #outgoing(message: JSONRPCMessage): JSONRPCMessage {
    const m = message as Message;
    if (isResponse(m)) {
      this.#running.delete(idKey(m.id));
      return message;
    }
    if (isRequest(m) && typeof m.id === 'number') {
      this.#pending.add(m.id);
      this.#router.waiting(this, true);
      return { ...m, id: wrapRequestId(this.#self, m.id) } as JSONRPCMessage;
    }
    // The SDK cancels its own request (timeout, abort) by the id it knows: the client knows the wrapped one.
    const cancelled = isCancel(m) ? cancelledId(m) : undefined;
    if (typeof cancelled === 'number' && this.#settled(cancelled)) {
      return { ...m, params: { ...(m.params as object), requestId: wrapRequestId(this.#self, cancelled) } } as unknown as JSONRPCMessage;
    }
    return message;
  }

  #incoming(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    const m = message as Message;
    if (isResponse(m)) {
      const id = parseRequestId(m.id);
      if (!id) return this.#deliver(message, extra);
      if (id.replica === this.#self.replica) return this.deliverResponse(message, extra);
      return this.#router.forward(this.#session, id.replica, message);
    }
    if (isRequest(m)) this.#running.set(idKey(m.id), m.id as string | number);
    else if (isCancel(m)) {
      const requestId = cancelledId(m);
      if (typeof requestId !== 'string' && typeof requestId !== 'number') return this.#deliver(message, extra);
      const reason = (m.params as { reason?: unknown }).reason;
      const why = typeof reason === 'string' ? reason : undefined;
      // Not running here: the client's ids are its own, so only the replica running it can tell.
      if (!this.cancel(requestId, why, extra)) this.#router.cancelElsewhere(this.#session, requestId, why);
      return;
    }
    this.#deliver(message, extra);
  }
}
