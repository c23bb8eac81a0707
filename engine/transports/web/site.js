// System patches page: bundles with Replications n/m, organizations not yet on a bundle, install by organization and data center.
'use strict';

// $ and token() come from site-common.js, loaded first.
let selected = null;
let dataCenters = ['all'];

async function api(method, path, body, raw) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = raw ? 'application/octet-stream' : 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.message || `HTTP ${res.status}`), { code: data.code || `HTTP_${res.status}` });
  return data;
}

function showError(e) {
  $('last-error').textContent = e ? `${e.code ? e.code + ': ' : ''}${e.message}` : '';
}

function cell(tr, text, cls) {
  const td = tr.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function renderPatches(bundles) {
  const body = $('patch-body');
  body.replaceChildren();
  if (bundles.length === 0) return void (body.innerHTML = '<tr><td colspan="5" class="muted">No patches uploaded.</td></tr>');
  for (const b of bundles) {
    const tr = body.insertRow();
    const link = document.createElement('a');
    link.href = '#';
    link.textContent = `${b.version} (${b.sha256.slice(0, 12)})`;
    link.onclick = (ev) => (ev.preventDefault(), select(b));
    tr.insertCell().append(link);
    cell(tr, b.description);
    cell(tr, `${(b.size / 1048576).toFixed(1)} MiB`);
    const rep = b.replication;
    const failed = rep ? rep.members.filter((m) => m.state === 'failed').map((m) => m.member) : [];
    cell(tr, rep ? rep.replications + (failed.length ? ` (failed: ${failed.join(', ')})` : '') : '—', rep && rep.verified === rep.total ? 'ok-text' : failed.length ? 'error-text' : 'warn-text');
    const remove = document.createElement('button');
    remove.className = 'danger small';
    remove.textContent = 'Remove';
    remove.onclick = () => api('DELETE', `/api/site/bundles/${b.sha256}`).then(refresh, showError);
    tr.insertCell().append(remove);
  }
}

function renderMembers(members) {
  const body = $('member-body');
  body.replaceChildren();
  for (const m of members) {
    const tr = body.insertRow();
    [m.name, m.dataCenter, m.role, m.organizations.join(', '), m.version || '—'].forEach((t) => cell(tr, t));
    cell(tr, m.reachable ? m.operation || m.lastError || 'up' : 'not answering', m.reachable ? (m.lastError ? 'error-text' : '') : 'warn-text');
  }
}

async function select(bundle) {
  selected = bundle;
  $('install-panel').hidden = false;
  $('install-version').textContent = bundle.version;
  $('install-result').replaceChildren();
  const { organizations, dataCenters: dcs } = await api('GET', `/api/site/bundles/${bundle.sha256}/organizations`).catch((e) => (showError(e), { organizations: [], dataCenters: ['all'] }));
  dataCenters = dcs;
  const body = $('org-body');
  body.replaceChildren();
  if (organizations.length === 0) body.innerHTML = '<tr><td colspan="4" class="muted">Every appliance runs this patch.</td></tr>';
  for (const o of organizations) {
    const tr = body.insertRow();
    const box = Object.assign(document.createElement('input'), { type: 'checkbox', value: o.name });
    tr.insertCell().append(box);
    cell(tr, o.name);
    cell(tr, o.pending.join(', '));
    const choice = document.createElement('select');
    for (const dc of dataCenters) choice.append(new Option(dc === 'all' ? 'All' : dc, dc));
    tr.insertCell().append(choice);
  }
}

/** One request per Data Center choice; the answers name every skipped and refusing appliance. */
async function install() {
  const rows = [...$('org-body').rows].filter((r) => r.querySelector('input')?.checked);
  const byDc = new Map();
  for (const r of rows) {
    const dc = r.querySelector('select').value;
    byDc.set(dc, [...(byDc.get(dc) || []), r.querySelector('input').value]);
  }
  const out = $('install-result');
  out.replaceChildren();
  const line = (text, cls) => out.append(Object.assign(document.createElement('li'), { textContent: text, className: cls || '' }));
  for (const [dataCenter, organizations] of byDc) {
    try {
      const r = await api('POST', '/api/site/install', { bundle: selected.sha256, organizations, dataCenter });
      r.installed.forEach((i) => line(`${i.member}: installed ${r.version}${i.activated ? ', restarts into it on the next boot' : ''}`, 'ok-text'));
      r.warnings.forEach((w) => line(`Warning: ${w}`, 'warn-text'));
      r.refused.forEach((f) => line(`${f.member} refused: ${f.message}`, 'error-text'));
    } catch (e) {
      line(`${organizations.join(', ')}: ${e.message}`, 'error-text');
    }
  }
}

async function upload() {
  const file = $('patch-file').files[0];
  $('upload-text').textContent = `uploading ${file.name}…`;
  try {
    const r = await api('POST', '/api/site/bundles', file, true);
    $('upload-text').textContent = `${r.bundle.version} stored; replicating`;
    showError(null);
  } catch (e) {
    $('upload-text').textContent = '';
    showError(e);
  }
  refresh();
}

async function refresh() {
  try {
    const s = await api('GET', '/api/site/status');
    $('site-name').textContent = `coordinator ${s.self}`;
    renderPatches(s.bundles);
    renderMembers(s.members);
  } catch (e) {
    showError(e);
  }
}

$('patch-file').onchange = () => ($('patch-upload').disabled = !$('patch-file').files.length);
$('patch-upload').onclick = upload;
$('install-btn').onclick = install;
refresh();
setInterval(refresh, 2000);
