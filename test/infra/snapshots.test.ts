// Synth snapshots of every environment and Redis flavour; the explicit guarantees live in the other files.
import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS, type RedisFlavour } from '../../infra/config.js';
import { oauthSettings } from '../../infra/security-config.js';
import { synthText, variant } from './helpers.js';

describe('synthesized Terraform JSON', () => {
  for (const env of Object.keys(ENVIRONMENTS) as (keyof typeof ENVIRONMENTS)[]) {
    for (const redis of ['cache', 'managed'] as RedisFlavour[]) {
      it(`matches the snapshot for ${env} with redis=${redis}`, async () => {
        await expect(synthText(variant(env, { redis }))).toMatchFileSnapshot(`__snapshots__/${env}.${redis}.tf.json`);
      });
    }
  }

  it('matches the snapshot for dev with the container registry', async () => {
    const text = synthText(variant('dev', { registry: true, image: 'mcp-continuity:0.1.0' }));
    await expect(text).toMatchFileSnapshot('__snapshots__/dev.registry.tf.json');
  });

  it('matches the snapshot for prod with OAuth, operator IPs and an ingress allow-list', async () => {
    const config = variant('prod', {
      auth: 'oauth',
      oauth: oauthSettings('mcp.contoso.com'),
      operatorIpRanges: ['203.0.113.7'],
      ingressAllowedCidrs: ['198.51.100.0/24'],
    });
    await expect(synthText(config)).toMatchFileSnapshot('__snapshots__/prod.oauth.tf.json');
  });
});
