// Preloaded by tests (node --require): prints every module a process loads, as "LOADED <path>"
// on stderr, whether imported (ESM resolve hook) or required (CommonJS, lazily loaded packages
// included), so a test can say which packages a command pays for.
const Module = require('node:module');

Module.register(
  'data:text/javascript,' +
    encodeURIComponent(`export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (!r.url.startsWith('node:')) process.stderr.write('LOADED ' + r.url + '\\n');
  return r;
}`),
);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const file = resolveFilename.call(this, request, ...rest);
  if (!file.startsWith('node:') && !Module.isBuiltin(file)) process.stderr.write(`LOADED ${file}\n`);
  return file;
};
