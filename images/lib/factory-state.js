// Writes abu's factory state into a directory, as an appliance factory provisions it: 1.0.0 in slot A, verified.
// usage: node factory-state.js <repo> <state-dir> <version> <rootfs-image>
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

async function main([repo, stateDir, version, image]) {
  const { StateStore, emptyState, historyEntry } = require(path.join(repo, 'dist', 'engine', 'state', 'state-store.js'));
  const state = emptyState();
  // Fixed time: the same inputs give the same data partition bytes.
  const installedAt = new Date(Number(process.env.SOURCE_DATE_EPOCH || 0) * 1000).toISOString();
  const digest = crypto.createHash('sha256').update(fs.readFileSync(image)).digest('hex');
  state.slots.A = { version, description: `factory image ${version}`, irreversible: false, installedAt, manifestSha256: '', verified: true };
  const entry = historyEntry('install', 'A', `factory image ${version} (sha256 ${digest.slice(0, 16)})`, { version });
  entry.time = installedAt;
  state.history.push(entry);
  await new StateStore(stateDir).save(state);
}

main(process.argv.slice(2)).catch((e) => { console.error(`factory-state: ${e.message}`); process.exit(1); });
