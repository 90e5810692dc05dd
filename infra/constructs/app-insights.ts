// Workspace-based Application Insights beside the Log Analytics workspace: where the app's traces and metrics land.
import { Construct } from 'constructs';
import { ApplicationInsights } from '@cdktf/provider-azurerm/lib/application-insights/index.js';

export interface AppInsightsProps {
  readonly name: string;
  readonly location: string;
  readonly resourceGroupName: string;
  /** The Log Analytics workspace that stores the telemetry (one retention, one bill, one place to query). */
  readonly workspaceId: string;
  readonly tags: Readonly<Record<string, string>>;
}

export class AppInsights extends Construct {
  readonly component: ApplicationInsights;
  /** Sensitive: reaches the app only as a Container App secret. */
  readonly connectionString: string;

  constructor(scope: Construct, id: string, props: AppInsightsProps) {
    super(scope, id);
    this.component = new ApplicationInsights(this, 'component', {
      name: props.name,
      location: props.location,
      resourceGroupName: props.resourceGroupName,
      workspaceId: props.workspaceId,
      applicationType: 'Node.JS',
      // Every span kept: the app exports one span per request plus a few children, and restores are rare.
      samplingPercentage: 100,
      tags: { ...props.tags },
    });
    this.connectionString = this.component.connectionString;
  }
}
