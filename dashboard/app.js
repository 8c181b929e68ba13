// The orchestrator's dashboard: plain JavaScript over the REST API and the
// live event stream (EventSource with a one-time ticket, since a browser
// cannot send the bearer token there). Nothing is fetched from elsewhere.
'use strict';

const state = {
  token: sessionStorage.getItem('orch.token') || '',
  me: null,
  query: '',
  status: '',
  offset: 0,               // of the task list's page (newest first)
  rows: new Map(),         // task id -> its <tr>
  events: null,            // the EventSource
  lastEventId: '',
  reloadTimer: 0,
  overviewTimer: 0,
  detail: '',              // the task shown, if any
  detailTask: null,        // its record, as last read
  childRows: new Map(),    // its children's <tr>, by id
  familyTimer: 0,
  familyAsked: 0,          // showFamily calls so far: the latest draws
  output: null,            // the detail's output EventSource
};

const $ = (id) => document.getElementById(id);
const pageSize = 100;     // tasks per page of the list
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
  show($('nav'), false);
  show($('overview-view'), false);
  show($('audit-view'), false);
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
  show($('nav'), true);
  const name = state.me.username || state.me.principal;
  $('who').textContent = `${name} (${state.me.roles.join(', ')})`;
  show($('signout'), state.me.auth === 'required');
  for (const el of document.querySelectorAll('.operator-only')) show(el, operator());
  for (const el of document.querySelectorAll('.admin-only')) show(el, can('admin'));
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
  const params = new URLSearchParams({ limit: String(pageSize), offset: String(state.offset),
                                       order: 'desc' });
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
    showPager(page);
  } catch (e) {
    if (e.status === 401) return showLogin('Your session ended: sign in again.');
    $('search-error').textContent = e.message;
  }
}

/// Which tasks of how many are shown, and the way to the others.
function showPager(page) {
  const first = page.tasks.length ? page.offset + 1 : 0;
  $('page-info').textContent = `${first}–${page.offset + page.tasks.length} of ${page.total}`;
  $('newer').disabled = page.offset === 0;
  $('older').disabled = page.offset + page.tasks.length >= page.total;
  show($('pager'), page.total > pageSize || page.offset > 0);
}

function turnPage(by) {
  state.offset = Math.max(0, state.offset + by * pageSize);
  loadTasks();
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
  if (location.hash === '#overview') {
    clearTimeout(state.overviewTimer);
    state.overviewTimer = setTimeout(loadOverview, 1000);
  }
  if (!ev.task_id) return;  // a node event
  const tr = state.rows.get(ev.task_id);
  if (ev.kind === 'created' && !tr) reloadSoon();
  for (const row of [tr, state.childRows.get(ev.task_id)]) {
    if (!row) continue;
    row.children[1].replaceChildren(badge(ev.status));
    if (ev.node) row.children[4].textContent = ev.node;
    if (ev.attempt) row.children[5].textContent = String(ev.attempt);
  }
  // A new task may be a child of the one shown: look again, once for a burst.
  if (ev.kind === 'created' && state.detailTask) {
    clearTimeout(state.familyTimer);
    state.familyTimer = setTimeout(() => {
      if (state.detailTask) showFamily(state.detailTask);  // still on a task's page
    }, 300);
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
    if (state.detail === id) $('detail-title').textContent = e.message;
    return;
  }
  // A look that was still on its way when another task was opened (a
  // refresh of the one before, on one of its events) must not draw over it.
  if (state.detail !== id) return;
  $('detail-title').textContent = t.name || t.command || t.id;
  state.detailTask = t;
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
  if (state.detail !== id) return;  // another task opened meanwhile
  const ol = $('detail-events');
  ol.replaceChildren();
  for (const e of events.events) {
    const li = document.createElement('li');
    li.textContent = `${time(e.time)}  ${e.kind}${e.node ? ' on ' + e.node : ''}` +
                     `${e.details ? ' — ' + e.details : ''}`;
    ol.append(li);
  }
  await showFamily(t);
  if (!refresh) {
    followOutput(id);
    drawGraph(t).catch((e) => { $('detail-graph').textContent = e.message; });
  }
}

