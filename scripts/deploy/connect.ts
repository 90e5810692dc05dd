// What a user needs after a deploy: the endpoint, where the API key is, and client configs that work.
import { FIRST_KEY_ID, showKeyCommand } from './api-key.js';

export interface ConnectOptions {
  readonly endpoint: string;
  readonly vault: string;
  readonly authMode: string;
  /** Key mode: the vault secret holding the keys. */
  readonly apiKeysSecret: string | undefined;
}

export function connectInstructions({ endpoint, vault, authMode, apiKeysSecret }: ConnectOptions): string {
  const keyed = apiKeysSecret !== undefined;
  const server = { type: 'http', url: endpoint, ...(keyed ? { headers: { Authorization: 'Bearer ${input:mcp-continuity-key}' } } : {}) };
  const vscode = {
    ...(keyed ? { inputs: [{ id: 'mcp-continuity-key', type: 'promptString', description: 'mcp-continuity API key', password: true }] } : {}),
    servers: { 'mcp-continuity': server },
  };
  const auth = keyed
    ? [
        `API keys live in Key Vault secret ${apiKeysSecret} as "id:key" entries; a client sends the key part`,
        `(after "${FIRST_KEY_ID}:") as a bearer token. Show them with:`,
        `  ${showKeyCommand(vault, apiKeysSecret)}`,
      ]
    : authMode === 'oauth'
      ? ['Clients sign in with Entra ID: VS Code does it when it first connects (docs/deploy.md, "OAuth mode").']
      : [`Auth mode "${authMode}": anyone who can reach this URL can use the server.`];
  return [
    `MCP endpoint: ${endpoint}`,
    '',
    ...auth,
    '',
    `VS Code: put this in .vscode/mcp.json${keyed ? ' (it asks for the key once)' : ''}:`,
    JSON.stringify(vscode, null, 2).replace(/^/gm, '  '),
    '',
    'MCP Inspector: npx @modelcontextprotocol/inspector, then Transport "Streamable HTTP",',
    `  URL ${endpoint}${keyed ? ', and an "Authorization: Bearer <key>" header' : ''}.`,
  ].join('\n');
}
