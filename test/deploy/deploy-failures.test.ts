// Every deploy step that can fail stops the deploy there: a message naming the step and what to do, exit 1, nothing later run.
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DeployWorld, line, type Failure, type RunResult } from './deploy-world.js';

let world: DeployWorld;
beforeAll(async () => {
  world = await DeployWorld.create();
});
afterAll(() => world.close());
beforeEach(() => {
  world.heal();
  world.readyAnswers = [200];
});

const stackDir = () => join(world.clone, 'cdktf.out', 'stacks', 'dev');
/** The apply without -target: the one that rolls out the Container App. */
const FULL_APPLY = 'full apply';
const ran = (result: RunResult, start: string) =>
  start === FULL_APPLY
    ? result.calls.some((c) => c[0] === 'terraform' && c.includes('apply') && !c.some((a) => a.startsWith('-target=')))
    : result.calls.map(line).some((c) => c.startsWith(start));

function expectStoppedAt(result: RunResult, step: string, advice: RegExp): void {
  expect(result.code).toBe(1);
  expect(result.stderr).toContain(`FAILED at step "${step}"`);
  expect(result.stderr).toMatch(/What to do: /);
  expect(result.stderr).toMatch(advice);
  expect(result.stderr).not.toMatch(/\n\s+at /); // a message to act on, not a stack trace
}

interface Case {
  readonly name: string;
  readonly step: string;
  readonly advice: RegExp;
  readonly arrange: () => { tools?: ('az' | 'terraform')[]; env?: Record<string, string> } | void;
  /** Calls that must not have happened (the later steps). */
  readonly notRun: (dir: string) => string[];
}

const failAt = (failure: Failure) => () => world.fail(failure);

const cases: Case[] = [
  { name: 'the Azure CLI is missing', step: 'check az', advice: /install-azure-cli/, arrange: () => ({ tools: ['terraform'] }), notRun: () => ['terraform', 'az'] },
  { name: 'Terraform is missing', step: 'check terraform', advice: /terraform\/install/, arrange: () => ({ tools: ['az'] }), notRun: () => ['az account show'] },
  {
    name: 'nobody is logged in to Azure',
    step: 'check Azure login',
    advice: /az login/,
    arrange: failAt({ prefix: 'az account show', code: 1, stderr: "ERROR: Please run 'az login' to setup account." }),
    notRun: () => ['terraform -chdir'],
  },
  { name: 'the infra config is wrong', step: 'synth', advice: /INFRA_REDIS/, arrange: () => ({ env: { INFRA_REDIS: 'valkey' } }), notRun: () => ['terraform -chdir'] },
  {
    name: 'terraform init fails',
    step: 'terraform init',
    advice: /registry\.terraform\.io/,
    arrange: () => world.fail({ prefix: `terraform -chdir=${stackDir()} init`, code: 1, stderr: 'Error: Failed to query available provider packages' }),
    notRun: (dir) => [`terraform -chdir=${dir} apply`, 'az keyvault', 'az acr'],
  },
  {
    name: 'the base cannot be provisioned',
    step: 'provision base',
    advice: /Role Based Access Control Administrator/,
    arrange: () => world.fail({ prefix: `terraform -chdir=${stackDir()} apply -input=false -auto-approve -target=`, code: 1, stderr: 'Error: AuthorizationFailed' }),
    notRun: () => ['az keyvault', 'az acr', FULL_APPLY],
  },
  {
    name: 'Key Vault keeps refusing the API key secret',
    step: 'API key secret',
    advice: /Key Vault Secrets Officer/,
    arrange: failAt({ prefix: 'az keyvault secret show', code: 1, stderr: 'ERROR: (Forbidden) Caller is not authorized to perform action on resource.' }),
    notRun: () => ['az acr', FULL_APPLY],
  },
  {
    name: 'the registry cannot be read',
    step: 'image',
    advice: /az acr login/,
    arrange: failAt({ prefix: 'az acr repository list', code: 1, stderr: 'ERROR: (Unauthorized) authentication required' }),
    notRun: () => ['az acr build', FULL_APPLY],
  },
  {
    name: 'the image build fails',
    step: 'image',
    advice: /npm run build/,
    arrange: failAt({ prefix: 'az acr build', code: 1, stderr: 'ERROR: Run failed' }),
    notRun: () => [FULL_APPLY],
  },
  {
    name: 'the full apply fails',
    step: 'apply',
    advice: /build is skipped/,
    arrange: () => world.fail({ prefix: `terraform -chdir=${stackDir()} apply -input=false -auto-approve`, exact: true, code: 1, stderr: 'Error: ContainerAppOperationError' }),
    notRun: (dir) => [`terraform -chdir=${dir} output`],
  },
  {
    name: 'the new revision never becomes ready',
    step: 'wait for readiness',
    advice: /az containerapp logs show -g rg-mcp-continuity-dev -n mcp-continuity-dev --revision mcp-continuity-dev--r\d/,
    arrange: () => {
      world.readyAnswers = [503];
      return { env: { DEPLOY_READY_TIMEOUT: '0.5' } };
    },
    notRun: () => [],
  },
];

describe('a deploy that fails', () => {
  for (const c of cases) {
    it(`stops at "${c.step}" with what to do when ${c.name}`, async () => {
      const options = c.arrange() ?? {};
      const result = await world.run(['deploy', 'dev'], options);
      expectStoppedAt(result, c.step, c.advice);
      for (const later of c.notRun(stackDir())) expect(ran(result, later), `${later} ran:\n${result.calls.map(line).join('\n')}`).toBe(false);
      expect(result.stdout).not.toContain('Deployed dev');
    });
  }
});

describe('a deploy that meets a propagating role', () => {
  it('retries Key Vault while it answers Forbidden, then creates the secret and carries on', async () => {
    world.fail({ prefix: 'az keyvault secret show', code: 1, stderr: 'ERROR: (Forbidden) Caller is not authorized to perform action on resource.', times: 2 });
    const result = await world.run(['deploy', 'dev'], { env: { DEPLOY_SECRET_TIMEOUT: '30' } });
    expect(result.code).toBe(0);
    expect(result.calls.map(line).filter((c) => c.startsWith('az keyvault secret show'))).toHaveLength(3);
    expect(result.stdout).toContain('refused access (role assignment still propagating?)');
    expect(world.state().secret).toMatch(/^deploy:/);
  });
});
