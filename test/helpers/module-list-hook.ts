// Preloaded into a CLI process by tests (NODE_OPTIONS=--require): at exit, writes every module it loaded to $ABU_TEST_MODULE_LIST.
import { writeFileSync } from 'node:fs';

const out = process.env.ABU_TEST_MODULE_LIST;
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify(Object.keys(require.cache))));
