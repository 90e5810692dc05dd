// cdktf entry point: one stack per environment from one definition. `npm run synth` runs it directly.
import { App } from 'cdktf';
import { applyEnvOverrides, ENVIRONMENTS, InfraConfigError } from './config.js';
import { securityWarnings } from './security-config.js';
import { McpContinuityStack } from './stack.js';

// The outdir comes from CDKTF_OUTDIR (the cdktf CLI sets it; tests point it at a temp dir), else cdktf.out.
// No stack traces in metadata: they hold absolute paths and would make the output machine-dependent.
const app = new App({ stackTraces: false });
try {
  for (const base of Object.values(ENVIRONMENTS)) {
    const config = applyEnvOverrides(base, process.env);
    for (const warning of securityWarnings(config)) console.warn(`[${config.environment}] ${warning}`);
    new McpContinuityStack(app, config);
  }
} catch (error) {
  // A config mistake is the user's to fix: say what to do, without a stack trace in the way.
  if (!(error instanceof InfraConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
app.synth();
