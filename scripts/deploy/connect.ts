// What a user needs after a deploy: the endpoint, where the API key is, and client configs that work.
import { API_KEYS_SECRET, FIRST_KEY_ID, showKeyCommand } from './api-key.js';

export function connectInstructions(endpoint: string, vault: string): string {
  const vscode = {
    inputs: [{ id: 'mcp-continuity-key', type: 'promptString', description: 'mcp-continuity API key', password: true }],
    servers: {
      'mcp-continuity': { type: 'http', url: endpoint, headers: { Authorization: 'Bearer ${input:mcp-continuity-key}' } },
    },
  };
  return [
    `MCP endpoint: ${endpoint}`,
    '',
    `API keys live in Key Vault secret ${API_KEYS_SECRET} as "id:key" entries; a client sends the key part`,
    `(after "${FIRST_KEY_ID}:") as a bearer token. Show them with:`,
    `  ${showKeyCommand(vault)}`,
    '',
    'VS Code: put this in .vscode/mcp.json (it asks for the key once):',
    JSON.stringify(vscode, null, 2).replace(/^/gm, '  '),
    '',
    'MCP Inspector: npx @modelcontextprotocol/inspector, then Transport "Streamable HTTP",',
    `  URL ${endpoint}, and an "Authorization: Bearer <key>" header.`,
  ].join('\n');
}
