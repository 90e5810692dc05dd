// The on-call workbook: the figures to look at first, from the app's telemetry in Application Insights.
import { Construct } from 'constructs';
import { Fn } from 'cdktf';
import { ApplicationInsightsWorkbook } from '@cdktf/provider-azurerm/lib/application-insights-workbook/index.js';

export interface WorkbookProps {
  /** A UUID (Azure's rule for workbook names); stable across deploys. */
  readonly name: string;
  readonly displayName: string;
  readonly location: string;
  readonly resourceGroupName: string;
  readonly appInsightsId: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** Title and KQL of each chart, in the order an on-call person reads them. */
export const WORKBOOK_CHARTS: ReadonlyArray<{ readonly title: string; readonly query: string }> = [
  { title: 'Restores by outcome (restored, miss, unavailable, foreign)', query: 'customMetrics | where name == "mcp.server.session.restores" | summarize restores = sum(valueSum) by outcome = tostring(customDimensions["outcome"]), bin(timestamp, 5m)' },
  { title: 'MCP requests: p95 duration by method (ms)', query: 'requests | summarize p95 = percentile(duration, 95) by name, bin(timestamp, 5m)' },
  { title: 'Responses by status', query: 'requests | summarize count() by resultCode, bin(timestamp, 5m)' },
  { title: 'Session-store command duration, average by operation (s)', query: 'customMetrics | where name == "mcp.store.operation.duration" | summarize avg = sum(valueSum) / sum(valueCount) by operation = tostring(customDimensions["db.operation.name"]), bin(timestamp, 5m)' },
  { title: 'Session-store errors and refused writes', query: 'customMetrics | where name in ("mcp.store.errors", "mcp.store.writes.refused", "mcp.store.channel.suspicions") | summarize total = sum(valueSum) by name, bin(timestamp, 5m)' },
  { title: 'Live sessions per replica', query: 'customMetrics | where name == "mcp.server.sessions.live" | summarize sessions = max(value) by cloud_RoleInstance, bin(timestamp, 5m)' },
  { title: 'Drains: duration (s) and calls cut', query: 'customMetrics | where name in ("mcp.server.drain.duration", "mcp.server.drain.calls.cut") | summarize value = max(iff(name == "mcp.server.drain.duration", valueMax, valueSum)) by name, bin(timestamp, 5m)' },
  { title: 'Heap (bytes) and event-loop delay p99 (s) per replica', query: 'customMetrics | where name in ("v8js.memory.heap.used", "nodejs.eventloop.delay.p99") | summarize value = max(value) by name, cloud_RoleInstance, bin(timestamp, 5m)' },
];

export class Workbook extends Construct {
  readonly workbook: ApplicationInsightsWorkbook;

  constructor(scope: Construct, id: string, props: WorkbookProps) {
    super(scope, id);
    const items = WORKBOOK_CHARTS.map((chart, i) => ({
      type: 3,
      name: `chart-${i + 1}`,
      content: { version: 'KqlItem/1.0', title: chart.title, query: chart.query, queryType: 0, resourceType: 'microsoft.insights/components', visualization: 'timechart', timeContext: { durationMs: 86_400_000 }, size: 0 },
    }));
    this.workbook = new ApplicationInsightsWorkbook(this, 'workbook', {
      name: props.name,
      displayName: props.displayName,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      // Azure stores the source id in lower case; anything else shows as a change on every plan.
      sourceId: Fn.lower(props.appInsightsId),
      category: 'workbook',
      dataJson: Fn.jsonencode({ version: 'Notebook/1.0', items, fallbackResourceIds: [props.appInsightsId] }),
      tags: { ...props.tags },
    });
  }
}
