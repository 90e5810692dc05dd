// cdktf entry point: one stack per environment from one definition. `npm run synth` runs it directly.
import { App } from 'cdktf';
import { applyEnvOverrides, ENVIRONMENTS, PLACEHOLDER_IMAGE } from './config.js';
import { securityWarnings } from './security-config.js';
import { McpContinuityStack } from './stack.js';

// The outdir comes from CDKTF_OUTDIR (the cdktf CLI sets it; tests point it at a temp dir), else cdktf.out.
// No stack traces in metadata: they hold absolute paths and would make the output machine-dependent.
const app = new App({ stackTraces: false });
for (const base of Object.values(ENVIRONMENTS)) {
  const config = applyEnvOverrides(base, process.env);
  if (config.image === PLACEHOLDER_IMAGE) {
    console.warn(`[${config.environment}] image is the placeholder ${PLACEHOLDER_IMAGE}; set INFRA_IMAGE before deploying`);
  }
  for (const warning of securityWarnings(config)) console.warn(`[${config.environment}] ${warning}`);
  new McpContinuityStack(app, config);
}
app.synth();
