// The update page's operations: install (only, or and restart), activate or keep the current image, restart; confirmations first.
'use strict';

// ---- the confirmation dialog ----
/**
 * `accept`: for an irreversible release, the sentence the operator must tick; "yes" stays disabled until then and
 * `onYes(true)` is the only way the page ever sends acceptIrreversible.
 */
function confirmAction(o) {
  $('confirm-title').textContent = o.title;
  $('confirm-text').textContent = o.text;
  fillList($('confirm-warnings'), o.warnings || []);
  $('confirm-yes').textContent = o.yes;
  $('confirm-no').textContent = o.no || 'Cancel';
  const box = $('confirm-accept');
  box.checked = false;
  $('confirm-accept-row').hidden = !o.accept;
  $('confirm-accept-text').textContent = o.accept || '';
  $('confirm-yes').disabled = !!o.accept;
  box.onchange = () => ($('confirm-yes').disabled = !box.checked);
  $('confirm-yes').onclick = () => {
    $('confirm-dialog').close();
    o.onYes(!!o.accept && box.checked);
  };
  $('confirm-no').onclick = () => {
    $('confirm-dialog').close();
    if (o.onNo) o.onNo();
  };
  $('confirm-dialog').showModal();
}

function acceptSentence(version) {
  return `I understand that ${version} is irreversible: once it has booted and been confirmed, no version older than ${version} can ever be installed or activated on this appliance again.`;
}

function currentVersion() {
  return state.status ? slotText(slotOf(state.status, state.status.booted)).version : 'the current image';
}

// ---- install: to the alternate image only (product-docs/002, the default), or install and restart (product-docs/000) ----
async function onInstallFile(restart) {
  const file = $('file-input').files[0];
  if (!file) return;
  const head = await readBundleHead(file);
  const what = head ? `${head.version} (${file.name})` : file.name;
  const send = (accepted) => uploadInstall(file, restart ? { reboot: 'true', ...(accepted ? { acceptIrreversible: 'true' } : {}) } : { activate: 'false' });
  if (!restart) return installWith(`Install ${what} to the alternate image`, () => send(false), false);
  confirmInstallAndRestart(head, what, async (accepted) => {
    const refused = await installWith(`Install ${what} and restart`, () => send(accepted), true);
    if (refused) offerIrreversibleRetry(refused, () => installWith(`Install ${what} and restart`, () => send(true), true));
  });
}

async function uploadInstall(file, query) {
  // A wrong token is refused before the browser starts sending a file the server will not read.
  await api('POST', '/api/token-check', {});
  setProgress('uploading', 0, file.size, file.name);
  return upload(`/api/install?${new URLSearchParams(query)}`, file);
}

function onDownload(restart) {
  const url = $('url-input').value.trim();
  if (!url) return runOperation('Download', async () => Promise.reject(Object.assign(new Error('enter the URL of a package first'), { code: 'ABU_ERR_USAGE' })));
  const send = (accepted) => api('POST', '/api/install-url', restart ? { url, reboot: true, ...(accepted ? { acceptIrreversible: true } : {}) } : { url, activate: false });
  if (!restart) return installWith(`Install from ${url} to the alternate image`, () => send(false), false);
  // The version is unknown until the appliance reads the package: an irreversible one is refused before any
  // write, and the refusal names the version for the confirmation.
  confirmInstallAndRestart(null, url, async () => {
    const refused = await installWith(`Install from ${url} and restart`, () => send(false), true);
    if (refused) offerIrreversibleRetry(refused, () => installWith(`Install from ${url} and restart`, () => send(true), true));
  });
}

/** Runs an install; resolves to the refusal when the appliance wants the irreversible confirmation, else null. */
async function installWith(label, send, restart) {
  let refused = null;
  await runOperation(label, async () => {
    try {
      const r = await send();
      if (!restart) return `installed ${r.version} into slot ${r.slot} without activating it: activate it when you are ready`;
      return restartAndWait(`installed ${r.version} into slot ${r.slot}`, r.slot);
    } catch (e) {
      if (e.code === 'ABU_ERR_IRREVERSIBLE_NOT_ACCEPTED') refused = e;
      throw e;
    }
  });
  return refused;
}

function confirmInstallAndRestart(head, what, go) {
  const irreversible = head && head.irreversible && head.version !== (state.status && state.status.floor) ? head.version : null;
  const current = currentVersion();
  confirmAction({
    title: `Install ${head ? head.version : 'the package'} and restart?`,
    text: `The appliance writes ${what} to the alternate image, makes it boot next and restarts into it; the page is unavailable meanwhile. If the new image does not come up healthy, the appliance falls back to ${current}.`,
    warnings: irreversible ? [`${irreversible} is an irreversible release: after it is confirmed there is no way back below ${irreversible}.`] : [],
    accept: irreversible ? acceptSentence(irreversible) : null,
    yes: 'Install and restart',
    no: 'Cancel',
    onYes: go,
  });
}

function offerIrreversibleRetry(e, retry) {
  const version = e.details && e.details.version;
  if (!version) return;
  confirmAction({
    title: `${version} is an irreversible release`,
    text: `The appliance did not activate ${version}: that needs your explicit confirmation. Nothing was written.`,
    warnings: [],
    accept: acceptSentence(version),
    yes: `Install ${version} and restart`,
    no: 'Cancel',
    onYes: retry,
  });
}

