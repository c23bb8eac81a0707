// The update page's access token: from the URL fragment abu serve prints, kept in localStorage, asked for again on a 401.
'use strict';

// The fragment is never sent to the server; the page removes it from the address bar once read.
function loadToken() {
  const m = /token=([^&]+)/.exec(location.hash);
  if (m) {
    localStorage.setItem('abu-token', decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname);
  }
  $('token-input').value = token();
}

function token() {
  return localStorage.getItem('abu-token') || '';
}

function saveToken(value) {
  localStorage.setItem('abu-token', value.trim());
  $('token-input').value = value.trim();
}

// Asking for the token again when the appliance refuses it (a new demo start makes a new one).
function askForToken(e) {
  $('token-reason').textContent = `${e.code}: ${e.message}`;
  $('token-dialog-error').textContent = '';
  $('token-dialog-input').value = '';
  if (!$('token-dialog').open) $('token-dialog').showModal();
  $('token-dialog-input').focus();
}

/** Saves the token only once the appliance accepts it, so a mistyped one is reported in the dialog. */
async function onTokenDialogSave() {
  const candidate = $('token-dialog-input').value.trim();
  const previous = token();
  saveToken(candidate);
  try {
    await api('POST', '/api/token-check', {});
    $('token-dialog').close();
    $('token-state').textContent = 'Token accepted: start the operation again.';
  } catch (e) {
    saveToken(previous);
    $('token-dialog-error').textContent = `${e.code}: ${e.message}`;
  }
}

async function onTokenPanelSave() {
  saveToken($('token-input').value);
  try {
    await api('POST', '/api/token-check', {});
    $('token-state').textContent = 'Token accepted.';
  } catch (e) {
    $('token-state').textContent = `${e.code}: ${e.message}`;
  }
}
