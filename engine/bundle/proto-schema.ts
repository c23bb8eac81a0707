// Loads proto/abu.proto once and hands out the protobufjs message types.
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';

// Loaded at run time rather than generated: the .proto stays the single source of truth, the
// build needs no pbjs step (protobufjs-cli is not a dependency), and parsing 80 lines costs ~1 ms.
const SCHEMA_FILE = path.join('proto', 'abu.proto');

export interface Schema {
  Manifest: protobuf.Type;
  SignatureSet: protobuf.Type;
}

let cached: Schema | undefined;

export function schema(): Schema {
  if (cached === undefined) {
    const root = protobuf.loadSync(findSchemaFile(__dirname));
    cached = { Manifest: root.lookupType('abu.v1.Manifest'), SignatureSet: root.lookupType('abu.v1.SignatureSet') };
  }
  return cached;
}

/** Walks up from this file (engine/bundle/ or dist/engine/bundle/) to the package root. */
function findSchemaFile(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, SCHEMA_FILE);
    if (existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) throw new Error(`cannot find ${SCHEMA_FILE} above ${start}`);
  }
}
