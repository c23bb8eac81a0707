// The update page's package queue: add, list (the row being applied marked), remove, apply after confirming the warnings.
'use strict';

async function refreshQueue() {
  const wasApplying = !!(state.queue && state.queue.applying);
  try {
    state.queue = await api('GET', '/api/queue');
  } catch {
    state.queue = null;
  }
  renderQueue(state.queue);
  // A queue that ran to its end says so in the card; one that stopped has shown its error there (onLog).
  if (wasApplying && state.queue && !state.queue.applying && state.queue.items.length === 0) {
    state.opLabel = 'Apply the package queue';
    setProgress('done', 1, 1, `queue applied · running ${state.status ? runningVersion(state.status) : 'the last package'}`);
  }
}

function renderQueue(q) {
  const body = $('queue-body');
  if (!q || q.items.length === 0) {
    body.replaceChildren(row([cell('No packages queued.', 'muted', 5)]));
  } else {
    body.replaceChildren(...q.items.map((item) => queueRow(item, q.running === item.id)));
  }
  updateButtons();
}

function queueRow(item, running) {
  const remove = Object.assign(document.createElement('button'), { textContent: 'Remove', className: 'small remove' });
  // The server refuses to remove the package it is applying; the page does not offer it either.
  remove.disabled = running;
  remove.title = running ? 'being applied now' : '';
  remove.onclick = () => runOperation(`Remove ${item.version} from the queue`, async () => {
    await api('DELETE', `/api/queue/${encodeURIComponent(item.id)}`);
    return `removed ${item.version} (${item.name}) from the queue`;
  }).then(refreshQueue);
  const actions = document.createElement('td');
  actions.append(remove);
  const tr = row([cell(item.version), cell(item.name), cell(item.description), checkCell(item, running), actions]);
  if (running) tr.className = 'running';
  if (item.problem) tr.classList.add('problem');
  return tr;
}

function checkCell(item, running) {
  if (running) return cell('applying now…', 'running-text');
  if (item.problem) return cell(item.problem, 'error-text');
  return cell(item.irreversible ? 'ok · irreversible' : 'ok', item.irreversible ? 'warn-text' : 'ok-text');
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

/** Apply only a queue the server would accept: not while anything runs, and never with a flagged row. */
function updateQueueButtons(busy) {
  const q = state.queue;
  const problem = q && q.items.some((i) => i.problem);
  $('apply-queue-btn').disabled = busy || !q || q.items.length === 0 || q.applying || problem;
  $('apply-queue-btn').title = problem ? 'a queued package has a problem: see its Check column' : '';
}

async function onQueueAdd() {
  const file = $('file-input').files[0];
  if (!file) return;
  await runOperation(`Add ${file.name} to the queue`, async () => {
    await api('POST', '/api/token-check', {});
    const item = await upload('/api/queue', file);
    return `queued ${item.version} (${item.name})`;
  });
  refreshQueue();
}

function onApplyQueue() {
  const items = state.queue.items;
  const irreversible = items.filter((i) => i.irreversible && i.version !== (state.status && state.status.floor)).map((i) => i.version);
  const versions = items.map((i) => i.version).join(', then ');
  confirmAction({
    title: 'Apply the package queue?',
    text: `The appliance installs ${versions}, restarting after each package. The page is unavailable while it restarts.`,
    warnings: (state.status && state.status.warnings) || [],
    // The floor ends at the newest irreversible release in the queue: that is the version to confirm.
    accept: irreversible.length > 0 ? acceptSentence(irreversible[irreversible.length - 1]) : null,
    yes: 'Apply and restart',
    no: 'Cancel',
    onYes: (accepted) => runOperation('Apply the package queue', async () => {
      const q = await api('POST', '/api/queue/apply', accepted ? { acceptIrreversible: true } : {});
      state.queue = q;
      renderQueue(q);
      setProgress('applying', 0, 0, `${versions}: the queue marks the package being applied; the log follows each step`);
      return null;
    }),
  });
}
