// Records every module a process loads: run node with
// `--import <this file>` and TG_IMPORT_TRACE=<file>; each resolved URL is appended to the file.
import { register } from 'node:module';

register('./import-trace-hooks.mjs', import.meta.url, { data: { file: process.env.TG_IMPORT_TRACE } });
