// Preload (NODE_OPTIONS=--import) that writes every module URL a process resolves to $RECORD_IMPORTS_TO.
import { register } from 'node:module';

register('./record-imports-hooks.mjs', import.meta.url, { data: { file: process.env.RECORD_IMPORTS_TO } });
