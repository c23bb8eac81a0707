// Preloaded into a CLI process by tests (NODE_OPTIONS=--require): at exit, writes every module it loaded to $ABU_TEST_MODULE_LIST
// (files by path, Node's built-ins as node:NAME).
import { writeFileSync } from 'node:fs';

const out = process.env.ABU_TEST_MODULE_LIST;
/** Node's own modules loaded so far (process.moduleLoadList names them "NativeModule http"; require.cache omits them). */
function builtins(): string[] {
  const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  return list.filter((m) => m.startsWith('NativeModule ')).map((m) => `node:${m.slice('NativeModule '.length)}`);
}

if (out) process.on('exit', () => writeFileSync(out, JSON.stringify([...Object.keys(require.cache), ...builtins()])));
