// The tools every session gets. To add a tool: write a ToolModule in this folder and list it here.
import { countdown } from './countdown.js';
import { scratchpad } from './scratchpad.js';
import { scratchpadAsks } from './scratchpad-asks.js';
import { sessionInfo } from './session-info.js';
import { enableToolset, TOOLSETS } from './toolsets.js';
import type { ToolModule } from './types.js';

export const TOOL_MODULES: readonly ToolModule[] = [sessionInfo, scratchpad, scratchpadAsks, enableToolset, countdown];
export { TOOLSETS };
export type { DataValue, ReplicaInfo, SessionContext, SessionData, ToolModule, Toolset } from './types.js';