// ---- upload (XHR for upload progress; the body is the raw file, streamed by the browser) ----
function upload(path, file) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    xhr.setRequestHeader('authorization', `Bearer ${token()}`);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-abu-filename', encodeURIComponent(file.name));
    // Upload progress until the appliance reports its own phases (receiving, writing, ...) over the event stream.
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && state.trackedOp === null) setProgress('uploading', e.loaded, e.total, `${mib(e.loaded)} of ${mib(e.total)}`);
    };
    xhr.onload = () => {
      let data = {};
      try {
        data = JSON.parse(xhr.responseText);
      } catch {
        /* not JSON: the status line still says what failed */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(apiError(xhr.status, data));
    };
    xhr.onerror = () => reject(Object.assign(new Error('the connection to the appliance broke during the upload'), { code: 'UNREACHABLE' }));
    xhr.send(file);
  });
}

// ---- activate the alternate image, or keep the current one ----
function onActivateClicked() {
  const s = state.status;
  const alternate = slotOf(s, s.alternate);
  const current = currentVersion();
  const irreversible = alternate.irreversible && alternate.version !== s.floor ? alternate.version : null;
  confirmAction({
    title: `Activate ${alternate.version}?`,
    text: `The appliance restarts into ${alternate.version} (slot ${alternate.name}). If it does not come up healthy, it falls back to ${current}. "Keep current image" leaves ${current} booting next.`,
    warnings: s.warnings || [],
    accept: irreversible ? acceptSentence(irreversible) : null,
    yes: 'Activate and restart',
    no: 'Keep current image',
    onYes: (accepted) => activateAndRestart(alternate, accepted),
    onNo: keepCurrent,
  });
}

function activateAndRestart(slot, accepted) {
  return runOperation(`Activate ${slot.version} and restart`, async () => {
    await api('POST', '/api/activate', accepted ? { reboot: true, acceptIrreversible: true } : { reboot: true });
    return restartAndWait(`activated ${slot.version} (slot ${slot.name})`, slot.name);
  });
}

/** Keep means the running image boots next: an activation waiting for a restart is undone on the appliance. */
function keepCurrent() {
  const s = state.status;
  if (!s || !nextBootSlot(s)) return; // the current image already boots next: nothing to undo
  return runOperation('Keep current image', async () => (await api('POST', '/api/activate', { slot: s.booted })).message);
}

function onRestartNow() {
  const next = nextBootSlot(state.status);
  return runOperation('Restart', async () => {
    await api('POST', '/api/reboot');
    return restartAndWait('restarting', next ? next.name : null);
  });
}

// ---- restarting ----
const RESTART_TIMEOUT_MS = 10 * 60_000;

/** Waits for the appliance to come back; resolves to the line the progress card shows afterwards. */
async function restartAndWait(what, expectedSlot) {
  state.restarting = true;
  setConnection(false, 'restarting…');
  setProgress('restarting', 0, 0, `${what}; this page reconnects when the appliance is back`);
  updateButtons();
  let s;
  try {
    s = await waitForRestart();
  } finally {
    state.restarting = false;
  }
  state.status = s;
  renderStatus(s);
  setConnection(true, 'live');
  const running = slotText(slotOf(s, s.booted)).version;
  addLog({ level: 'info', message: `appliance is up: running ${running} (slot ${s.booted})`, time: new Date().toISOString() });
  if (expectedSlot && s.booted !== expectedSlot) {
    throw Object.assign(new Error(`the appliance came back on ${running} (slot ${s.booted}): slot ${expectedSlot} did not come up healthy, see the log`), { code: (s.lastError && s.lastError.code) || 'ABU_ERR_ROLLBACK' });
  }
  return `restarted · running ${running} (slot ${s.booted})`;
}

/** Polls until the appliance answers with nothing running and no activation still waiting for the restart. */
async function waitForRestart() {
  const end = Date.now() + RESTART_TIMEOUT_MS;
  while (Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const s = await api('GET', '/api/status');
      if (!serverOperation(s) && !nextBootSlot(s)) return s;
    } catch {
      /* still restarting */
    }
  }
  throw Object.assign(new Error(`the appliance did not come back within ${RESTART_TIMEOUT_MS / 60_000} minutes`), { code: 'UNREACHABLE' });
}

// ---- wiring ----
function wire() {
  $('file-input').onchange = updateButtons;
  $('upload-btn').onclick = () => onInstallFile(false);
  $('upload-restart-btn').onclick = () => onInstallFile(true);
  $('queue-btn').onclick = onQueueAdd;
  $('url-btn').onclick = () => onDownload(false);
  $('url-restart-btn').onclick = () => onDownload(true);
  $('cancel-btn').onclick = () => api('POST', '/api/cancel').catch(showFailure);
  $('activate-btn').onclick = onActivateClicked;
  $('restart-now-btn').onclick = onRestartNow;
  $('keep-btn').onclick = keepCurrent;
  $('apply-queue-btn').onclick = onApplyQueue;
  $('token-save').onclick = onTokenPanelSave;
  $('token-dialog-save').onclick = onTokenDialogSave;
  $('token-dialog-cancel').onclick = () => $('token-dialog').close();
}

// Runs after every script has loaded (scripts at the end of body run before DOMContentLoaded).
document.addEventListener('DOMContentLoaded', () => {
  loadToken();
  wire();
  connectEvents();
  refreshStatus();
  refreshQueue();
  showSiteNav();
});

/** The System patches and Cluster pages exist only on a daemon whose config has a site section. */
async function showSiteNav() {
  const res = await fetch('/api/site').catch(() => null);
  $('site-nav').hidden = !(res && res.ok);
}
