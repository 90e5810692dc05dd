// Fake `az` and `terraform` for the deploy tests: records every argv, keeps a little Azure state, fails on demand.
// CommonJS on purpose: the shims that load it are extension-less files, which Node runs as CommonJS.
const fs = require('node:fs');
const path = require('node:path');

module.exports = function fake(tool) {
  const dir = process.env.FAKE_CLI_DIR;
  const argv = process.argv.slice(2);
  const line = `${tool} ${argv.join(' ')}`;
  fs.appendFileSync(path.join(dir, 'calls.jsonl'), `${JSON.stringify([tool, ...argv])}\n`);
  const statePath = path.join(dir, 'state.json');
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
  const save = () => fs.writeFileSync(statePath, JSON.stringify(state));
  const out = (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const exit = (code, stderr) => {
    if (stderr) process.stderr.write(`${stderr}\n`);
    process.exit(code);
  };
  // A failure is planned as { prefix, exact?, code, stderr, times? }: it answers the first `times` matching calls.
  const matches = (f) => (f.exact ? line === f.prefix : line.startsWith(f.prefix));
  const failure = state.failures.find((f) => matches(f) && (f.times === undefined || f.times > 0));
  if (failure) {
    if (failure.times !== undefined) failure.times -= 1;
    save();
    exit(failure.code, failure.stderr);
  }
  const option = (name) => argv[argv.indexOf(name) + 1];
  const has = (...words) => words.every((w, i) => argv.filter((a) => !a.startsWith('-chdir'))[i] === w);

  if (tool === 'az') {
    if (has('version')) return out('{"azure-cli": "2.79.0"}');
    if (has('account', 'show')) return out(JSON.stringify({ id: '00000000-0000-4000-8000-000000000001', name: 'Test subscription', user: { name: 'dev@example.test' } }));
    if (has('keyvault', 'secret', 'show')) {
      if (state.secret === undefined) exit(3, `ERROR: (SecretNotFound) A secret with (name/id) ${option('--name')} was not found in this key vault.`);
      return out(`https://${option('--vault-name')}.vault.azure.net/secrets/${option('--name')}/0123`);
    }
    if (has('keyvault', 'secret', 'set')) {
      state.secret = fs.readFileSync(option('--file'), 'utf8');
      return save();
    }
    if (has('acr', 'repository', 'list')) return out(JSON.stringify([...new Set(state.tags.map((t) => t.split(':')[0]))]));
    if (has('acr', 'repository', 'show-tags')) {
      const tags = state.tags.filter((t) => t.startsWith(`${option('--repository')}:`));
      if (tags.length === 0) exit(1, `ERROR: repository ${option('--repository')} is not found.`);
      return out(JSON.stringify(tags.map((t) => t.split(':')[1])));
    }
    if (has('acr', 'build')) {
      const context = argv[argv.length - 1];
      if (!fs.existsSync(path.join(context, 'Dockerfile'))) exit(1, `ERROR: no Dockerfile in ${context}`);
      state.tags.push(option('--image'));
      save();
      return out(`Run ID: ca${state.tags.length} was successful after 42s`);
    }
  }
  if (tool === 'terraform') {
    const chdir = (argv.find((a) => a.startsWith('-chdir=')) || '').slice('-chdir='.length);
    if (has('version')) return out('{"terraform_version": "1.11.4"}');
    if (has('init')) return out('Terraform has been successfully initialized!');
    if (has('apply') && argv.some((a) => a.startsWith('-target='))) {
      state.baseApplied = true;
      save();
      return out('Apply complete! (targeted)');
    }
    if (has('apply')) {
      const json = JSON.parse(fs.readFileSync(path.join(chdir, 'cdk.tf.json'), 'utf8'));
      const image = Object.values(json.resource.azurerm_container_app)[0].template.container[0].image;
      // Container Apps makes a new revision only when the template changes: here, the image.
      if (state.appliedImage !== image) state.revision += 1;
      state.appliedImage = image;
      save();
      return out('Apply complete!');
    }
    if (has('output')) {
      return out(JSON.stringify({
        mcp_endpoint: { value: 'https://mcp-continuity-dev.example.test/mcp' },
        latest_revision_name: { value: `mcp-continuity-dev--r${state.revision}` },
        latest_revision_fqdn: { value: state.readyHost },
      }));
    }
    if (has('destroy')) return out('Destroy complete!');
  }
  exit(64, `fake ${tool}: unexpected call: ${line}`);
};
