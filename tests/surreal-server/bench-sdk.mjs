// The JavaScript side of the server backend's benchmark: SurrealDB's official
// SDK sends the same work as the orchestrator's storage actor, to the same
// server, with 1, 16 and 64 concurrent callers, so the two can be compared
// (the C++ client should not be the bottleneck). Run by tests/bench/bench_storage.
//
//   node bench-sdk.mjs --url ws://127.0.0.1:PORT/rpc --ns N --db D [--seconds S]
//
// Work per operation, as the storage actor sends it:
//   submit:    one BEGIN..COMMIT with a "task does not exist" check and four
//              UPSERTs (task, queue entry, event, audit record);
//   claim+ack: the atomic claim of one queue entry, then one BEGIN..COMMIT
//              finishing the task (revision check, task UPSERT, queue entry
//              DELETE, event and audit UPSERTs).
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { Surreal, createRemoteEngines } from 'surrealdb';

const args = process.argv.slice(2);
const opt = (n, d) => { const i = args.indexOf(n); return i >= 0 ? args[i + 1] : d; };
const url = opt('--url');
const ns = opt('--ns', 'bench');
const dbName = opt('--db', 'sdk');
const seconds = Number(opt('--seconds', '3'));

const now = () => new Date().toISOString().replace('Z', '000Z');
const SUBMIT = `BEGIN TRANSACTION;
IF record::exists(type::record('tasks', $pk0)) { THROW 'orch-precondition:0:' };
IF (type::record('tasks', $k0).dependencies ?? []) != ($d0.dependencies ?? []) {
  DELETE type::record('tasks', $k0)->depends_on RETURN NONE;
  RELATE (type::record('tasks', $k0))->depends_on->(array::distinct($d0.dependencies ?? []).map(|$x| type::record('tasks', $x))) RETURN NONE;
};
UPSERT type::record('tasks', $k0) CONTENT $d0 RETURN NONE;
UPSERT type::record('task_queue', $k1) CONTENT $d1 RETURN NONE;
UPSERT type::record('task_events', $k2) CONTENT $d2 RETURN NONE;
UPSERT type::record('audit_log', $k3) CONTENT $d3 RETURN NONE;
COMMIT TRANSACTION;`;
const CLAIM = `SELECT * OMIT id FROM (UPDATE (SELECT id, priority, enqueued_at, task_id FROM task_queue WHERE claimed_by = '' AND (not_before = NULL OR not_before <= $now) ORDER BY priority DESC, enqueued_at ASC, task_id ASC LIMIT $n).id SET claimed_by = $me, lease_until = $until WHERE claimed_by = '' RETURN AFTER)`;
const FINISH = `BEGIN TRANSACTION;
IF !record::exists(type::record('tasks', $pk0)) OR <string> (type::record('tasks', $pk0).revision ?? '') NOT IN $pv0 { THROW 'orch-precondition:0:' };
IF (type::record('tasks', $k0).dependencies ?? []) != ($d0.dependencies ?? []) {
  DELETE type::record('tasks', $k0)->depends_on RETURN NONE;
  RELATE (type::record('tasks', $k0))->depends_on->(array::distinct($d0.dependencies ?? []).map(|$x| type::record('tasks', $x))) RETURN NONE;
};
UPSERT type::record('tasks', $k0) CONTENT $d0 RETURN NONE;
DELETE type::record('task_queue', $k1) RETURN NONE;
UPSERT type::record('task_events', $k2) CONTENT $d2 RETURN NONE;
UPSERT type::record('audit_log', $k3) CONTENT $d3 RETURN NONE;
COMMIT TRANSACTION;`;

function task(id, status, revision) {
  return { args: [], attempts: 0, command: 'true', completed_at: null, created_at: now(), dependencies: [],
    env: {}, error: '', exit_code: null, id, labels: {}, max_retries: 0, name: '', not_before: null,
    output: '', owner: 'bench', priority: 0, revision, script: '', script_file: '', started_at: null,
    status, stderr: '', timeout_s: 0, workdir: '' };
}
const event = (taskId) => { const id = randomUUID(); return [id, { attempt: 0, details: '', id, kind: 'created', status: 'Queued', task_id: taskId, time: now() }]; };
const audit = (taskId) => { const id = randomUUID(); return [id, { action: 'task.submit', details: '', id, outcome: 'ok', principal: 'bench', target: `task:${taskId}`, time: now() }]; };

async function connect() {
  const db = new Surreal({ engines: createRemoteEngines(), websocketImpl: WebSocket });
  await db.connect(url);
  await db.signin({ username: 'root', password: 'root' });
  await db.use({ namespace: ns, database: dbName });
  return db;
}

async function retrying(db, text, vars) {
  for (;;) {
    try { return await db.query(text, vars); } catch (e) {
      if (!String(e.message).includes('can be retried')) throw e;
    }
  }
}

async function submit(db) {
  const id = randomUUID();
  const [e, ed] = event(id); const [a, ad] = audit(id);
  await retrying(db, SUBMIT, { pk0: id, k0: id, d0: task(id, 'Queued', 1), k1: id,
    d1: { attempt: 0, claimed_by: '', enqueued_at: now(), lease_until: null, not_before: null, priority: 0, task_id: id },
    k2: e, d2: ed, k3: a, d3: ad });
}

async function claimAck(db) {
  const [entries] = await retrying(db, CLAIM, { now: now(), me: 'sdk', until: now(), n: 1 });
  if (!entries || entries.length === 0) return false;
  const id = entries[0].task_id;
  const [e, ed] = event(id); const [a, ad] = audit(id);
  await retrying(db, FINISH, { pk0: id, pv0: ['1'], k0: id, d0: task(id, 'Completed', 2), k1: id, k2: e, d2: ed, k3: a, d3: ad });
  return true;
}

// All callers share one connection, as the storage actor's callers share its one.
async function measure(name, callers, op) {
  const db = await connect();
  let done = 0; const start = Date.now(); const end = start + seconds * 1000;
  await Promise.all(Array.from({ length: callers }, async () => {
    while (Date.now() < end) { if ((await op(db)) === false) break; done++; }
  }));
  const rate = done / ((Date.now() - start) / 1000);
  console.log(`js-sdk               ${name} ${String(callers).padStart(2)} callers: ${String(Math.round(rate)).padStart(8)} ops/s`);
  await db.close();
}

{
  // The same tables as the storage actor defines.
  const db = await connect();
  for (const tb of ['tasks', 'task_queue', 'users', 'audit_log', 'metrics', 'task_events'])
    await db.query(`DEFINE TABLE IF NOT EXISTS ${tb} SCHEMALESS`);
  await db.query('DEFINE TABLE IF NOT EXISTS depends_on TYPE RELATION IN tasks OUT tasks SCHEMALESS');
  await db.query('DEFINE INDEX IF NOT EXISTS task_queue_claim ON TABLE task_queue FIELDS claimed_by, priority, enqueued_at');
  await db.close();
}
for (const c of (opt('--callers', '1,16,64')).split(',').map(Number)) await measure('submit   ', c, submit);
await measure('claim+ack', 1, claimAck);
process.exit(0);
