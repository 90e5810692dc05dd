// Guarantees of the observability IaC: Application Insights on the workspace, its connection string as a secret, each alert, the workbook.
import { describe, expect, it } from 'vitest';
import { ENV } from '../../app/config.js';
import { applyEnvOverrides, ENVIRONMENTS, InfraConfigError } from '../../infra/config.js';
import { ALERT_THRESHOLDS } from '../../infra/constructs/alerts.js';
import { TELEMETRY_APP_SECRET } from '../../infra/constructs/container-app.js';
import { WORKBOOK_CHARTS } from '../../infra/constructs/workbook.js';
import { only, ref, resourcesOf, synth, variant, type Json } from './helpers.js';

const json = synth(variant('prod', { alertEmail: 'oncall@example.com' }));
const insights = only(json, 'azurerm_application_insights');
const app = only(json, 'azurerm_container_app');
const metricAlerts = resourcesOf(json, 'azurerm_monitor_metric_alert');
const queryAlerts = resourcesOf(json, 'azurerm_monitor_scheduled_query_rules_alert_v2');
const byName = (alerts: Record<string, Json>, suffix: string) => {
  const found = Object.values(alerts).filter((a) => (a.name as string).endsWith(`-${suffix}`));
  expect(found).toHaveLength(1);
  return found[0]!;
};
const group = only(json, 'azurerm_monitor_action_group');

describe('Application Insights', () => {
  it('is workspace-based, on the Log Analytics workspace the Container Apps logs go to', () => {
    expect(insights.body.workspace_id).toBe(ref(only(json, 'azurerm_log_analytics_workspace').address, 'id'));
    expect(insights.body.application_type).toBe('Node.JS');
  });

  it('reaches the app as a Container App secret referenced by APPLICATIONINSIGHTS_CONNECTION_STRING, never a plain env value', () => {
    expect(app.body.secret).toContainEqual({ name: TELEMETRY_APP_SECRET, value: ref(insights.address, 'connection_string') });
    const env = app.body.template.container[0].env.filter((e: Json) => e.name === ENV.appInsightsConnectionString);
    expect(env).toEqual([{ name: ENV.appInsightsConnectionString, secret_name: TELEMETRY_APP_SECRET }]);
    expect(JSON.stringify(app.body.template)).not.toContain('connection_string');
  });
});

