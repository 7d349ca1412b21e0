#!/usr/bin/env node
// The installed command: runs the compiled CLI (npm run build makes dist/).
import { runCli } from '../dist/src/cli/main.js';

process.exitCode = await runCli(process.argv.slice(2));
