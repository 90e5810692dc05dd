// Tells a traced request when the HTTP server has written the last byte of its streamed (SSE) response,
// without wrapping the body in another stream. Loaded with telemetry off too: a WeakMap, nothing else.

const watchers = new WeakMap<Response, () => void>();
let serverReports = false;

/** The node:http server calls this once: from now on it reports every response's end. */
export function reportResponseEnds(): void {
  serverReports = true;
}

/** Runs `ended` when the server has finished (or abandoned) sending `response`; false if no server reports ends. */
export function whenResponseEnds(response: Response, ended: () => void): boolean {
  if (!serverReports) return false;
  watchers.set(response, ended);
  return true;
}

/** The server finished with `response` (all sent, or the client left). */
export function responseEnded(response: Response): void {
  const ended = watchers.get(response);
  if (!ended) return;
  watchers.delete(response);
  ended();
}