describe('alerts', () => {
  const redis = only(json, 'azurerm_redis_cache').address;
  const notifies = (alert: Json) => expect(alert.action).toEqual([{ action_group_id: ref(group.address, 'id') }]);

  it('fires when Redis memory passes 80% of its limit (before allkeys-lru evicts sessions)', () => {
    const alert = byName(metricAlerts, 'redis-memory');
    expect(alert.scopes).toEqual([ref(redis, 'id')]);
    expect(alert.criteria).toEqual([{ metric_namespace: 'Microsoft.Cache/redis', metric_name: 'usedmemorypercentage', aggregation: 'Maximum', operator: 'GreaterThan', threshold: 80 }]);
    expect(alert.severity).toBe(1);
    notifies(alert);
  });

  it('fires on Redis server load above 80%', () => {
    const alert = byName(metricAlerts, 'redis-server-load');
    expect(alert.criteria[0]).toMatchObject({ metric_name: 'serverLoad', operator: 'GreaterThan', threshold: ALERT_THRESHOLDS.redisServerLoadPercent });
    notifies(alert);
  });

  it('uses the Managed Redis namespace for the other flavour', () => {
    const managed = synth(variant('dev', { redis: 'managed' }));
    const alert = byName(resourcesOf(managed, 'azurerm_monitor_metric_alert'), 'redis-memory');
    expect(alert.scopes).toEqual([ref(only(managed, 'azurerm_managed_redis').address, 'id')]);
    expect(alert.criteria[0].metric_namespace).toBe('Microsoft.Cache/redisEnterprise');
  });

  it('fires on 5xx responses of the Container App, counted by status category', () => {
    const alert = byName(metricAlerts, 'http-5xx');
    expect(alert.scopes).toEqual([ref(app.address, 'id')]);
    expect(alert.criteria).toEqual([
      { metric_namespace: 'Microsoft.App/containerApps', metric_name: 'Requests', aggregation: 'Total', operator: 'GreaterThan', threshold: ALERT_THRESHOLDS.http5xxPer5Min, dimension: [{ name: 'statusCodeCategory', operator: 'Include', values: ['5xx'] }] },
    ]);
    notifies(alert);
  });

  it('fires on any replica restart', () => {
    const alert = byName(metricAlerts, 'replica-restarts');
    expect(alert.criteria[0]).toMatchObject({ metric_name: 'RestartCount', aggregation: 'Total', operator: 'GreaterThan', threshold: 0 });
    notifies(alert);
  });

  it('fires when more than 20% of restores miss, on the app telemetry in Application Insights', () => {
    const alert = byName(queryAlerts, 'restore-misses');
    expect(alert.scopes).toEqual([ref(insights.address, 'id')]);
    const [criterion] = alert.criteria;
    expect(criterion).toMatchObject({ operator: 'GreaterThan', threshold: ALERT_THRESHOLDS.restoreMissPercent, metric_measure_column: 'value' });
    expect(criterion.query).toContain('"mcp.server.session.restores"');
    expect(criterion.query).toContain('outcome == "miss"');
    expect(criterion.query).toContain(`attempts >= ${ALERT_THRESHOLDS.restoreMinAttempts}`);
    expect(alert.action).toEqual({ action_groups: [ref(group.address, 'id')] });
  });

  it('fires on session-store errors above the threshold', () => {
    const alert = byName(queryAlerts, 'store-errors');
    expect(alert.criteria[0].query).toContain('"mcp.store.errors"');
    expect(alert.criteria[0].threshold).toBe(ALERT_THRESHOLDS.storeErrorsPer5Min);
    expect(alert.action).toEqual({ action_groups: [ref(group.address, 'id')] });
  });

  it('e-mails the address from the stack config through one action group', () => {
    expect(group.body.email_receiver).toEqual([{ name: 'on-call', email_address: 'oncall@example.com', use_common_alert_schema: true }]);
  });

  it('without an address: every alert still exists, no action group, nobody notified', () => {
    const quiet = synth(variant('prod'));
    expect(resourcesOf(quiet, 'azurerm_monitor_action_group')).toEqual({});
    const metric = Object.values(resourcesOf(quiet, 'azurerm_monitor_metric_alert'));
    const query = Object.values(resourcesOf(quiet, 'azurerm_monitor_scheduled_query_rules_alert_v2'));
    expect([metric.length, query.length]).toEqual([4, 2]);
    for (const alert of metric) expect(alert.action).toBeUndefined();
    for (const alert of query) expect(alert.action).toBeUndefined();
  });

  it('reads the address from INFRA_ALERT_EMAIL and refuses one that is not an address', () => {
    expect(applyEnvOverrides(ENVIRONMENTS.dev, { INFRA_ALERT_EMAIL: 'ops@example.com' }).alertEmail).toBe('ops@example.com');
    expect(() => applyEnvOverrides(ENVIRONMENTS.dev, { INFRA_ALERT_EMAIL: 'ops' })).toThrow(InfraConfigError);
  });
});

describe('the on-call workbook', () => {
  it('charts restores, latency, status codes, store, live sessions, drains and runtime from Application Insights', () => {
    const workbook = only(json, 'azurerm_application_insights_workbook').body;
    expect(workbook.name).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(workbook.source_id).toBe(`\${lower(${ref(insights.address, 'id').slice(2, -1)})}`);
    const text = workbook.data_json as string;
    for (const chart of WORKBOOK_CHARTS) expect(text).toContain(chart.title);
    for (const metric of ['mcp.server.session.restores', 'mcp.store.operation.duration', 'mcp.server.sessions.live', 'mcp.server.drain.duration', 'nodejs.eventloop.delay.p99']) expect(text).toContain(metric);
  });
});
