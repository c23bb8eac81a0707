// The update page's behaviour: status, live log and progress over SSE, uploads, downloads, activation (queue in queue.js).
'use strict';

const $ = (id) => document.getElementById(id);
const state = { status: null, queue: null, restarting: false, live: false, lastPhase: 'idle' };

// ---- token: from the URL fragment abu serve prints (never sent to the server), else localStorage ----
function loadToken() {
  const m = /token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem('abu-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  $('token-input').value = localStorage.getItem('abu-token') || '';
}

function token() {
  return localStorage.getItem('abu-token') || '';
}

// ---- API ----
async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw Object.assign(new Error(data.message || `HTTP ${res.status}`), { code: data.code || `HTTP_${res.status}` });
  return data;
}

function showError(e) {
  // Not added to the log: the engine already logs its failures there, and twice would read as two errors.
  $('last-error').textContent = e ? `${e.code ? e.code + ': ' : ''}${e.message}` : '';
}

// ---- status ----
let statusSeq = 0;

async function refreshStatus() {
  // Log events trigger many refreshes at once: only the newest request may render, or an older answer wins.
  const seq = ++statusSeq;
  try {
    const s = await api('GET', '/api/status');
    if (seq !== statusSeq) return;
    state.status = s;
    renderStatus(s);
    if (!state.restarting) setConnection(state.live, state.live ? 'live' : 'reconnecting…');
  } catch (e) {
    if (seq !== statusSeq) return;
    setConnection(false, e.code && !e.code.startsWith('HTTP_') ? `status failed: ${e.code}` : 'appliance not reachable');
  }
}

function slotText(slot) {
  if (!slot) return { version: '—', description: '', meta: '' };
  const flags = [`slot ${slot.name}`, slot.state];
  if (slot.primary) flags.push('boots next');
  if (slot.irreversible) flags.push('irreversible release');
  return { version: slot.version || 'no recorded release', description: slot.description || '', meta: flags.join(' · ') };
}

function renderStatus(s) {
  $('product').textContent = s.product;
  const current = s.slots.find((x) => x.booted);
  const alternate = s.slots.find((x) => x.name === s.alternate);
  for (const [prefix, slot] of [['current', current], ['alternate', alternate]]) {
    const t = slotText(slot);
    $(`${prefix}-version`).textContent = t.version;
    $(`${prefix}-description`).textContent = t.description;
    $(`${prefix}-meta`).textContent = t.meta;
  }
  renderWarnings(s.warnings || []);
  $('activate-btn').disabled = !s.alternateActivatable || !!s.operation || state.restarting;
  renderOperation(s.operation);
  $('last-error').textContent = s.lastError ? `Last error: ${s.lastError.code}: ${s.lastError.message}` : '';
}

function renderWarnings(list) {
  $('warnings').hidden = list.length === 0;
  fillList($('warning-list'), list);
}

function fillList(ul, items) {
  ul.replaceChildren(...items.map((w) => Object.assign(document.createElement('li'), { textContent: w })));
}

function renderOperation(name) {
  if (name) $('operation').hidden = false;
  // The engine reports failures and cancels as phases; a run that simply ended (e.g. a queued install) is done.
  else if (['writing', 'readback', 'activating'].includes(state.lastPhase)) setProgress('done', 1, 1, 'finished');
  $('op-name').textContent = name ? `Running: ${name}` : 'Nothing running';
  $('cancel-btn').hidden = !name || !name.startsWith('install');
  updateButtons();
}

function updateButtons() {
  const busy = !!(state.status && state.status.operation) || state.restarting;
  const file = $('file-input').files.length > 0;
  $('upload-btn').disabled = busy || !file;
  $('queue-btn').disabled = !file;
  $('url-btn').disabled = busy;
  $('apply-queue-btn').disabled = busy || !state.queue || state.queue.items.length === 0 || state.queue.applying;
}

// ---- progress and log (SSE) ----
function setProgress(phase, done, total, extra) {
  state.lastPhase = phase;
  const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : phase === 'done' ? 100 : 0;
  $('operation').hidden = false;
  $('bar-fill').style.width = `${pct}%`;
  $('bar-fill').className = `fill ${phase}`;
  $('progress-text').textContent = `${phase} ${pct} %${extra ? ' · ' + extra : ''}`;
}

function onProgress(e) {
  const rate = e.rate ? `${mib(e.rate)}/s` : '';
  const eta = e.etaSeconds !== undefined ? `${e.etaSeconds} s left` : '';
  if (e.phase === 'done') setProgress('done', 1, 1, 'installed');
  else if (e.phase === 'failed' || e.phase === 'cancelled') setProgress(e.phase, e.bytesDone, e.bytesTotal);
  else setProgress(e.phase, e.bytesDone, e.bytesTotal, [`${mib(e.bytesDone)} of ${mib(e.bytesTotal)}`, rate, eta].filter(Boolean).join(' · '));
  if (['done', 'failed', 'cancelled'].includes(e.phase)) refreshStatus();
}

function addLog(e) {
  const li = document.createElement('li');
  li.className = e.level;
  const time = new Date(e.time).toLocaleTimeString();
  li.textContent = `${time}  ${e.code ? e.code + ': ' : ''}${e.message}`;
  const log = $('log');
  log.append(li);
  while (log.children.length > 400) log.firstChild.remove();
  log.scrollTop = log.scrollHeight;
}

