// The update page's core: API calls, status, the progress card and the live log (token in token.js, actions in actions.js, queue in queue.js).
'use strict';

const $ = (id) => document.getElementById(id);
/**
 * `status` and `queue` are the server's answers: what runs is read from them, never assumed. `inFlight` only
 * says that this page waits for an answer to its own request (its buttons stay disabled meanwhile).
 */
const state = { status: null, queue: null, restarting: false, live: false, inFlight: false, opLabel: '', trackedOp: null };

// ---- API ----
function apiError(status, data) {
  return Object.assign(new Error(data.message || `the appliance answered HTTP ${status}`), { code: data.code || `HTTP_${status}`, details: data.details || {}, status });
}

async function api(method, path, body) {
  const headers = { authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw Object.assign(new Error('the appliance did not answer'), { code: 'UNREACHABLE' });
  }
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw apiError(res.status, data);
  return data;
}

// ---- the progress card: what runs (from the server), progress, and the last failure of this page's request ----
/** A new operation starts: the previous failure is cleared here and nowhere else, so it stays readable until then. */
function startOperation(label) {
  state.opLabel = label;
  state.inFlight = true;
  state.trackedOp = null;
  $('op-error').hidden = true;
  $('op-error').textContent = '';
  $('token-state').textContent = '';
  setProgress('starting', 0, 0);
  renderOperation();
}

function showFailure(e) {
  setProgress('failed', 0, 0);
  $('op-error').hidden = false;
  $('op-error').textContent = `${e.code ? e.code + ': ' : ''}${e.message}`;
  if (e.code === 'ABU_ERR_UNAUTHORIZED') askForToken(e);
}

/** Runs one request of this page: the card shows its outcome; the status is re-read after it, whatever happened. */
async function runOperation(label, fn) {
  startOperation(label);
  try {
    const text = await fn();
    if (text) setProgress('done', 1, 1, text);
  } catch (e) {
    showFailure(e);
  } finally {
    state.inFlight = false;
    await refreshStatus();
  }
}

function setProgress(phase, done, total, extra) {
  const pct = total > 0 ? Math.min(100, Math.floor((done * 100) / total)) : phase === 'done' ? 100 : 0;
  $('operation').hidden = false;
  $('bar-fill').style.width = `${pct}%`;
  $('bar-fill').className = `fill ${phase}`;
  const showPct = total > 0 || phase === 'done';
  $('progress-text').textContent = `${phase}${showPct ? ` ${pct} %` : ''}${extra ? ' · ' + extra : ''}`;
}

/** What runs, as the server reports it: its operation, or else whichever process holds the appliance lock. */
function serverOperation(s) {
  if (!s) return null;
  return s.operation || (s.lock ? `${s.lock.operation} (${s.lock.owner}, pid ${s.lock.pid})` : null);
}

/** "Running: ..." comes only from the server's status, never from what this page asked for. */
function renderOperation() {
  const running = serverOperation(state.status);
  if (running) $('operation').hidden = false;
  $('op-name').textContent = running ? `Running: ${running}` : state.opLabel;
  $('cancel-btn').hidden = !running || !running.startsWith('install');
}

// ---- status ----
let statusSeq = 0;

async function refreshStatus() {
  // Log events trigger many refreshes at once: only the newest request may render, or an older answer wins.
  const seq = ++statusSeq;
  try {
    const s = await api('GET', '/api/status');
    if (seq !== statusSeq) return;
    const before = state.status;
    state.status = s;
    renderStatus(s);
    // The queue's check column depends on the running version and the floor: re-check it when they change.
    if (before && (runningVersion(before) !== runningVersion(s) || before.floor !== s.floor)) refreshQueue();
    if (!state.restarting) setConnection(state.live, state.live ? 'live' : 'reconnecting…');
    if (serverOperation(s)) pollWhileRunning();
  } catch (e) {
    if (seq !== statusSeq) return;
    setConnection(false, e.code && e.code.startsWith('ABU_ERR') ? `status failed: ${e.code}` : 'appliance not reachable');
  }
}

function runningVersion(s) {
  return slotOf(s, s.booted).version;
}

let pollTimer = null;

/** No event marks the end of an operation (the last log line comes before the lock is released): ask again. */
function pollWhileRunning() {
  if (pollTimer) return;
  pollTimer = setTimeout(() => {
    pollTimer = null;
    refreshStatus();
  }, 700);
}

function slotOf(s, name) {
  return s.slots.find((x) => x.name === name);
}

/** `writing`: an operation runs on the appliance now, so an incomplete slot is the one it is writing, not a failed install. */
function slotText(slot, writing = false) {
  if (!slot) return { version: '—', description: '', meta: '' };
  const flags = [`slot ${slot.name}`];
  if (slot.image === 'incomplete' && writing) return { version: 'installing…', description: '', meta: `slot ${slot.name} · being written by the running install` };
  if (slot.image === 'empty') flags.push('nothing installed yet');
  else if (slot.image === 'incomplete') flags.push('an install did not finish: install again');
  else flags.push(bootWord(slot));
  if (slot.primary && slot.image !== 'empty') flags.push('boots next');
  if (slot.irreversible) flags.push('irreversible release');
  const version = slot.version || { empty: 'empty', incomplete: 'incomplete install' }[slot.image] || 'unknown image';
  return { version, description: slot.description || '', meta: flags.join(' · ') };
}

