#!/usr/bin/env node
// Runs the compiled CLI; `npm ci` compiles it (the `prepare` script).
import { runEntry } from './entry.js';
await runEntry('onode/cli/main.js');
