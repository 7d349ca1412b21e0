#!/usr/bin/env node
// The installed command: runs the compiled CLI (npm run build makes dist/). On Node.js 22+ the
// compiled JavaScript is cached on disk (module.enableCompileCache), so later runs skip V8's
// parse-and-compile of every module: what makes a short command start at once.
import module from 'node:module';

module.enableCompileCache?.();
const { runCli } = await import('../dist/src/cli/main.js');
process.exitCode = await runCli(process.argv.slice(2));
