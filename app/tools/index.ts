// The tools of both eras (a legacy session, a modern request). To add a tool: write a ToolModule in this folder and list it here.
import { countdown } from './countdown.js';
import { scratchpad } from './scratchpad.js';
import { scratchpadAsks } from './scratchpad-asks.js';
import { sessionInfo } from './session-info.js';
import { enableToolset, TOOLSETS } from './toolsets.js';
import type { ToolModule } from './types.js';

export const TOOL_MODULES: readonly ToolModule[] = [sessionInfo, scratchpad, scratchpadAsks, enableToolset, countdown];
export { TOOLSETS };
export type { DataValue, LegacyScope, ModernScope, ReplicaInfo, ScratchpadData, Scratchpads, SessionContext, SessionData, ToolModule, ToolScope, Toolset } from './types.js';
