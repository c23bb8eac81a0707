// Cluster page: start a cluster activation or switch back, and show each node's progress live (SSE, polling as fallback).
'use strict';

// $ and token() come from site-common.js, loaded first.
let members = [];

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.message || `HTTP ${res.status}`), { code: data.code || `HTTP_${res.status}` });
  return data;
}

function showError(e) {
  $('last-error').textContent = e ? `${e.code ? e.code + ': ' : ''}${e.message}` : '';
}

/** waiting, downloading n %, installing n % (what it does), rebooting, healthy on version X, failed with reason. */
function phaseText(m) {
  if (m.phase === 'downloading') return `downloading ${m.percent ?? 0} %`;
  if (m.phase === 'healthy') return m.detail;
  if (m.phase === 'failed') return `failed: ${m.detail}`;
  if (m.phase === 'skipped') return `not started: ${m.detail.replace(/^not started: /, '')}`;
  if (m.phase === 'installing') return m.percent === null ? m.detail : `installing ${m.percent} % (${m.detail.replace(/^installing [^:]*: /, '')})`;
  return m.phase;
}

function render(rollout) {
  const body = $('node-body');
  body.replaceChildren();
  $('rollout-state').textContent = rollout
    ? `${rollout.kind === 'activate' ? `Activating ${rollout.version}` : 'Switching back'}${rollout.ha ? ' in high-availability mode' : ''}: ${rollout.state}${rollout.error ? ` (${rollout.error})` : ''}`
    : 'No cluster update yet.';
  $('rollout-name').textContent = rollout ? rollout.state : '';
  const order = rollout ? rollout.order : members.map((m) => m.name);
  for (const name of order) {
    const info = members.find((m) => m.name === name) || {};
    const tr = body.insertRow();
    for (const t of [name, info.dataCenter || '', info.role || '', info.haGroup || '—']) tr.insertCell().textContent = t;
    const m = rollout && rollout.members[name];
    const td = tr.insertCell();
    td.textContent = m ? phaseText(m) : '—';
    td.className = m?.phase === 'healthy' ? 'ok-text' : m?.phase === 'failed' ? 'error-text' : m?.phase === 'rebooting' ? 'warn-text' : '';
  }
}

async function start(path, body) {
  try {
    showError(null);
    const { rollout } = await api('POST', path, body);
    render(rollout);
  } catch (e) {
    showError(e);
  }
}

async function load() {
  const site = await api('GET', '/api/site');
  members = site.members;
  $('ha-mode').checked = site.haGroups;
  const { bundles } = await api('GET', '/api/site/bundles');
  for (const b of [...bundles].reverse()) $('bundle-choice').append(new Option(`${b.version} (${b.replication ? b.replication.replications : '—'} replicated)`, b.sha256));
  render((await api('GET', '/api/cluster/rollout')).rollout);
  // The coordinator itself restarts first: EventSource reconnects on its own, polling covers the gap.
  const events = new EventSource('/api/cluster/events');
  events.addEventListener('rollout', (e) => render(JSON.parse(e.data)));
  setInterval(() => api('GET', '/api/cluster/rollout').then((s) => render(s.rollout), () => undefined), 3000);
}

$('activate-btn').onclick = () => start('/api/cluster/activate', { bundle: $('bundle-choice').value || undefined, ha: $('ha-mode').checked });
$('switch-back-btn').onclick = () => start('/api/cluster/switch-back', { ha: $('ha-mode').checked });
load().catch(showError);
