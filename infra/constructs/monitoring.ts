// Log Analytics workspace that receives the Container Apps console and system logs.
import { Construct } from 'constructs';
import { LogAnalyticsWorkspace } from '@cdktf/provider-azurerm/lib/log-analytics-workspace/index.js';

export interface MonitoringProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** Days of retention; 30 is included in the per-GB ingestion price. */
  readonly retentionInDays: number;
  readonly tags: Readonly<Record<string, string>>;
}

export class Monitoring extends Construct {
  readonly workspace: LogAnalyticsWorkspace;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    this.workspace = new LogAnalyticsWorkspace(this, 'workspace', {
      name: props.name,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      sku: 'PerGB2018',
      retentionInDays: props.retentionInDays,
      tags: { ...props.tags },
    });
  }
}
