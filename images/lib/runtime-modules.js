// Lists the node_modules directories abu needs at run time: the closure of package.json dependencies minus build-only tools.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

// Needed only to compile the addon on the host, never inside the appliance.
const BUILD_ONLY = new Set(['cmake-js', 'node-addon-api']);

function packageDir(name, fromDir, root) {
  for (let dir = fromDir; dir.startsWith(root); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
    if (dir === root) break;
  }
  return null;
}

function closure(root) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const queue = Object.keys(pkg.dependencies || {}).filter((n) => !BUILD_ONLY.has(n)).map((n) => [n, root]);
  const found = new Set();
  while (queue.length > 0) {
    const [name, from] = queue.shift();
    const dir = packageDir(name, from, root);
    if (dir === null || name.startsWith('@types/')) continue; // optional and not installed, or types only
    if (found.has(dir)) continue;
    found.add(dir);
    const sub = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const deps = { ...(sub.dependencies || {}), ...(sub.optionalDependencies || {}) };
    for (const dep of Object.keys(deps)) queue.push([dep, dir]);
  }
  return [...found].map((d) => path.relative(root, d)).sort();
}

process.stdout.write(closure(path.resolve(process.argv[2] || '.')).join('\n') + '\n');
