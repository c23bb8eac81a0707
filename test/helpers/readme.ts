// Reads README.md the way its tests need it: the shell examples it shows a user, inline CLI examples in prose,
// and a table by its header row. Plain line scanning (no Markdown library): the README's own conventions suffice.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/** The checkout the compiled tests run from (dist/test/helpers -> the repository root). */
export const REPO_ROOT = path.resolve(__dirname, '../../..');

export function readReadme(): string {
  return readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
}

/** A fenced ```sh (or bash, shell) block. */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Why it does not run, from `<!-- readme-test: skip (reason) -->` on the line before the fence. */
  skip?: string;
}

const SHELL_LANGS = new Set(['sh', 'bash', 'shell']);
const SKIP_MARKER = /^<!--\s*readme-test:\s*skip\s*\((.+)\)\s*-->$/;

/** Every shell block in document order; blocks in other languages (json, plain) are not examples to run. */
export function shellBlocks(text: string): ShellBlock[] {
  const lines = text.split('\n');
  const blocks: ShellBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(```+|~~~+)\s*([\w-]*)/.exec(lines[i]);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith(open[1]));
    if (end < 0) throw new Error(`README line ${i + 1}: unclosed code fence`);
    if (SHELL_LANGS.has(open[2])) {
      const marker = SKIP_MARKER.exec((lines[i - 1] ?? '').trim());
      blocks.push({ line: i + 1, code: lines.slice(i + 1, end).join('\n') + '\n', skip: marker?.[1] });
    }
    i = end;
  }
  return blocks;
}

/** Inline `bin/abu ...` code spans in prose (outside code blocks and tables): examples that no test would run. */
export function inlineCliExamples(text: string): { line: number; example: string }[] {
  const found: { line: number; example: string }[] = [];
  let fence: string | null = null;
  text.split('\n').forEach((l, i) => {
    const f = /^(```+|~~~+)/.exec(l);
    if (f && (fence === null || l.startsWith(fence))) fence = fence === null ? f[1] : null;
    else if (fence === null && !l.trimStart().startsWith('|')) {
      for (const m of l.matchAll(/`(bin\/abu [^`]*)`/g)) found.push({ line: i + 1, example: m[1] });
    }
  });
  return found;
}

/** The rows (cells trimmed) of the table whose header row is exactly `header`, e.g. "| status | meaning | codes |". */
export function tableRows(text: string, header: string): string[][] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.trim() === header);
  if (at < 0) throw new Error(`README has no table with the header ${header}`);
  const rows: string[][] = [];
  for (let i = at + 2; i < lines.length && lines[i].trim().startsWith('|'); i++) {
    rows.push(lines[i].trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim()));
  }
  return rows;
}
