// Redis for session records: small, LRU-evicting, TLS only; Azure Cache for Redis or Azure Managed Redis.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { RedisCache } from '@cdktf/provider-azurerm/lib/redis-cache/index.js';
import { ManagedRedis } from '@cdktf/provider-azurerm/lib/managed-redis/index.js';
import type { ManagedRedisClustering, RedisCacheSku, RedisFlavour } from '../config.js';

export interface SessionRedisProps {
  readonly flavour: RedisFlavour;
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** Used when `flavour` is `cache`. */
  readonly cacheSku: RedisCacheSku;
  /** Used when `flavour` is `managed`. */
  readonly managedSku: string;
  /** Used when `flavour` is `managed`. */
  readonly clustering: ManagedRedisClustering;
  /** False: the cache answers only through a private endpoint (`network: 'private'`). */
  readonly publicNetworkAccess: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

export class SessionRedis extends Construct {
  /** The one Redis resource of the chosen flavour. */
  readonly resource: RedisCache | ManagedRedis;
  /** Host name clients connect to. */
  readonly host: string;
  /** TLS port (6380 for Azure Cache for Redis, 10000 for Azure Managed Redis). */
  readonly port: string;
  /**
   * `rediss://:<key>@<host>:<port>`, the form the app accepts in `REDIS_URL` and the Key Vault secret.
   * The key is URL-encoded: Azure keys are base64 and a `/` or `+` would otherwise break URL parsing.
   */
  readonly connectionUrl: string;
  /** The endpoint is one node of an OSS-protocol cluster: the app must connect cluster-aware (`REDIS_CLUSTER=true`). */
  readonly clustered: boolean;

  constructor(scope: Construct, id: string, props: SessionRedisProps) {
    super(scope, id);
    let key: string;
    if (props.flavour === 'cache') {
      const cache = new RedisCache(this, 'cache', {
        name: props.name,
        location: props.location,
        resourceGroupName: props.resourceGroupName,
        skuName: props.cacheSku.name,
        family: props.cacheSku.family,
        capacity: props.cacheSku.capacity,
        redisVersion: '6',
        // The provider defaults to TLS 1.0; the non-TLS port 6379 would send the key in clear text.
        minimumTlsVersion: '1.2',
        nonSslPortEnabled: false,
        // Sessions are a cache of restorable state: under memory pressure drop the least recently used
        // record (a miss, which the app answers with 404 → re-initialize) rather than fail writes.
        redisConfiguration: { maxmemoryPolicy: 'allkeys-lru' },
        publicNetworkAccessEnabled: props.publicNetworkAccess,
        tags: { ...props.tags },
      });
      this.resource = cache;
      this.host = cache.hostname;
      this.port = Fn.tostring(cache.sslPort);
      key = cache.primaryAccessKey;
    } else {
      const managed = new ManagedRedis(this, 'managed', {
        name: props.name,
        location: props.location,
        resourceGroupName: props.resourceGroupName,
        skuName: props.managedSku,
        publicNetworkAccess: props.publicNetworkAccess ? 'Enabled' : 'Disabled',
        defaultDatabase: {
          // Key authentication is off by default on Managed Redis; the app authenticates with the key.
          accessKeysAuthenticationEnabled: true,
          clientProtocol: 'Encrypted',
          evictionPolicy: 'AllKeysLRU',
          // EnterpriseCluster: one endpoint that proxies to the shards, so a plain client (ioredis `Redis`)
          // works. OSSCluster: clients talk to each shard (ioredis `Cluster`), no proxy hop.
          clusteringPolicy: props.clustering,
        },
        tags: { ...props.tags },
      });
      this.resource = managed;
      this.host = managed.hostname;
      // 10000 on Managed Redis; read from the resource rather than assumed.
      this.port = Fn.tostring(managed.defaultDatabase.port);
      key = managed.defaultDatabase.primaryAccessKey;
    }
    this.clustered = props.flavour === 'managed' && props.clustering === 'OSSCluster';
    this.connectionUrl = `rediss://:${Fn.urlencode(key)}@${this.host}:${this.port}`;
  }
}