/// The task's parent (a link) and its children (a task's fan-out through the
/// API, GET /tasks?parent=), newest last; the card is hidden when it has neither.
const childrenShown = 100;

async function showFamily(t) {
  // Looks overlap (an event of the task, a new child): only the latest one
  // asked draws, so an older answer arriving late cannot undo a newer one.
  const asked = ++state.familyAsked;
  let page = { tasks: [], total: 0 };
  try {
    page = await api('GET', `/tasks?parent=${t.id}&limit=${childrenShown}&order=asc`);
  } catch (_) { /* shown as none */ }
  if (asked !== state.familyAsked || state.detailTask?.id !== t.id) return;  // moved on meanwhile
  const parent = $('parent-link');
  parent.textContent = t.parent ? t.parent.slice(0, 8) : '';
  parent.href = t.parent ? '#task/' + t.parent : '#';
  show($('detail-parent'), !!t.parent);
  const rows = page.tasks.map(rowOf);
  state.childRows = new Map(rows.map((tr) => [tr.dataset.id, tr]));
  $('children-rows').replaceChildren(...rows);
  show($('detail-children'), page.tasks.length > 0);
  $('children-more').textContent = page.total > page.tasks.length
    ? `the first ${page.tasks.length} of ${page.total} children` : '';
  show($('children-more'), page.total > page.tasks.length);
  show($('family-card'), !!t.parent || page.tasks.length > 0);
}

// -- a task's dependency graph: what it waits for (up to four levels), then it,
// then what waits for it; each node a link to its task ------------------------------

const svgNs = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, parent) {
  const el = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (parent) parent.append(el);
  return el;
}

