// Connection strings as users paste them: redis:// URLs and Azure's StackExchange-style strings.
import { describe, expect, it } from 'vitest';
import { describeRedisTarget, parseRedisUrl, RedisUrlError } from '../../app/sessions/redis-url.js';

describe('parseRedisUrl', () => {
  it('reads the Azure Cache for Redis portal form (TLS port 6380, base64 key ending in =)', () => {
    const target = parseRedisUrl('contoso5.redis.cache.windows.net:6380,password=Zm9vYmFyYmF6cXV4K/abc123==,ssl=True,abortConnect=False');
    expect(target).toEqual({ host: 'contoso5.redis.cache.windows.net', port: 6380, username: undefined, password: 'Zm9vYmFyYmF6cXV4K/abc123==', tls: true, db: 0 });
  });

  it('reads the Azure Managed Redis form (port 10000)', () => {
    const target = parseRedisUrl('mcp-prod.westeurope.redis.azure.net:10000,password=abc=,ssl=True,abortConnect=False');
    expect(target).toMatchObject({ host: 'mcp-prod.westeurope.redis.azure.net', port: 10000, tls: true, password: 'abc=' });
  });

  it('defaults the port from ssl and tolerates spacing and case in option names', () => {
    expect(parseRedisUrl('cache.example.net, Password = p , SSL=true')).toMatchObject({ port: 6380, tls: true, password: 'p' });
    expect(parseRedisUrl('cache.example.net')).toMatchObject({ port: 6379, tls: false, password: undefined });
  });

  it('reads rediss:// URLs with a URL-encoded key, as the infra stack writes them', () => {
    const target = parseRedisUrl('rediss://:a%2Fb%2Bc%3D@contoso5.redis.cache.windows.net:6380');
    expect(target).toMatchObject({ host: 'contoso5.redis.cache.windows.net', port: 6380, password: 'a/b+c=', tls: true });
  });

  it('reads redis:// URLs with user, database and IPv6 host', () => {
    expect(parseRedisUrl('redis://app:pw@127.0.0.1:6390/2')).toMatchObject({ host: '127.0.0.1', port: 6390, username: 'app', password: 'pw', db: 2, tls: false });
    expect(parseRedisUrl('redis://[::1]:6379')).toMatchObject({ host: '::1', port: 6379 });
  });

  it('refuses garbage with a message that does not echo the input', () => {
    for (const bad of ['', 'redis://', ':6379,password=hunter2', 'redis://h:6379/not-a-db']) {
      let error: unknown;
      try {
        parseRedisUrl(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RedisUrlError);
      expect((error as Error).message).not.toContain('hunter2');
    }
  });

  it('describes a target for logs without credentials', () => {
    expect(describeRedisTarget(parseRedisUrl('rediss://:secret@cache.example.net:6380/1'))).toBe('rediss://cache.example.net:6380/1');
  });
});
