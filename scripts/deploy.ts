// `npm run deploy -- <env>` / `npm run destroy -- <env> [--yes]`: provision, build in ACR, roll out, wait, print.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureApiKey, showKeyCommand } from './deploy/api-key.js';
import { connectInstructions } from './deploy/connect.js';
import { IMAGE_REPOSITORY, imageTag } from './deploy/image-tag.js';
import { waitUntilReady } from './deploy/readiness.js';
import { firstLines, run, StepError } from './deploy/run.js';
import { readStackPlan, type StackPlan } from './deploy/stack-plan.js';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const USAGE = 'usage: npm run deploy -- <env>   |   npm run destroy -- <env> [--yes]   (env: dev, prod, … from infra/config.ts)';
const log = (line: string) => process.stdout.write(`${line}\n`);

/** Timing knobs of the script (seconds); defaults suit a real Azure deploy, tests shorten them. */
function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback * 1000;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new StepError('arguments', `${name}="${raw}" is not a number of seconds`, `unset it or give e.g. ${name}=${fallback}`, 2);
  return value * 1000;
}

let stepNumber = 0;
function step(title: string): void {
  log(`\n[${++stepNumber}] ${title}`);
}

/** Checks az, terraform and the Azure login; returns the environment Terraform runs with. */
async function preflight(): Promise<NodeJS.ProcessEnv> {
  step('Checking the Azure CLI, Terraform and your Azure login');
  const az = await run('az', ['version', '-o', 'json']);
  if (az.code !== 0) {
    throw new StepError('check az', `the Azure CLI did not run (${firstLines(az.stderr, 1)})`, 'install it (https://learn.microsoft.com/cli/azure/install-azure-cli), run `az login`, then run this again');
  }
  const terraform = await run('terraform', ['version', '-json']);
  if (terraform.code !== 0) {
    throw new StepError('check terraform', `Terraform did not run (${firstLines(terraform.stderr, 1)})`, 'install Terraform 1.5 or later (https://developer.hashicorp.com/terraform/install), then run this again');
  }
  const account = await run('az', ['account', 'show', '-o', 'json']);
  let subscription: { id?: string; name?: string; user?: { name?: string } } = {};
  try {
    subscription = JSON.parse(account.stdout) as typeof subscription;
  } catch {
    // handled below: no id
  }
  if (account.code !== 0 || !subscription.id) {
    throw new StepError('check Azure login', `\`az account show\` found no logged-in subscription (${firstLines(account.stderr, 1)})`, 'run `az login` and `az account set --subscription <id>`, then run this again');
  }
  log(`  subscription ${subscription.name ?? ''} (${subscription.id}) as ${subscription.user?.name ?? 'unknown user'}`);
  // azurerm 4.x wants the subscription named explicitly; take the one az is logged in to unless one is set.
  return { ...process.env, ARM_SUBSCRIPTION_ID: process.env.ARM_SUBSCRIPTION_ID || subscription.id, TF_IN_AUTOMATION: '1' };
}

/** Synthesizes every stack with the image set and the stack's own registry on; returns the env's plan. */
async function synth(environment: string, image: string): Promise<StackPlan> {
  step(`Synthesizing the stack (image ${image})`);
  for (const name of ['INFRA_IMAGE', 'INFRA_REGISTRY']) {
    if (process.env[name]) log(`  note: ${name} is ignored here: npm run deploy builds its image in the stack's own registry`);
  }
  const outdir = process.env.CDKTF_OUTDIR || join(ROOT, 'cdktf.out');
  const env = { ...process.env, INFRA_IMAGE: image, INFRA_REGISTRY: 'true', CDKTF_OUTDIR: outdir };
  const result = await run(process.execPath, ['--import', 'tsx', 'infra/main.ts'], { cwd: ROOT, env });
  if (result.code !== 0) {
    throw new StepError('synth', `infra/main.ts failed: ${firstLines(result.stderr, 6)}`, 'fix what the message names (an INFRA_* variable or infra/config.ts), then run this again');
  }
  // Synth's warnings (e.g. a private vault no operator IP may reach) matter before the long steps start.
  for (const line of result.stderr.split('\n')) if (line.startsWith(`[${environment}] `)) log(`  warning: ${line}`);
  const dir = join(outdir, 'stacks', environment);
  if (!existsSync(join(dir, 'cdk.tf.json'))) {
    throw new StepError('synth', `there is no stack "${environment}"`, 'use one of the environments in infra/config.ts (ENVIRONMENTS), e.g. `npm run deploy -- dev`', 2);
  }
  return readStackPlan(dir);
}

