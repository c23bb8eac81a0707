// Loads the compiled addon once; the typed facades (block-io.ts, crc32.ts, bootenv.ts) sit on top.
import * as path from 'node:path';

let cached: Record<string, unknown> | undefined;

/** The raw addon exports. Only native/*.ts facades should call this. */
export function binding(): Record<string, any> {
  if (!cached) {
    const candidates = [
      path.resolve(__dirname, '..', '..', 'build', 'Release', 'abu_native.node'), // from dist/native
      path.resolve(__dirname, '..', 'build', 'Release', 'abu_native.node'), // from native/ via ts-node
    ];
    let lastError: unknown;
    for (const file of candidates) {
      try {
        cached = require(file) as Record<string, unknown>;
        break;
      } catch (e) {
        lastError = e;
      }
    }
    if (!cached) throw new Error(`abu native addon not built (run npm run build): ${String(lastError)}`);
  }
  return cached as Record<string, any>;
}
