// A live session's data API: every operation one atomic store call, after the session is known to be stored.
import { checkEntry, SessionDataError, type DataValue } from '../sessions/data.js';
import type { SessionData } from '../tools/index.js';
import type { LiveSession, LiveSessionHost } from './live-session.js';

export function sessionData(session: LiveSession, host: LiveSessionHost): SessionData {
  const { store } = host;
  const run = async <T>(operation: () => Promise<T>): Promise<T> => {
    await host.ensureStored(session);
    try {
      return await operation();
    } catch (error) {
      if (error instanceof SessionDataError && error.code === 'gone') host.onGone(session);
      throw error;
    }
  };
  return {
    get: async (key) => {
      checkEntry(key);
      return run(() => store.dataGet(session.id, key));
    },
    set: async (key: string, value: DataValue) => {
      checkEntry(key, value);
      return run(() => store.dataSet(session.id, key, value, host.ttlMs(session)));
    },
    delete: async (key) => {
      checkEntry(key);
      return run(() => store.dataDelete(session.id, key, host.ttlMs(session)));
    },
    list: () => run(() => store.dataList(session.id)),
  };
}