async function terraform(plan: StackPlan, env: NodeJS.ProcessEnv, name: string, args: string[], next: string): Promise<void> {
  const result = await run('terraform', [`-chdir=${plan.dir}`, ...args], { env, live: true });
  if (result.code !== 0) throw new StepError(name, `\`terraform ${args[0]}\` exited with ${result.code} (its error is above)`, next);
}

async function deploy(environment: string): Promise<void> {
  const env = await preflight();
  const tag = imageTag(ROOT);
  const image = `${IMAGE_REPOSITORY}:${tag}`;
  const plan = await synth(environment, image);

  step(`Initializing Terraform in ${plan.dir}`);
  await terraform(plan, env, 'terraform init', ['init', '-input=false'], 'check network access to registry.terraform.io and the state backend settings (INFRA_BACKEND, docs/deploy.md), then run this again');

  step('Provisioning the base: resource group, registry, Key Vault, identity, role assignments');
  await terraform(plan, env, 'provision base', ['apply', '-input=false', '-auto-approve', ...plan.baseTargets.map((t) => `-target=${t}`)],
    'read the Terraform error above. "AuthorizationFailed" on a role assignment means your account may not assign roles: you need Owner, or Contributor plus Role Based Access Control Administrator. Every apply is idempotent: run this again once fixed');

  step('Making sure Key Vault holds the API keys');
  if (plan.apiKeysSecret === undefined) {
    log(`  auth mode "${plan.authMode}" reads no API keys: nothing to do`);
  } else {
    const secret = plan.apiKeysSecret;
    const created = await ensureApiKey({ vault: plan.keyVault, secret, forbiddenRetryMs: seconds('DEPLOY_SECRET_TIMEOUT', 300), retryIntervalMs: seconds('DEPLOY_SECRET_INTERVAL', 10), log });
    log(created ? `  created ${secret} in ${plan.keyVault} with one key; show it with: ${showKeyCommand(plan.keyVault, secret)}` : `  ${secret} exists in ${plan.keyVault}; left as it is`);
  }

  step(`Building the image ${image} in registry ${plan.registry}`);
  // List repositories first: an empty registry is then a plain [] rather than an error text to interpret.
  const readable = (result: { code: number; stderr: string }) => {
    if (result.code !== 0) {
      throw new StepError('image', `could not read registry ${plan.registry}: ${firstLines(result.stderr)}`, `check that you may read it (\`az acr login --name ${plan.registry}\`), then run this again`);
    }
  };
  const repositories = await run('az', ['acr', 'repository', 'list', '--name', plan.registry, '-o', 'json']);
  readable(repositories);
  let existing: string[] = [];
  if ((JSON.parse(repositories.stdout || '[]') as string[]).includes(IMAGE_REPOSITORY)) {
    const tags = await run('az', ['acr', 'repository', 'show-tags', '--name', plan.registry, '--repository', IMAGE_REPOSITORY, '-o', 'json']);
    readable(tags);
    existing = JSON.parse(tags.stdout || '[]') as string[];
  }
  if (existing.includes(tag)) {
    log(`  ${image} is already in the registry: the inputs are unchanged, nothing to build`);
  } else {
    // The source dir is the build context: az uploads what .dockerignore lets through and builds its Dockerfile.
    const built = await run('az', ['acr', 'build', '--registry', plan.registry, '--image', image, ROOT], { live: true });
    if (built.code !== 0) {
      throw new StepError('image', `\`az acr build\` exited with ${built.code} (its log is above)`, 'fix what the build log names; `npm run build` compiles the same sources locally. Then run this again');
    }
  }

  step('Applying the whole stack (Redis, Container App on the new image)');
  await terraform(plan, env, 'apply', ['apply', '-input=false', '-auto-approve'],
    `read the Terraform error above and run this again: the image is in the registry, so the build is skipped. If the app could not pull the image or read Key Vault, role assignments may still be propagating: wait a few minutes and run again`);

  const outputs = await run('terraform', [`-chdir=${plan.dir}`, 'output', '-json'], { env });
  let values: Record<string, { value?: unknown }> = {};
  try {
    values = JSON.parse(outputs.stdout) as typeof values;
  } catch {
    // handled below: no endpoint
  }
  const endpoint = String(values.mcp_endpoint?.value ?? '');
  if (outputs.code !== 0 || !endpoint) {
    throw new StepError('outputs', `\`terraform output -json\` gave no mcp_endpoint (${firstLines(outputs.stderr)})`, `run \`terraform -chdir=${plan.dir} output\` to see what the state holds, then run this again`);
  }
  const revision = String(values.latest_revision_name?.value ?? 'latest');
  const host = String(values.latest_revision_fqdn?.value || new URL(endpoint).host);

  const readyUrl = `https://${host}/readyz`;
  step(`Waiting for revision ${revision} to answer ${readyUrl}`);
  const timeoutMs = seconds('DEPLOY_READY_TIMEOUT', 600);
  try {
    await waitUntilReady({ url: readyUrl, timeoutMs, intervalMs: seconds('DEPLOY_READY_INTERVAL', 5), log });
  } catch (error) {
    throw new StepError('wait for readiness', `revision ${revision} did not answer 200 on /readyz within ${timeoutMs / 1000} s (last: ${(error as Error).message})`,
      `read its logs: az containerapp logs show -g ${plan.resourceGroup} -n ${plan.containerApp} --revision ${revision} --tail 100. The deployment is in place; run this again to wait again`);
  }
  log(`  ready\n\nDeployed ${environment}.\n\n${connectInstructions({ endpoint, vault: plan.keyVault, authMode: plan.authMode, apiKeysSecret: plan.apiKeysSecret })}`);
}

