// Deep imports only: a provider package root loads every binding (azurerm ~1,500 modules, ~3 s, ~400 MB per process).
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === '__snapshots__' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

// `from '…'`, `import('…')`, `require('…')` and bare `import '…'` naming a provider package without a /lib/ path.
const ROOT_IMPORT = /(?:from|import|require)\s*\(?\s*['"]@cdktf\/provider-(?:azurerm|azuread)(?:\/(?!lib\/)[^'"]*)?['"]/;

describe('imports of @cdktf/provider-azurerm and @cdktf/provider-azuread', () => {
  const files = ['infra', 'test'].flatMap((dir) => tsFiles(join(root, dir)));

  it('finds the TypeScript files of infra/ and test/', () => {
    expect(files.some((f) => f.endsWith(join('infra', 'stack.ts')))).toBe(true);
  });

  it('never names the package root, only @cdktf/provider-azurerm/lib/<resource>/index.js', () => {
    const offenders = files.filter((f) => ROOT_IMPORT.test(readFileSync(f, 'utf8'))).map((f) => relative(root, f));
    expect(offenders).toEqual([]);
  });

  it('recognizes a root import when it sees one', () => {
    const pkg = '@cdktf/provider-azurerm';
    expect(ROOT_IMPORT.test(`import * as azurerm from '${pkg}';`)).toBe(true);
    expect(ROOT_IMPORT.test(`import { KeyVault } from "${pkg}/lib/key-vault/index.js";`)).toBe(false);
    const azuread = '@cdktf/provider-azuread';
    expect(ROOT_IMPORT.test(`import { Application } from '${azuread}';`)).toBe(true);
    expect(ROOT_IMPORT.test(`import { Application } from '${azuread}/lib/application/index.js';`)).toBe(false);
  });
});