async function drawGraph(t) {
  const tasks = new Map([[t.id, t]]);
  const depth = new Map([[t.id, 0]]);
  let frontier = [t];
  for (let level = 1; level <= 4 && frontier.length && tasks.size < 40; level++) {
    const next = [];
    for (const x of frontier)
      for (const d of x.dependencies || []) {
        if (tasks.has(d) || tasks.size >= 40) continue;
        try {
          const dt = await api('GET', '/tasks/' + d);
          tasks.set(d, dt);
          depth.set(d, level);
          next.push(dt);
        } catch (_) { /* removed since */ }
      }
    frontier = next;
  }
  const dependants = (await api('GET', `/tasks?depends_on=${t.id}&limit=20`)).tasks;
  for (const c of dependants) {
    tasks.set(c.id, c);
    depth.set(c.id, -1);
  }
  const deepest = Math.max(...depth.values());
  const columns = new Map();  // column -> ids
  for (const [id, d] of depth) {
    const col = deepest - d;
    if (!columns.has(col)) columns.set(col, []);
    columns.get(col).push(id);
  }
  const w = 190, h = 44, gapX = 60, gapY = 14;
  const place = new Map();
  for (const [col, ids] of columns)
    ids.forEach((id, row) => place.set(id, { x: 10 + col * (w + gapX), y: 10 + row * (h + gapY) }));
  const cols = Math.max(...columns.keys()) + 1;
  const rows = Math.max(...[...columns.values()].map((ids) => ids.length));
  const root = svg('svg', { width: 20 + cols * (w + gapX) - gapX, height: 20 + rows * (h + gapY) - gapY });
  const edge = (from, to) => {
    const a = place.get(from), b = place.get(to);
    if (!a || !b) return;
    const x1 = a.x + w, y1 = a.y + h / 2, x2 = b.x, y2 = b.y + h / 2;
    svg('path', { d: `M${x1},${y1} C${x1 + 30},${y1} ${x2 - 30},${y2} ${x2},${y2}` }, root);
  };
  for (const x of tasks.values())
    for (const d of x.dependencies || []) edge(d, x.id);
  for (const [id, x] of tasks) {
    const p = place.get(id);
    const g = svg('g', { class: `node ${x.status.toLowerCase()}${id === t.id ? ' current' : ''}`,
                         transform: `translate(${p.x},${p.y})` }, root);
    g.dataset.id = id;
    svg('rect', { width: w, height: h, rx: 6 }, g);
    const label = svg('text', { x: 10, y: 18 }, g);
    const name = x.name || x.command || id.slice(0, 8);
    label.textContent = name.length > 24 ? name.slice(0, 23) + '…' : name;
    const state = svg('text', { x: 10, y: 34, class: 'state' }, g);
    state.textContent = `${x.status} · ${id.slice(0, 8)}`;
    g.addEventListener('click', () => { location.hash = '#task/' + id; });
  }
  $('detail-graph').replaceChildren(root);
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

// -- the overview: counts, charts from the persisted samples, nodes ------------------

const statuses = ['Pending', 'Queued', 'Running', 'Completed', 'Failed', 'Cancelled'];

function countCard(n, what) {
  const div = document.createElement('div');
  div.className = 'count';
  const big = document.createElement('div');
  big.className = 'n';
  big.textContent = n;
  const small = document.createElement('div');
  small.className = 'what';
  small.textContent = what;
  div.append(big, small);
  return div;
}

/// The samples of one metric over the last day, oldest first.
async function history(name) {
  const since = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
  const page = await api('GET', `/metrics/history?name=${name}&since=${since}&limit=1000&order=desc`);
  return page.samples.reverse();
}

// Samples come from every instance writing to this storage (a shared
// SurrealDB holds several), each labelled with its `instance` and taken
// every --metrics-interval-s on its own clock. A chart puts them in buckets
// of one interval: a counter's per-minute rate is worked out per instance
// (the difference between its consecutive samples; a restart starts it
// over) and then added up; a gauge is each instance's last value, added up.

/// The bucket width in seconds: the shortest gap between one instance's
/// consecutive samples (its snapshot interval).
function bucketWidth(samples) {
  const last = new Map();
  let width = Infinity;
  for (const s of samples) {
    const who = s.labels.instance || '';
    const t = Date.parse(s.time) / 1000;
    const before = last.get(who);
    if (before !== undefined && t - before >= 1) width = Math.min(width, t - before);
    last.set(who, t);
  }
  return Number.isFinite(width) ? Math.round(width) : 60;
}

/// bucket start (s) -> key -> number, from `add(bucket, key, value)` calls.
class Buckets {
  constructor(width) { this.width = width; this.at = new Map(); }
  bucket(time) { return Math.floor(Date.parse(time) / 1000 / this.width) * this.width; }
  add(b, key, value) {
    if (!this.at.has(b)) this.at.set(b, new Map());
    const m = this.at.get(b);
    m.set(key, (m.get(key) || 0) + value);
  }
  times() { return [...this.at.keys()].sort((a, b) => a - b); }
  get(b, key) { return this.at.get(b)?.get(key); }
}

/// Per-minute rates of a counter per value of `label`, all instances added.
function rates(samples, label, width) {
  const perInstance = new Map();  // instance -> time -> key -> value
  for (const s of samples) {
    const who = s.labels.instance || '';
    if (!perInstance.has(who)) perInstance.set(who, new Map());
    const times = perInstance.get(who);
    if (!times.has(s.time)) times.set(s.time, new Map());
    times.get(s.time).set(s.labels[label] || '', s.value);
  }
  const out = new Buckets(width);
  for (const times of perInstance.values()) {
    const order = [...times.keys()].sort();
    const seen = new Map();  // bucket -> key -> [sum, n]: an instance's mean in a bucket
    for (let i = 1; i < order.length; i++) {
      const minutes = (Date.parse(order[i]) - Date.parse(order[i - 1])) / 60000;
      if (minutes <= 0) continue;
      const b = out.bucket(order[i]);
      const now = times.get(order[i]), before = times.get(order[i - 1]);
      for (const [key, v] of now) {
        const was = before.get(key) || 0;
        const rate = (v >= was ? v - was : v) / minutes;
        if (!seen.has(b)) seen.set(b, new Map());
        const [sum, n] = seen.get(b).get(key) || [0, 0];
        seen.get(b).set(key, [sum + rate, n + 1]);
      }
    }
    for (const [b, keys] of seen)
      for (const [key, [sum, n]] of keys) out.add(b, key, sum / n);
  }
  return out;
}

/// A gauge per bucket: each instance's last value in it, added up (`combine`
/// 'max' for a figure every instance reports whole, like the queue's depth).
function gauges(samples, width, combine = 'sum') {
  const last = new Map();  // bucket -> instance -> [time, value]
  const out = new Buckets(width);
  for (const s of samples) {
    const b = out.bucket(s.time);
    if (!last.has(b)) last.set(b, new Map());
    const who = s.labels.instance || '';
    const had = last.get(b).get(who);
    if (!had || had[0] <= s.time) last.get(b).set(who, [s.time, s.value]);
  }
  for (const [b, byInstance] of last) {
    const values = [...byInstance.values()].map(([, v]) => v);
    out.add(b, '', combine === 'max' ? Math.max(...values) : values.reduce((a, v) => a + v, 0));
  }
  return out;
}

const charts = {};

function draw(id, data, series) {
  const el = $(id);
  if (charts[id]) charts[id].destroy();
  el.replaceChildren();
  if (typeof uPlot === 'undefined') return;
  const width = Math.max(300, el.clientWidth || 560);
  charts[id] = new uPlot({
    width, height: 220,
    series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2 }))],
    scales: { x: { time: true } },
  }, data, el);
}