async function destroy(environment: string, yes: boolean): Promise<void> {
  if (!yes && !process.stdin.isTTY) {
    throw new StepError('confirm', `destroy deletes every resource of "${environment}" and no terminal is attached to confirm it`, `add --yes to destroy without a prompt: npm run destroy -- ${environment} --yes`, 2);
  }
  const env = await preflight();
  const plan = await synth(environment, `${IMAGE_REPOSITORY}:${imageTag(ROOT)}`);
  step(`Initializing Terraform in ${plan.dir}`);
  await terraform(plan, env, 'terraform init', ['init', '-input=false'], 'check network access and the state backend settings (INFRA_BACKEND), then run this again');
  step(`Destroying ${environment}${yes ? ' (--yes: no prompt)' : ''}`);
  // Without --yes Terraform asks on the terminal; with it, -auto-approve.
  const result = await run('terraform', [`-chdir=${plan.dir}`, 'destroy', ...(yes ? ['-input=false', '-auto-approve'] : [])], { env, live: true });
  if (result.code !== 0) throw new StepError('destroy', `\`terraform destroy\` exited with ${result.code} (its error is above)`, 'fix what it names and run this again; destroy is idempotent');
  log(`\nDestroyed ${environment}. Key Vault ${plan.keyVault} stays soft-deleted for its retention period (purge protection); a redeploy recovers it.`);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({ allowPositionals: true, options: { yes: { type: 'boolean', short: 'y', default: false } } });
  } catch (error) {
    throw new StepError('arguments', (error as Error).message, USAGE, 2);
  }
  const { values, positionals } = parsed;
  const [command, environment, ...rest] = positionals;
  if ((command !== 'deploy' && command !== 'destroy') || !environment || rest.length > 0 || !/^[a-z][a-z0-9]{1,11}$/.test(environment)) {
    throw new StepError('arguments', `expected a command and one environment name, got "${positionals.join(' ')}"`, USAGE, 2);
  }
  if (command === 'deploy') await deploy(environment);
  else await destroy(environment, values.yes ?? false);
}

try {
  await main();
} catch (error) {
  if (!(error instanceof StepError)) throw error;
  process.stderr.write(`\nFAILED at step "${error.step}": ${error.what}\nWhat to do: ${error.next}\n`);
  process.exitCode = error.exitCode;
}