function connectEvents() {
  const es = new EventSource('/api/events');
  es.onopen = () => {
    state.live = true;
    setConnection(true, 'live');
  };
  es.onerror = () => {
    state.live = false;
    setConnection(false, state.restarting ? 'restarting…' : 'reconnecting…');
  };
  es.addEventListener('progress', (m) => onProgress(JSON.parse(m.data)));
  es.addEventListener('log', (m) => {
    addLog(JSON.parse(m.data));
    refreshStatus();
  });
  es.addEventListener('queue', () => refreshQueue());
}

function setConnection(ok, text) {
  $('conn-dot').className = `dot ${ok ? 'ok' : 'bad'}`;
  $('conn-text').textContent = text;
}

function mib(n) {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

// ---- upload (XHR for upload progress; the body is the raw file, streamed by the browser) ----
function upload(path, file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('authorization', `Bearer ${token()}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-abu-filename', encodeURIComponent(file.name));
    xhr.upload.onprogress = (e) => {
      if (path === '/api/queue' && e.lengthComputable) setProgress('uploading', e.loaded, e.total, `${mib(e.loaded)} of ${mib(e.total)}`);
    };
    xhr.onload = () => {
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: reported by status */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(Object.assign(new Error(data.message || `HTTP ${xhr.status}`), { code: data.code }));
    };
    xhr.onerror = () => reject(new Error('the connection to the appliance broke during the upload'));
    xhr.send(file);
  });
}

async function onUpload() {
  const file = $('file-input').files[0];
  if (!file) return;
  showError(null);
  setProgress('receiving', 0, file.size, file.name);
  state.status = Object.assign({}, state.status, { operation: `install ${file.name}` });
  renderOperation(state.status.operation);
  try {
    const r = await upload('/api/install', file);
    setProgress('done', 1, 1, `installed ${r.version} into slot ${r.slot}`);
  } catch (e) {
    showError(e);
  }
  refreshStatus();
}

async function onQueueAdd() {
  const file = $('file-input').files[0];
  if (!file) return;
  showError(null);
  try {
    const item = await upload('/api/queue', file);
    setProgress('done', 1, 1, `queued ${item.version}`);
  } catch (e) {
    showError(e);
  }
  refreshQueue();
}

async function onDownload() {
  const url = $('url-input').value.trim();
  if (!url) return showError({ message: 'enter the URL of a package first' });
  showError(null);
  setProgress('receiving', 0, 0, url);
  const running = api('POST', '/api/install-url', { url });
  setTimeout(refreshStatus, 300);
  try {
    const r = await running;
    setProgress('done', 1, 1, `installed ${r.version} into slot ${r.slot}`);
  } catch (e) {
    showError(e);
  }
  refreshStatus();
}

// ---- activation with the warnings shown first ----
/** Shows the warnings (irreversible releases, the floor) and runs `onYes` only when the operator agrees. */
function confirmAction(title, text, warnings, yesLabel, onYes) {
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-yes').textContent = yesLabel;
  fillList($('confirm-warnings'), warnings);
  $('confirm-yes').onclick = () => {
    $('confirm-dialog').close();
    onYes();
  };
  $('confirm-dialog').showModal();
}

function onActivateClicked() {
  const s = state.status;
  const alternate = s.slots.find((x) => x.name === s.alternate);
  const text = `The appliance restarts into ${alternate.version || 'the alternate image'} (slot ${alternate.name}). If it does not come up healthy, it falls back to the current image.`;
  confirmAction('Activate alternate image?', text, s.warnings || [], 'Activate and restart', onActivateConfirmed);
}

async function onActivateConfirmed() {
  showError(null);
  try {
    await api('POST', '/api/activate', { reboot: true });
    state.restarting = true;
    setConnection(false, 'restarting…');
    waitForRestart();
  } catch (e) {
    showError(e);
  }
}

/** Polls until the appliance answers again with no operation running, then shows the new state. */
async function waitForRestart() {
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    try {
      const s = await api('GET', '/api/status');
      if (!s.operation) {
        state.restarting = false;
        state.status = s;
        renderStatus(s);
        setConnection(true, 'live');
        addLog({ level: 'info', message: `appliance is up: running ${slotText(s.slots.find((x) => x.booted)).version}`, time: new Date().toISOString() });
        return;
      }
    } catch {
      /* still restarting */
    }
  }
}

// ---- wiring ----
function wire() {
  $('file-input').onchange = updateButtons;
  $('upload-btn').onclick = onUpload;
  $('queue-btn').onclick = onQueueAdd;
  $('url-btn').onclick = onDownload;
  $('cancel-btn').onclick = () => api('POST', '/api/cancel').catch(showError);
  $('activate-btn').onclick = onActivateClicked;
  $('confirm-no').onclick = () => $('confirm-dialog').close();
  $('apply-queue-btn').onclick = onApplyQueue;
  $('token-save').onclick = () => {
    localStorage.setItem('abu-token', $('token-input').value.trim());
    showError(null);
  };
}

// Runs after queue.js has loaded too (scripts at the end of body run before DOMContentLoaded).
document.addEventListener('DOMContentLoaded', () => {
  loadToken();
  wire();
  connectEvents();
  refreshStatus();
  refreshQueue();
});