function bootWord(slot) {
  if (slot.state === 'trying') return `on trial (${slot.triesLeft} ${slot.triesLeft === 1 ? 'try' : 'tries'} left)`;
  if (slot.state === 'bad' && !slot.booted) return 'installed, not activated';
  return slot.state;
}

function renderStatus(s) {
  $('product').textContent = s.product;
  for (const [prefix, slot] of [['current', slotOf(s, s.booted)], ['alternate', slotOf(s, s.alternate)]]) {
    const t = slotText(slot, prefix === 'alternate' && Boolean(serverOperation(s)));
    $(`${prefix}-version`).textContent = t.version;
    $(`${prefix}-description`).textContent = t.description;
    $(`${prefix}-meta`).textContent = t.meta;
  }
  renderWarnings(s.warnings || []);
  renderNextBoot(s);
  renderLastError(s.lastError);
  renderOperation();
  updateButtons();
}

/** The slot that boots next when it is not the running one (an activation waiting for a restart), or null. */
function nextBootSlot(s) {
  if (s.pending && s.pending.slot !== s.booted) return slotOf(s, s.pending.slot);
  const alternate = slotOf(s, s.alternate);
  return alternate && alternate.primary && alternate.image !== 'empty' ? alternate : null;
}

function renderNextBoot(s) {
  const next = nextBootSlot(s);
  $('next-boot').hidden = !next;
  if (!next) return;
  const current = slotText(slotOf(s, s.booted)).version;
  $('next-boot-text').textContent = `${next.version || 'The alternate image'} (slot ${next.name}) boots next, on trial. The appliance runs ${current} until it restarts; if the new image does not come up healthy, it falls back to ${current}.`;
}

/** A failure a later success has superseded is history: shown muted and labelled, not as a current fault. */
function renderLastError(err) {
  const el = $('last-error');
  el.hidden = !err;
  if (!err) return;
  const when = new Date(err.time).toLocaleString();
  el.className = err.past ? 'last-error past' : 'last-error';
  el.textContent = err.past
    ? `Earlier error (${when}, a later operation succeeded): ${err.code}: ${err.message}`
    : `Last error (${when}): ${err.code}: ${err.message}`;
}

function renderWarnings(list) {
  $('warnings').hidden = list.length === 0;
  fillList($('warning-list'), list);
}

function fillList(ul, items) {
  ul.replaceChildren(...items.map((w) => Object.assign(document.createElement('li'), { textContent: w })));
}

function updateButtons() {
  const s = state.status;
  const busy = !!serverOperation(s) || state.restarting || state.inFlight;
  const file = $('file-input').files.length > 0;
  $('upload-btn').disabled = busy || !file;
  $('upload-restart-btn').disabled = busy || !file;
  $('queue-btn').disabled = !file || state.inFlight;
  $('url-btn').disabled = busy;
  $('url-restart-btn').disabled = busy;
  $('activate-btn').disabled = busy || !s || !s.alternateActivatable;
  $('restart-now-btn').disabled = busy;
  $('keep-btn').disabled = busy;
  if (typeof updateQueueButtons === 'function') updateQueueButtons(busy);
}

// ---- progress and log (SSE) ----
/**
 * A new page is sent the recent backlog, progress of finished runs included: a run's progress is shown only
 * once this page waits for a request or the server reports something running, so old runs do not reappear.
 */
function onProgress(e) {
  const watching = state.inFlight || state.restarting || serverOperation(state.status);
  if (e.op !== state.trackedOp) {
    if (!watching) return;
    // A run this page did not start (the CLI, the queue): label the card with the server's name for it.
    if (!state.inFlight && serverOperation(state.status)) state.opLabel = serverOperation(state.status);
    state.trackedOp = e.op;
  }
  const rate = e.rate ? `${mib(e.rate)}/s` : '';
  const eta = e.etaSeconds !== undefined ? `${e.etaSeconds} s left` : '';
  // Adaptive installs: what came over the network, what was copied locally, what the slot already held.
  const t = e.transfer ? `fetched ${mib(e.transfer.fetched)}, copied ${mib(e.transfer.copied)}, skipped ${mib(e.transfer.skipped)}` : '';
  if (e.phase === 'done') setProgress('done', 1, 1, 'installed');
  else if (e.phase === 'failed' || e.phase === 'cancelled') setProgress(e.phase, e.bytesDone, e.bytesTotal, 'see the log');
  else setProgress(e.phase, e.bytesDone, e.bytesTotal, [`${mib(e.bytesDone)} of ${mib(e.bytesTotal)}`, rate, eta, t].filter(Boolean).join(' · '));
  if (['done', 'failed', 'cancelled'].includes(e.phase)) refreshStatus();
}

function onLog(e) {
  addLog(e);
  // The queue applies in the background: its failure reaches the page only as a log line, so show it in the card.
  if (e.level === 'error' && state.queue && state.queue.applying && /^queue/.test(e.message)) showFailure(e);
  refreshStatus();
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
    // A refused stream (503 when the daemon's http.limits on event streams are reached) is closed for good by the
    // browser, unlike a dropped one: open a new one later, when a slot may be free.
    if (es.readyState === EventSource.CLOSED) setTimeout(connectEvents, 5000);
  };
  es.addEventListener('progress', (m) => onProgress(JSON.parse(m.data)));
  es.addEventListener('log', (m) => onLog(JSON.parse(m.data)));
  es.addEventListener('queue', () => refreshQueue());
}

function setConnection(ok, text) {
  $('conn-dot').className = `dot ${ok ? 'ok' : 'bad'}`;
  $('conn-text').textContent = text;
}

function mib(n) {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
