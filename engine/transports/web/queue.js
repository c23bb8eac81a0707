// The update page's package queue: list, remove, apply (after confirming the warnings). Loaded after app.js.
'use strict';

async function refreshQueue() {
  try {
    state.queue = await api('GET', '/api/queue');
  } catch {
    state.queue = null;
  }
  renderQueue(state.queue);
}

function renderQueue(q) {
  const body = $('queue-body');
  if (!q || q.items.length === 0) {
    body.replaceChildren(row([cell('No packages queued.', 'muted', 5)]));
  } else {
    body.replaceChildren(...q.items.map(queueRow));
  }
  updateButtons();
}

function queueRow(item) {
  const remove = Object.assign(document.createElement('button'), { textContent: 'Remove', className: 'small' });
  remove.onclick = () => api('DELETE', `/api/queue/${encodeURIComponent(item.id)}`).then(refreshQueue, showError);
  const check = item.problem ? cell(item.problem, 'error-text') : cell(item.irreversible ? 'ok · irreversible' : 'ok', item.irreversible ? 'warn-text' : 'ok-text');
  const actions = document.createElement('td');
  actions.append(remove);
  return row([cell(item.version), cell(item.name), cell(item.description), check, actions]);
}

function row(cells) {
  const tr = document.createElement('tr');
  tr.append(...cells);
  return tr;
}

function cell(text, className, colSpan) {
  const td = Object.assign(document.createElement('td'), { textContent: text });
  if (className) td.className = className;
  if (colSpan) td.colSpan = colSpan;
  return td;
}

function onApplyQueue() {
  const versions = state.queue.items.map((i) => i.version).join(', then ');
  const text = `The appliance installs ${versions}, restarting after each package. The page is unavailable while it restarts.`;
  confirmAction('Apply the package queue?', text, (state.status && state.status.warnings) || [], 'Apply and restart', async () => {
    try {
      await api('POST', '/api/queue/apply');
      refreshQueue();
    } catch (e) {
      showError(e);
    }
  });
}