/// Where this orchestrator keeps its records, from GET /health.
function showStorage(health) {
  const st = health.storage;
  const rows = [['backend', st.backend], ['location', st.location]];
  if (st.namespace) rows.push(['namespace', st.namespace], ['database', st.database]);
  rows.push(['shared', st.shared ? 'yes: several orchestrators may use it' : 'no: this process only'],
            ['instance', health.instance], ['version', health.version]);
  $('storage-fields').replaceChildren(...rows.flatMap(([k, v]) => {
    const dt = document.createElement('dt');
    dt.textContent = k;
    const dd = document.createElement('dd');
    dd.textContent = String(v ?? '');
    dd.dataset.field = k;
    return [dt, dd];
  }));
}

async function loadOverview() {
  try {
    const [counts, health, nodes] = await Promise.all([
      Promise.all(statuses.map((s) => api('GET', `/tasks?status=${s}&limit=1`).then((p) => p.total))),
      api('GET', '/health'),
      api('GET', '/nodes'),
    ]);
    showStorage(health);
    const cards = statuses.map((s, i) => countCard(counts[i], s));
    cards.push(countCard(`${health.running} / ${health.slots}`, 'running / slots here'));
    cards.push(countCard(nodes.nodes.length, 'nodes'));
    $('counts').replaceChildren(...cards);
    const rows = nodes.nodes.map((n) => {
      const tr = document.createElement('tr');
      for (const text of [n.name, n.address, n.slots, n.running,
                          Object.entries(n.labels || {}).map(([k, v]) => `${k}=${v}`).join(', '),
                          time(n.last_heartbeat)]) {
        const td = document.createElement('td');
        td.textContent = String(text ?? '');
        tr.append(td);
      }
      return tr;
    });
    $('node-rows').replaceChildren(...rows);
    const [finished, running, depth] = await Promise.all([
      history('orchestrator_tasks_finished_total'),
      history('orchestrator_tasks_running'),
      history('orchestrator_queue_depth'),
    ]);
    const width = bucketWidth([...finished, ...running]);
    const done = rates(finished, 'status', width);
    const xs = done.times();
    const per = (key) => xs.map((b) => done.get(b, key) ?? 0);
    const completed = per('Completed'), failed = per('Failed');
    draw('chart-finished', [xs, completed, failed],
         [['Completed', '#1f7a3f'], ['Failed', '#b42318']]);
    draw('chart-failure', [xs, xs.map((b, i) => {
      const all = completed[i] + failed[i];
      return all > 0 ? (100 * failed[i]) / all : null;
    })], [['failed, % of finished', '#b42318']]);
    const run = gauges(running, width), queued = gauges(depth, width, 'max');
    const ts = [...new Set([...run.times(), ...queued.times()])].sort((a, b) => a - b);
    draw('chart-running', [ts, ts.map((b) => run.get(b, '') ?? null),
                           ts.map((b) => queued.get(b, '') ?? null)],
         [['running', '#175cd3'], ['queued', '#a15c00']]);
  } catch (e) {
    if (e.status === 401) return showLogin('Your session ended: sign in again.');
    $('counts').replaceChildren(countCard('!', e.message));
  }
}

