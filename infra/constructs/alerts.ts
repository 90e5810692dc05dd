// Alerts an on-call person needs first: Redis nearly full or overloaded, restores missing, store errors, 5xx, restarts.
import { Construct } from 'constructs';
import { MonitorActionGroup } from '@cdktf/provider-azurerm/lib/monitor-action-group/index.js';
import { MonitorMetricAlert, type MonitorMetricAlertCriteria } from '@cdktf/provider-azurerm/lib/monitor-metric-alert/index.js';
import { MonitorScheduledQueryRulesAlertV2 } from '@cdktf/provider-azurerm/lib/monitor-scheduled-query-rules-alert-v2/index.js';
import type { RedisFlavour } from '../config.js';

export interface AlertsProps {
  /** Prefix of every alert name, e.g. `mcp-continuity-prod`. */
  readonly prefix: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** The Redis resource; both flavours publish `usedmemorypercentage` and `serverLoad`, in their own namespaces. */
  readonly redisId: string;
  readonly redisFlavour: RedisFlavour;
  readonly containerAppId: string;
  readonly appInsightsId: string;
  /** Who is notified; undefined: the alerts exist (visible in the portal) and notify nobody. */
  readonly email: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
}

/** Thresholds, documented in docs/operations.md with what to do when each fires. */
export const ALERT_THRESHOLDS = {
  /** allkeys-lru starts evicting sessions at 100%; the app refuses new sessions near it. */
  redisMemoryPercent: 80,
  redisServerLoadPercent: 80,
  /** Share of restore attempts that missed, over at least `restoreMinAttempts` attempts. */
  restoreMissPercent: 20,
  restoreMinAttempts: 20,
  storeErrorsPer5Min: 10,
  http5xxPer5Min: 10,
  restartsPer15Min: 0,
} as const;

export class Alerts extends Construct {
  readonly actionGroup: MonitorActionGroup | undefined;
  readonly metricAlerts: Record<'redisMemory' | 'redisServerLoad' | 'http5xx' | 'restarts', MonitorMetricAlert>;
  readonly queryAlerts: Record<'restoreMisses' | 'storeErrors', MonitorScheduledQueryRulesAlertV2>;

  constructor(scope: Construct, id: string, props: AlertsProps) {
    super(scope, id);
    const t = ALERT_THRESHOLDS;
    this.actionGroup = props.email
      ? new MonitorActionGroup(this, 'action-group', {
          name: `ag-${props.prefix}`,
          resourceGroupName: props.resourceGroupName,
          shortName: 'mcp-oncall',
          emailReceiver: [{ name: 'on-call', emailAddress: props.email, useCommonAlertSchema: true }],
          tags: { ...props.tags },
        })
      : undefined;
    const groups = this.actionGroup ? [this.actionGroup.id] : [];

    const metric = (key: string, description: string, scope: string, severity: number, window: string, criteria: MonitorMetricAlertCriteria) =>
      new MonitorMetricAlert(this, key, {
        name: `${props.prefix}-${key}`,
        resourceGroupName: props.resourceGroupName,
        scopes: [scope],
        description,
        severity,
        // Managed Redis publishes at 5-minute grain; one frequency for all keeps them comparable.
        frequency: 'PT5M',
        windowSize: window,
        autoMitigate: true,
        criteria: [criteria],
        action: groups.length > 0 ? groups.map((actionGroupId) => ({ actionGroupId })) : undefined,
        tags: { ...props.tags },
      });
    const redisNs = props.redisFlavour === 'managed' ? 'Microsoft.Cache/redisEnterprise' : 'Microsoft.Cache/redis';
    const redis = (metricName: string) => ({ metricNamespace: redisNs, metricName, aggregation: 'Maximum', operator: 'GreaterThan' });
    const app = { metricNamespace: 'Microsoft.App/containerApps', aggregation: 'Total', operator: 'GreaterThan' };
    this.metricAlerts = {
      redisMemory: metric('redis-memory', `Redis memory above ${t.redisMemoryPercent}% of its limit: sessions will be evicted (allkeys-lru) at 100%`, props.redisId, 1, 'PT15M', { ...redis('usedmemorypercentage'), threshold: t.redisMemoryPercent }),
      redisServerLoad: metric('redis-server-load', `Redis server load above ${t.redisServerLoadPercent}%: commands queue and restores slow down`, props.redisId, 2, 'PT15M', { ...redis('serverLoad'), threshold: t.redisServerLoadPercent }),
      http5xx: metric('http-5xx', `More than ${t.http5xxPer5Min} responses 5xx in 5 minutes`, props.containerAppId, 2, 'PT5M', {
        ...app,
        metricName: 'Requests',
        threshold: t.http5xxPer5Min,
        dimension: [{ name: 'statusCodeCategory', operator: 'Include', values: ['5xx'] }],
      }),
      restarts: metric('replica-restarts', 'A replica restarted (crash or failed liveness probe) in the last 15 minutes', props.containerAppId, 2, 'PT15M', { ...app, metricName: 'RestartCount', threshold: t.restartsPer15Min }),
    };

    const query = (key: string, description: string, kql: string, threshold: number) =>
      new MonitorScheduledQueryRulesAlertV2(this, key, {
        name: `${props.prefix}-${key}`,
        resourceGroupName: props.resourceGroupName,
        location: props.location,
        scopes: [props.appInsightsId],
        description,
        severity: 2,
        evaluationFrequency: 'PT5M',
        windowDuration: key === 'restore-misses' ? 'PT15M' : 'PT5M',
        autoMitigationEnabled: true,
        criteria: [{ query: kql, timeAggregationMethod: 'Maximum', metricMeasureColumn: 'value', operator: 'GreaterThan', threshold, failingPeriods: { minimumFailingPeriodsToTriggerAlert: 1, numberOfEvaluationPeriods: 1 } }],
        action: groups.length > 0 ? { actionGroups: groups } : undefined,
        tags: { ...props.tags },
      });
    this.queryAlerts = {
      restoreMisses: query(
        'restore-misses',
        `More than ${t.restoreMissPercent}% of restores missed (at least ${t.restoreMinAttempts} attempts): sessions are being lost (evicted, expired early, or another prefix)`,
        [
          'customMetrics',
          '| where name == "mcp.server.session.restores"',
          '| extend outcome = tostring(customDimensions["outcome"])',
          '| summarize misses = sumif(valueSum, outcome == "miss"), attempts = sumif(valueSum, outcome in ("miss", "restored"))',
          `| where attempts >= ${t.restoreMinAttempts}`,
          '| project value = 100.0 * misses / attempts',
        ].join('\n'),
        t.restoreMissPercent,
      ),
      storeErrors: query(
        'store-errors',
        `More than ${t.storeErrorsPer5Min} session-store command errors in 5 minutes (timeouts, Redis unreachable)`,
        ['customMetrics', '| where name == "mcp.store.errors"', '| summarize value = sum(valueSum)'].join('\n'),
        t.storeErrorsPer5Min,
      ),
    };
  }
}
