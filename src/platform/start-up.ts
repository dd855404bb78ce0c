// What every process of ours does before it loads anything else: how its modules load. Imported first by
// src/main.ts, and by the test and chaos commands (`--import`), so that tests load modules as the roles do.
import { enableCompileCache } from 'node:module';
import './db/drizzle-loading.ts';

// Node's compile cache: the stripped TypeScript and compiled code of each module, on disk, so that a process
// loading a module loaded before skips stripping and compiling it (importing the web role 1.1 → 0.8 s here, warm).
// The image fills its own at build time (NODE_COMPILE_CACHE in the Dockerfile); elsewhere it is Node's default
// folder in the temporary directory. Entries are checked against the module's source: an edited file is compiled
// again, never run stale. NODE_DISABLE_COMPILE_CACHE=1 turns it off.
enableCompileCache();