// -- the audit log (admins) ---------------------------------------------------------

async function loadAudit() {
  const params = new URLSearchParams({ limit: '200', order: 'desc' });
  const action = $('audit-action').value.trim();
  if (action) params.set('action', action);
  try {
    const page = await api('GET', '/audit?' + params);
    const rows = page.records.map((a) => {
      const tr = document.createElement('tr');
      for (const text of [time(a.time), a.principal, a.action, a.target, a.outcome, a.details]) {
        const td = document.createElement('td');
        td.textContent = text || '';
        tr.append(td);
      }
      return tr;
    });
    $('audit-rows').replaceChildren(...rows);
    $('audit-total').textContent = `${page.total} record${page.total === 1 ? '' : 's'}`;
  } catch (e) {
    $('audit-total').textContent = e.message;
  }
}

// -- navigation ---------------------------------------------------------------------

function route() {
  const m = location.hash.match(/^#task\/([0-9a-f-]{36})$/);
  const overview = location.hash === '#overview';
  const audit = location.hash === '#audit' && can('admin');
  if (state.output && !m) { state.output.close(); state.output = null; }
  state.detail = m ? m[1] : '';
  if (!m || state.detailTask?.id !== m[1]) state.detailTask = null;
  show($('overview-view'), overview);
  show($('audit-view'), audit);
  show($('tasks-view'), !m && !overview && !audit);
  show($('detail-view'), !!m);
  $('nav-overview').classList.toggle('current', overview);
  $('nav-audit').classList.toggle('current', audit);
  $('nav-tasks').classList.toggle('current', !overview && !audit);
  if (m) showDetail(m[1], false);
  else if (overview) loadOverview();
  else if (audit) loadAudit();
  else loadTasks();
}

function init() {
  $('login-form').addEventListener('submit', signIn);
  $('signout').addEventListener('click', signOut);
  $('submit-form').addEventListener('submit', submitTask);
  $('back').addEventListener('click', () => { location.hash = ''; });
  $('cancel-task').addEventListener('click', () => act('cancel'));
  $('retry-task').addEventListener('click', () => act('retry'));
  $('newer').addEventListener('click', () => turnPage(-1));
  $('older').addEventListener('click', () => turnPage(1));
  let typing = 0;
  $('search').addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => {
      state.query = $('search').value.trim();
      state.offset = 0;
      loadTasks();
    }, 250);
  });
  let auditTyping = 0;
  $('audit-action').addEventListener('input', () => {
    clearTimeout(auditTyping);
    auditTyping = setTimeout(loadAudit, 250);
  });
  $('status-filter').addEventListener('change', () => {
    state.status = $('status-filter').value;
    state.offset = 0;
    loadTasks();
  });
  window.addEventListener('hashchange', route);
  api('GET', '/health').then((h) => {
    $('backend').textContent = `${h.storage.backend} · ${h.storage.location} · ${h.version}`;
  }).catch(() => {});
  enter().catch((e) => showLogin(e.message));
}

init();
