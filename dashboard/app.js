// The orchestrator's dashboard: plain JavaScript over the REST API and the
// live event stream (EventSource with a one-time ticket, since a browser
// cannot send the bearer token there). Nothing is fetched from elsewhere.
'use strict';

const state = {
  token: sessionStorage.getItem('orch.token') || '',
  me: null,
  query: '',
  status: '',
  rows: new Map(),         // task id -> its <tr>
  events: null,            // the EventSource
  lastEventId: '',
  reloadTimer: 0,
  detail: '',              // the task shown, if any
  output: null,            // the detail's output EventSource
};

const $ = (id) => document.getElementById(id);
const show = (el, on) => el.classList.toggle('hidden', !on);

class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

/// One API call: the envelope's data, or an ApiError with the server's words.
async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  let j = null;
  try { j = await r.json(); } catch (_) { /* not JSON */ }
  if (!r.ok || !j || j.success === false)
    throw new ApiError((j && j.error) || `${r.status} ${r.statusText}`, r.status);
  return j.data;
}

const can = (role) => state.me && state.me.roles.includes(role);
const operator = () => can('admin') || can('operator');

function time(text) {
  if (!text) return '';
  const d = new Date(text);
  return d.toLocaleString(undefined, { hour12: false });
}

function badge(status) {
  const s = document.createElement('span');
  s.className = 'status ' + status.toLowerCase();
  s.textContent = status;
  return s;
}

// -- signing in ---------------------------------------------------------------------

function showLogin(message) {
  stopStream();
  show($('login-view'), true);
  show($('tasks-view'), false);
  show($('detail-view'), false);
  show($('signout'), false);
  $('who').textContent = '';
  $('login-error').textContent = message || '';
  $('login-user').focus();
}

async function signIn(event) {
  event.preventDefault();
  $('login-error').textContent = '';
  try {
    const s = await api('POST', '/auth/login', {
      username: $('login-user').value, password: $('login-password').value,
    });
    state.token = s.token;
    sessionStorage.setItem('orch.token', s.token);
    $('login-password').value = '';
    await enter();
  } catch (e) {
    $('login-error').textContent = e.message;
  }
}

async function signOut() {
  try { await api('POST', '/auth/logout', {}); } catch (_) { /* already gone */ }
  state.token = '';
  sessionStorage.removeItem('orch.token');
  showLogin();
}

/// Who we are, then the tasks; the sign-in form if the API wants a token.
async function enter() {
  try {
    state.me = await api('GET', '/auth/me');
  } catch (e) {
    if (e.status === 401) return showLogin();
    throw e;
  }
  show($('login-view'), false);
  const name = state.me.username || state.me.principal;
  $('who').textContent = `${name} (${state.me.roles.join(', ')})`;
  show($('signout'), state.me.auth === 'required');
  for (const el of document.querySelectorAll('.operator-only')) show(el, operator());
  startStream();
  route();
}

// -- the task list ------------------------------------------------------------------

function rowOf(t) {
  const tr = document.createElement('tr');
  tr.dataset.id = t.id;
  const cells = [t.name || t.command || '(script)', null, t.id.slice(0, 8),
                 time(t.created_at), t.node || '', String(t.attempts || 0)];
  cells.forEach((text, i) => {
    const td = document.createElement('td');
    if (i === 1) td.append(badge(t.status));
    else td.textContent = text;
    tr.append(td);
  });
  tr.addEventListener('click', () => { location.hash = '#task/' + t.id; });
  return tr;
}

async function loadTasks() {
  const params = new URLSearchParams({ limit: '100', order: 'desc' });
  if (state.query) params.set('q', state.query);
  if (state.status) params.set('status', state.status);
  try {
    const page = await api('GET', '/tasks?' + params);
    $('search-error').textContent = '';
    const body = $('task-rows');
    body.replaceChildren();
    state.rows.clear();
    for (const t of page.tasks) {
      const tr = rowOf(t);
      state.rows.set(t.id, tr);
      body.append(tr);
    }
    $('total').textContent = `${page.total} task${page.total === 1 ? '' : 's'}`;
  } catch (e) {
    if (e.status === 401) return showLogin('Your session ended: sign in again.');
    $('search-error').textContent = e.message;
  }
}

/// The list again soon: new tasks may match the search (several events in a
/// burst cost one reload).
function reloadSoon() {
  clearTimeout(state.reloadTimer);
  state.reloadTimer = setTimeout(loadTasks, 300);
}

async function submitTask(event) {
  event.preventDefault();
  const args = $('submit-args').value.split('\n').filter((a) => a !== '');
  const body = { command: $('submit-command').value, args,
                 priority: Number($('submit-priority').value || 0) };
  if ($('submit-name').value) body.name = $('submit-name').value;
  try {
    const t = await api('POST', '/tasks', body);
    $('submit-result').textContent = `submitted ${t.id.slice(0, 8)}`;
  } catch (e) {
    $('submit-result').textContent = e.message;
  }
}

// -- live events --------------------------------------------------------------------

function setLive(on) {
  const b = $('live');
  b.textContent = on ? 'live' : 'offline';
  b.className = 'badge ' + (on ? 'on' : 'off');
}

function stopStream() {
  if (state.events) state.events.close();
  state.events = null;
  setLive(false);
}

/// GET /events through a one-time ticket; reconnects with a new ticket and
/// the last event id seen, so nothing is missed.
async function startStream() {
  stopStream();
  let ticket;
  try {
    ticket = (await api('POST', '/auth/stream-ticket', {})).ticket;
  } catch (e) {
    if (e.status === 401) return showLogin('Your session ended: sign in again.');
    setTimeout(startStream, 3000);
    return;
  }
  const params = new URLSearchParams({ ticket });
  if (state.lastEventId) params.set('after', state.lastEventId);
  const es = new EventSource('/events?' + params);
  state.events = es;
  es.onopen = () => setLive(true);
  es.onmessage = (m) => {
    state.lastEventId = m.lastEventId || state.lastEventId;
    onEvent(JSON.parse(m.data));
  };
  es.onerror = () => {
    // A ticket opens one stream: the browser's own retry would be refused.
    es.close();
    if (state.events !== es) return;
    setLive(false);
    setTimeout(startStream, 1000);
  };
}

function onEvent(ev) {
  if (!ev.task_id) return;  // a node event
  const tr = state.rows.get(ev.task_id);
  if (ev.kind === 'created' && !tr) reloadSoon();
  if (tr) {
    const cell = tr.children[1];
    cell.replaceChildren(badge(ev.status));
    if (ev.node) tr.children[4].textContent = ev.node;
    if (ev.attempt) tr.children[5].textContent = String(ev.attempt);
  }
  if (ev.task_id === state.detail) showDetail(state.detail, true);
}

// -- one task -----------------------------------------------------------------------

function field(dl, name, value) {
  if (value === undefined || value === null || value === '' ||
      (Array.isArray(value) && !value.length) ||
      (typeof value === 'object' && !Array.isArray(value) && !Object.keys(value).length))
    return;
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  if (name === 'status') dd.append(badge(value));
  else dd.textContent = typeof value === 'object' ? JSON.stringify(value) : String(value);
  dl.append(dt, dd);
}

async function showDetail(id, refresh) {
  let t;
  try {
    t = await api('GET', '/tasks/' + id);
  } catch (e) {
    $('detail-title').textContent = e.message;
    return;
  }
  $('detail-title').textContent = t.name || t.command || t.id;
  const dl = $('detail-fields');
  dl.replaceChildren();
  for (const k of ['status', 'id', 'command', 'args', 'script_file', 'labels', 'priority',
                   'attempts', 'max_retries', 'timeout_s', 'exit_code', 'error', 'node',
                   'owner', 'dependencies', 'created_at', 'started_at', 'completed_at'])
    field(dl, k, k.endsWith('_at') ? time(t[k]) : t[k]);
  const ended = ['Completed', 'Failed', 'Cancelled'].includes(t.status);
  show($('cancel-task'), operator() && !ended);
  show($('retry-task'), operator() && (t.status === 'Failed' || t.status === 'Cancelled'));
  const events = await api('GET', `/tasks/${id}/events?limit=1000`);
  const ol = $('detail-events');
  ol.replaceChildren();
  for (const e of events.events) {
    const li = document.createElement('li');
    li.textContent = `${time(e.time)}  ${e.kind}${e.node ? ' on ' + e.node : ''}` +
                     `${e.details ? ' — ' + e.details : ''}`;
    ol.append(li);
  }
  if (!refresh) followOutput(id);
}

/// The task's output as it is written (a stream of its own, with a ticket).
async function followOutput(id) {
  if (state.output) state.output.close();
  const pre = $('detail-output');
  pre.textContent = '';
  $('output-state').textContent = '';
  const { ticket } = await api('POST', '/auth/stream-ticket', {});
  const es = new EventSource(`/tasks/${id}/output?follow=1&ticket=${ticket}`);
  state.output = es;
  es.addEventListener('output', (m) => {
    const piece = JSON.parse(m.data);
    if (piece.stream === 'stdout' || piece.stream === 'stderr') pre.textContent += piece.text;
  });
  es.addEventListener('attempt', (m) => {
    const a = JSON.parse(m.data);
    $('output-state').textContent = `attempt ${a.attempt}`;
  });
  es.addEventListener('end', (m) => {
    const end = JSON.parse(m.data);
    $('output-state').textContent = end.status;
    es.close();
  });
  es.onerror = () => es.close();
}

async function act(what) {
  try {
    await api('POST', `/tasks/${state.detail}/${what}`, {});
    showDetail(state.detail, true);
  } catch (e) {
    $('output-state').textContent = e.message;
  }
}

// -- navigation ---------------------------------------------------------------------

function route() {
  const m = location.hash.match(/^#task\/([0-9a-f-]{36})$/);
  if (state.output && !m) { state.output.close(); state.output = null; }
  state.detail = m ? m[1] : '';
  show($('tasks-view'), !m);
  show($('detail-view'), !!m);
  if (m) showDetail(m[1], false);
  else loadTasks();
}

function init() {
  $('login-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  $('submit-form').addEventListener('submit', submitTask);
  $('back').addEventListener('click', () => { location.hash = ''; });
  $('cancel-task').addEventListener('click', () => act('cancel'));
  $('retry-task').addEventListener('click', () => act('retry'));
  let typing = 0;
  $('search').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.query = $('search').value.trim(); loadTasks(); }, 250);
  });
  $('status-filter').addEventListener('change', () => {
    state.status = $('status-filter').value;
    loadTasks();
  });
  window.addEventListener('hashchange', route);
  api('GET', '/health').then((h) => {
    $('backend').textContent = `${h.storage.backend} · ${h.storage.location} · ${h.version}`;
  }).catch(() => {});
  enter().catch((e) => showLogin(e.message));
}

init();
