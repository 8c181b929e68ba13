#!/usr/bin/env node
// SurrealDB test server: the real SurrealDB 3.0.2 engine (npm @surrealdb/node, a native
// addon) behind a WebSocket front that behaves like the network layer of `surreal start`.
//
// The `surreal` binary cannot be installed on this project's machines, so tests talk to
// this instead. Everything SurrealDB itself decides (SurrealQL, RPC methods, permissions of
// signed-in users, tokens, transactions, live queries, CBOR value encoding, storage) is the
// real engine code. What the server binary adds on top is rebuilt here from the 3.0.2
// server source: per-connection sessions, the response envelope, notification routing,
// root-user creation, rejection of anonymous callers (the addon always runs with
// authentication off), upgrade-header auth, and the errors for malformed frames.
//
// Usage: node server.mjs --port 0 --bind 127.0.0.1 --user root --pass root
//                        [--store memory|rocksdb:///abs/dir] [--exit-with-parent] ...
// Prints exactly one line on stdout when ready: `LISTENING <host>:<port>`. Logs go to
// stderr. SIGTERM/SIGINT close it cleanly with exit code 0. See README.md.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';
import {
  CborError, decode, enc, isNone, isWellFormed, mapHeader, uuidOf, walkArray, walkMap,
} from './cbor.mjs';

// ---------------------------------------------------------------------------------------
// Command line

const USAGE = `Usage: node server.mjs [options]

  --port N              TCP port; 0 picks a free one (default 0)
  --bind HOST           address to listen on (default 127.0.0.1)
  --user NAME           root user created at start-up if no root user exists
  --pass PASSWORD       password of that root user
  --store STORE         memory (default) | mem:// | rocksdb:///abs/dir | surrealkv:///abs/dir
  --no-defaults         do not create the default namespace/database main/main
  --unauthenticated     allow anonymous callers full access (like surreal start --unauthenticated)
  --allow-guests        same effect here (the engine cannot apply guest permissions)
  --exit-with-parent    exit when the parent process dies (polls the parent pid)
  --exit-with-pid PID   exit when process PID is gone (polls it): a server that
                        outlives its starter, for a whole test run
  --exit-on-stdin-eof   exit when stdin reaches end-of-file (parent holds a pipe open)
  --verbose             log every RPC call on stderr
  --capture-dir DIR     write every frame sent to a client to DIR/<n>.cbor
                        (the seed corpus of the surreal_rpc fuzz target)
  --help                show this text

Prints "LISTENING <host>:<port>" on stdout once ready. SIGTERM/SIGINT exit 0.`;

function parseCli() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        port: { type: 'string', default: '0' },
        bind: { type: 'string', default: '127.0.0.1' },
        user: { type: 'string' },
        pass: { type: 'string' },
        store: { type: 'string', default: 'memory' },
        'no-defaults': { type: 'boolean', default: false },
        unauthenticated: { type: 'boolean', default: false },
        'allow-guests': { type: 'boolean', default: false },
        'exit-with-parent': { type: 'boolean', default: false },
        'exit-with-pid': { type: 'string' },
        'exit-on-stdin-eof': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        'capture-dir': { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (err) {
    fail(`${err.message}\n\n${USAGE}`, 2);
  }
  const v = parsed.values;
  if (v.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const port = Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port: ${v.port}`, 2);
  if ((v.user === undefined) !== (v.pass === undefined)) fail('--user and --pass must be given together', 2);
  return {
    port,
    bind: v.bind,
    user: v.user,
    pass: v.pass,
    store: v.store,
    defaults: !v['no-defaults'],
    anonymousAllowed: v.unauthenticated || v['allow-guests'],
    allowGuests: v['allow-guests'],
    exitWithParent: v['exit-with-parent'],
    exitWithPid: v['exit-with-pid'] ? Number(v['exit-with-pid']) : 0,
    exitOnStdinEof: v['exit-on-stdin-eof'],
    verbose: v.verbose,
    captureDir: v['capture-dir'],
  };
}

function log(level, msg) {
  process.stderr.write(`${new Date().toISOString()} ${level.padEnd(5)} surreal-server: ${msg}\n`);
}

function fail(msg, code = 1) {
  log('ERROR', msg);
  process.exit(code);
}

const opts = parseCli();
const captureDir = opts.captureDir;
let captured = 0;
if (captureDir) fs.mkdirSync(captureDir, { recursive: true });
const debug = opts.verbose ? (msg) => log('DEBUG', msg) : () => {};

// ---------------------------------------------------------------------------------------
// The engine

// The package's JS entry point wraps the addon in an SDK engine and does not export the
// raw `SurrealNodeEngine`, which is what gives access to SurrealDB's RPC handler
// (`RpcProtocol::execute`) with CBOR in and CBOR out. So load the native binding directly,
// from the same folder, picking the build for this platform.
function loadBinding() {
  const require = createRequire(import.meta.url);
  if (process.env.NAPI_RS_NATIVE_LIBRARY_PATH) return require(process.env.NAPI_RS_NATIVE_LIBRARY_PATH);
  const dist = path.dirname(fileURLToPath(import.meta.resolve('@surrealdb/node')));
  const { platform, arch } = process;
  const candidates = {
    linux: [`linux-${arch}-gnu`, `linux-${arch}-musl`],
    darwin: [`darwin-${arch}`],
    win32: [`win32-${arch}-msvc`],
  }[platform] ?? [];
  const errors = [];
  for (const c of candidates) {
    const file = path.join(dist, `surrealdb-node.${c}.node`);
    if (!fs.existsSync(file)) continue;
    try {
      return require(file);
    } catch (err) {
      errors.push(`${file}: ${err.message}`);
    }
  }
  throw new Error(`no usable @surrealdb/node binding for ${platform}-${arch}${errors.length ? `: ${errors.join('; ')}` : ''}`);
}

const { SurrealNodeEngine } = loadBinding();
const ENGINE_VERSION = SurrealNodeEngine.version(); // "3.0.2"
const VERSION_STRING = `surrealdb-${ENGINE_VERSION}`;

let engine = null;
let engineFreed = false; // set at shutdown; no call may enter the engine after it
const pendingEngineCalls = new Set();

// Thrown when the addon rejects a request outright instead of answering `{error}`.
class EngineThrow extends Error {}

/**
 * Runs one raw CBOR request through SurrealDB's RPC handler. Resolves to
 * { ok: true, result } or { ok: false, error } with raw CBOR buffers, or throws EngineThrow.
 * The addon answers the bare result on success and `{error: <Error>}` on failure.
 */
async function execute(request) {
  // A call that reaches the addon after free() unwraps a missing engine and aborts the
  // whole process, so shutdown waits for the calls already made (pendingEngineCalls).
  if (engineFreed) throw new EngineThrow('The server is gracefully shutting down');
  let out;
  const call = engine.execute(request);
  pendingEngineCalls.add(call);
  try {
    out = await call;
  } catch (err) {
    throw new EngineThrow(err?.message ?? String(err));
  } finally {
    pendingEngineCalls.delete(call);
  }
  const bytes = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  const errorBytes = engineErrorOf(bytes);
  return errorBytes ? { ok: false, error: errorBytes } : { ok: true, result: bytes };
}

// A success result is a bare value, so `{error: ...}` is ambiguous in principle (a `run`
// of a function returning such an object). Only treat it as an error when the inner value
// looks like SurrealDB's error object.
function engineErrorOf(bytes) {
  let entries;
  try {
    entries = walkMap(bytes);
  } catch {
    return null;
  }
  if (!entries || entries.length !== 1 || entries[0].key !== 'error') return null;
  const inner = bytes.subarray(entries[0].valStart, entries[0].valEnd);
  let keys;
  try {
    keys = walkMap(inner)?.map((e) => e.key);
  } catch {
    return null;
  }
  return keys && keys.includes('code') && keys.includes('message') ? inner : null;
}

/** Builds an engine request from already-encoded parts. */
function engineRequest(method, sessionId, params) {
  const pairs = [['method', enc.text(method)]];
  if (params) pairs.push(['params', enc.array(params)]);
  if (sessionId) pairs.push(['session', enc.uuid(sessionId)]);
  return enc.map(pairs);
}

/**
 * An internal call made by the front itself. Resolves to { ok: true, value } or
 * { ok: false, error, errorBytes } with the decoded value or error object.
 */
async function internal(method, sessionId, params) {
  const r = await execute(engineRequest(method, sessionId, params));
  return r.ok ? { ok: true, value: decode(r.result) } : { ok: false, error: decode(r.error), errorBytes: r.error };
}

// ---------------------------------------------------------------------------------------
// Error objects the front has to produce itself. SurrealDB encodes objects from a sorted
// map, so `enc.value` sorts keys too: cause, code, details, kind, message.

function surrealError(code, kind, message, details) {
  const obj = { cause: enc.NONE, code, kind, message };
  if (details) obj.details = details;
  return enc.value(obj);
}

const ERR = {
  parse: () => surrealError(-32700, 'Validation', 'Parse error', { kind: 'Parse' }),
  invalidRequest: () => surrealError(-32600, 'Validation', 'Invalid request', { kind: 'InvalidRequest' }),
  // The object `surreal start` sends when an anonymous caller reaches Datastore::check_anon.
  anonymous: () => surrealError(-32002, 'NotAllowed',
    'Anonymous access not allowed: Not enough permissions to perform this action',
    { kind: 'Auth', details: { kind: 'NotAllowed', details: { action: 'process', actor: 'anonymous', resource: 'query' } } }),
  sessionNotFound: (id) => surrealError(-32000, 'NotFound', `Session not found: ${id}`,
    { kind: 'Session', details: { id } }),
  sessionExists: (id) => surrealError(-32000, 'AlreadyExists', `Session already exists: ${id}`,
    { kind: 'Session', details: { id } }),
  namespaceEmpty: () => surrealError(-32600, 'Validation', 'Specify a namespace to use', { kind: 'NamespaceEmpty' }),
  shuttingDown: () => surrealError(-32000, 'Internal', 'The server is gracefully shutting down'),
  // Replaced at start-up by the engine's own bytes for an unknown transaction.
  txnNotFound: surrealError(-32603, 'Validation', 'Transaction not found', { kind: 'InvalidParams' }),
};

// ---------------------------------------------------------------------------------------
// Connections, sessions, live queries, transactions

// One engine session per connection and per attached session. The engine keeps a single
// session map for everything, so client-chosen `attach` ids are mapped to private ones:
// two connections may use the same id, as on the server.
class Session {
  constructor(conn, id, clientId) {
    this.conn = conn;
    this.id = id; // engine session UUID (for the main session: the connection id)
    this.clientId = clientId; // the client's `attach` id, null for the main session
    this.authed = false;
    this.lqs = new Set(); // live query ids owned by this session
    this.nsdb = null; // last [ns, db] set through `use`, to kill live queries at cleanup
    // Calls that later requests on this session must wait for: its own `attach`, and
    // sign-ins, sign-outs and resets (see processFrame).
    this.gates = new Set();
    sessionsById.set(id, this);
  }
}

const connections = new Map(); // connection id -> Connection
const sessionsById = new Map(); // engine session id -> Session
const lqOwner = new Map(); // live query id -> Session
const counters = { requests: 0, notifications: 0, connectionsTotal: 0 };

class Connection {
  constructor(id) {
    this.id = id;
    this.ws = null;
    this.main = new Session(this, id, null);
    this.attached = new Map(); // client session id -> Session
    this.sessions = new Set([this.main]); // every engine session to clean up
    this.txns = new Set(); // RPC transactions begun here and not yet finished
    this.inflight = new Set();
    this.closed = false;
    this.pinger = null;
  }
}

function registerLq(lq, session) {
  if (!lq || lqOwner.get(lq) === session) return;
  lqOwner.set(lq, session);
  session.lqs.add(lq);
}

function unregisterLq(lq) {
  const s = lqOwner.get(lq);
  if (s) s.lqs.delete(lq);
  lqOwner.delete(lq);
}

// On disconnect `surreal start` kills the connection's live queries. The engine's own
// `reset`/`detach` do not, and KILL fails once the owning session is gone, so kill them
// through the owning session while it still exists.
async function killLiveQueries(session) {
  for (const lq of [...session.lqs]) {
    try {
      let r = await internal('kill', session.id, [enc.uuid(lq)]);
      if (!r.ok && session.nsdb) {
        // KILL needs a namespace and database on the session, whichever they are.
        await internal('use', session.id, session.nsdb.map((x) => enc.text(x)));
        r = await internal('kill', session.id, [enc.uuid(lq)]);
      }
      if (!r.ok) debug(`could not kill live query ${lq}: ${r.error?.message}`);
    } catch (err) {
      debug(`could not kill live query ${lq}: ${err.message}`);
    }
    unregisterLq(lq);
  }
}

async function dropSession(session) {
  await killLiveQueries(session);
  try {
    await internal('detach', session.id);
  } catch (err) {
    debug(`detach ${session.id}: ${err.message}`);
  }
  sessionsById.delete(session.id);
  session.conn.sessions.delete(session);
}

async function closeConnection(conn) {
  if (conn.closed) return;
  conn.closed = true;
  clearInterval(conn.pinger);
  // Let requests already handed to the engine finish, so nothing they create leaks.
  await Promise.allSettled([...conn.inflight]);
  for (const txn of [...conn.txns]) {
    try {
      await internal('cancel', null, [enc.uuid(txn)]);
    } catch (err) {
      debug(`cancel ${txn}: ${err.message}`);
    }
  }
  conn.txns.clear();
  for (const s of [...conn.sessions]) await dropSession(s);
  connections.delete(conn.id);
  debug(`connection ${conn.id} closed`);
}

// ---------------------------------------------------------------------------------------
// RPC

// Methods that reach Datastore::check_anon on the server, so anonymous callers are
// rejected there. The rest (version, ping, use, let/unset, signin/signup, attach, ...)
// stay open, as on the server.
const ANON_REJECTED = new Set(['query', 'select', 'create', 'insert', 'insert_relation', 'upsert',
  'update', 'merge', 'patch', 'delete', 'relate', 'run', 'live', 'kill', 'info']);
const SIGNS_IN = new Set(['signin', 'signup', 'authenticate', 'refresh']);
const CHANGES_AUTH = new Set([...SIGNS_IN, 'invalidate', 'reset']);

// The server echoes integer and string ids re-encoded from the decoded value (so in
// minimal form); other id types are echoed as they came.
function responseId(raw) {
  const major = raw[0] >> 5;
  if (major === 0 || major === 1 || major === 3) {
    try {
      return enc.value(decode(raw));
    } catch {
      return raw;
    }
  }
  return raw;
}

// Envelopes are built from a sorted map on the server: {id, result, session} and
// {error, id, session}; absent fields are left out.
function okEnvelope(id, result, session) {
  const pairs = [];
  if (id) pairs.push(['id', id]);
  pairs.push(['result', result]);
  if (session) pairs.push(['session', session]);
  return enc.map(pairs);
}

function errorEnvelope(error, id, session) {
  const pairs = [['error', error]];
  if (id) pairs.push(['id', id]);
  if (session) pairs.push(['session', session]);
  return enc.map(pairs);
}

function send(conn, bytes) {
  if (captureDir) fs.writeFileSync(path.join(captureDir, `${String(++captured).padStart(6, '0')}.cbor`), bytes);
  if (conn.ws && conn.ws.readyState === conn.ws.OPEN) conn.ws.send(bytes, { binary: true });
}

function handleFrame(conn, data) {
  const p = processFrame(conn, Buffer.isBuffer(data) ? data : Buffer.concat(data))
    .catch((err) => {
      // Structurally valid CBOR can still fail to decode (e.g. invalid UTF-8 in a text).
      if (err instanceof CborError) send(conn, errorEnvelope(ERR.parse()));
      else log('ERROR', `request failed: ${err.stack ?? err}`);
    })
    .finally(() => conn.inflight.delete(p));
  conn.inflight.add(p);
}

async function processFrame(conn, buf) {
  counters.requests++;
  // Malformed frames are answered without an id, as on the server.
  if (!isWellFormed(buf)) return send(conn, errorEnvelope(ERR.parse()));
  const entries = walkMap(buf);
  if (!entries) return send(conn, errorEnvelope(ERR.invalidRequest()));
  const field = (name) => entries.find((e) => e.key === name);
  const raw = (e) => buf.subarray(e.valStart, e.valEnd);

  const idEntry = field('id');
  const id = idEntry ? responseId(raw(idEntry)) : null;
  const methodEntry = field('method');
  let method = null;
  if (methodEntry) {
    const m = decode(raw(methodEntry));
    if (typeof m === 'string') method = m.toLowerCase();
  }

  // The client's session id, if any: tag 37 or a UUID string.
  let clientId = null;
  const sessionEntry = field('session');
  if (sessionEntry) {
    const v = decode(raw(sessionEntry));
    if (!(isNone(v) || v === null)) {
      clientId = uuidOf(v);
      if (!clientId) return send(conn, errorEnvelope(ERR.invalidRequest()));
    }
  }
  const sessionOut = clientId ? enc.uuid(clientId) : null;
  const reply = (result) => send(conn, okEnvelope(id, result, sessionOut));
  const replyError = (error) => send(conn, errorEnvelope(error, id, sessionOut));

  debug(`conn ${conn.id.slice(0, 8)} ${method ?? '?'}${clientId ? ` session=${clientId}` : ''}`);
  if (shuttingDown) return replyError(ERR.shuttingDown());

  // Requests rebuilt for the engine: every field copied byte for byte, except `session`,
  // which names the private engine session.
  const forward = (session) => {
    const kept = entries.filter((e) => e.key !== 'session');
    const parts = [mapHeader(kept.length + (session ? 1 : 0))];
    for (const e of kept) parts.push(buf.subarray(e.keyStart, e.valEnd));
    if (session) parts.push(enc.text('session'), enc.uuid(session.id));
    return execute(Buffer.concat(parts));
  };

  // Session management is per connection on the server; the front answers it itself.
  switch (method) {
    case 'attach': {
      if (!clientId) return relay(await runGuarded(() => forward(null)), id, sessionOut, conn, clientId);
      if (conn.attached.has(clientId)) return replyError(ERR.sessionExists(clientId));
      // Registered at once, so requests pipelined behind the attach find the session
      // (and wait until the engine has it).
      const s = new Session(conn, randomUUID(), clientId);
      conn.attached.set(clientId, s);
      conn.sessions.add(s);
      const attached = internal('attach', s.id).catch((err) => ({ ok: false, errorBytes: ERR.shuttingDown(), err }));
      s.gates.add(attached);
      const r = await attached.finally(() => s.gates.delete(attached));
      if (!r.ok) {
        if (conn.attached.get(clientId) === s) conn.attached.delete(clientId);
        conn.sessions.delete(s);
        sessionsById.delete(s.id);
        return replyError(r.errorBytes);
      }
      return reply(enc.NONE);
    }
    case 'detach': {
      if (!clientId) return relay(await runGuarded(() => forward(null)), id, sessionOut, conn, clientId);
      const s = conn.attached.get(clientId);
      // The server only forgets the session; its live queries keep reporting to this
      // connection until it closes. Keep the engine session so they can be killed then.
      if (s) conn.attached.delete(clientId);
      return reply(enc.NONE);
    }
    case 'sessions':
      return reply(enc.array([...conn.attached.keys()].map((x) => enc.uuid(x))));
    default:
      break;
  }

  const session = clientId ? conn.attached.get(clientId) : conn.main;
  if (!session) return replyError(ERR.sessionNotFound(clientId));

  // The server runs a request's anonymous check inside the engine, after the session lock
  // that a sign-in in progress holds; so a query pipelined right behind `signin` runs
  // signed in. Keep that order: wait for the auth changes already under way on this
  // session (snapshot taken before any await), and make later requests wait for this one.
  const earlier = [...session.gates];
  let gate = null;
  let release = null;
  if (CHANGES_AUTH.has(method)) {
    gate = new Promise((resolve) => { release = resolve; });
    session.gates.add(gate);
  }
  try {
    if (earlier.length) await Promise.allSettled(earlier);
    return await dispatch(conn, session, method, buf, entries, id, clientId, sessionOut, forward);
  } finally {
    if (gate) {
      session.gates.delete(gate);
      release();
    }
  }
}

async function dispatch(conn, session, method, buf, entries, id, clientId, sessionOut, forward) {
  const field = (name) => entries.find((e) => e.key === name);
  const raw = (e) => buf.subarray(e.valStart, e.valEnd);
  const reply = (result) => send(conn, okEnvelope(id, result, sessionOut));
  const replyError = (error) => send(conn, errorEnvelope(error, id, sessionOut));

  if (method === 'reset') {
    await resetSession(conn, session);
    return reply(enc.NONE);
  }

  if (!opts.anonymousAllowed && ANON_REJECTED.has(method) && !session.authed) {
    return replyError(ERR.anonymous());
  }

  // An RPC transaction only works on the connection that began it.
  const txnEntry = field('txn');
  if (txnEntry) {
    const txn = uuidOf(decode(raw(txnEntry)));
    if (txn && !conn.txns.has(txn)) return replyError(ERR.txnNotFound);
  }
  const params = field('params') ? walkArray(raw(field('params'))) : null;
  const param = (i) => (params && params[i] ? decode(raw(field('params')).subarray(params[i].start, params[i].end)) : undefined);
  let finishedTxn = null;
  if ((method === 'commit' || method === 'cancel') && params?.length) {
    // The engine takes the transaction id from the last parameter.
    finishedTxn = uuidOf(param(params.length - 1));
    if (finishedTxn && !conn.txns.has(finishedTxn)) return replyError(ERR.txnNotFound);
  }
  if (method === 'use') {
    const guard = await guardUse(session, param(0), param(1));
    if (guard) return replyError(guard);
  }

  const r = await runGuarded(() => forward(session));
  if (finishedTxn) conn.txns.delete(finishedTxn);
  if (r.ok) {
    try {
      afterSuccess(conn, session, method, r.result, param);
    } catch (err) {
      log('ERROR', `bookkeeping after ${method} failed: ${err.message}`);
    }
  }
  return relay(r, id, sessionOut, conn, clientId);
}

// Maps what the addon throws to the server's answers for malformed requests.
async function runGuarded(fn) {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof EngineThrow)) throw err;
    if (err.message === 'Invalid request') return { thrown: ERR.invalidRequest(), withId: false };
    // A result SurrealDB cannot encode (e.g. a Regex) is reported as a parse error of
    // that call, with its id.
    if (err.message.startsWith('Unsupported value type')) return { thrown: ERR.parse(), withId: true };
    if (err.message === 'The server is gracefully shutting down') return { thrown: ERR.shuttingDown(), withId: true };
    // Anything else is a CBOR decoding failure of the request.
    return { thrown: ERR.parse(), withId: false };
  }
}

function relay(r, id, sessionOut, conn, clientId) {
  if (r.thrown) return send(conn, errorEnvelope(r.thrown, r.withId ? id : null, r.withId ? sessionOut : null));
  if (r.ok) return send(conn, okEnvelope(id, r.result, sessionOut));
  let error = r.error;
  // The engine names its private session id; the client must see its own.
  try {
    const e = decode(error);
    if (e.kind === 'NotFound' && e.details?.kind === 'Session') error = ERR.sessionNotFound(clientId ?? conn.id);
  } catch {
    // keep the engine's bytes
  }
  return send(conn, errorEnvelope(error, id, sessionOut));
}

// `use` with a database but no namespace makes the 3.0.2 RPC handler panic, which aborts
// the whole process. Answer those calls with the error a namespace-less session gets.
async function guardUse(session, ns, db) {
  if (typeof db !== 'string') return null;
  if (ns === null) return ERR.namespaceEmpty();
  if (!isNone(ns)) return null;
  // Without a namespace this query itself fails with "Specify a namespace to use".
  const r = await internal('query', session.id, [enc.text('RETURN $session.ns')]);
  const entry = r.ok ? r.value?.[0] : undefined;
  return entry?.status === 'OK' && typeof entry.result === 'string' ? null : ERR.namespaceEmpty();
}

function afterSuccess(conn, session, method, result, param) {
  if (SIGNS_IN.has(method)) {
    session.authed = true;
  } else if (method === 'invalidate') {
    session.authed = false;
  } else if (method === 'begin') {
    const txn = uuidOf(decode(result));
    if (txn) conn.txns.add(txn);
  } else if (method === 'live') {
    registerLq(uuidOf(decode(result)), session);
  } else if (method === 'kill') {
    const lq = uuidOf(param(0));
    if (lq) unregisterLq(lq);
  } else if (method === 'use') {
    const v = decode(result);
    session.nsdb = typeof v?.namespace === 'string' && typeof v?.database === 'string' ? [v.namespace, v.database] : null;
  } else if (method === 'query' && result.includes(LIVE_MARKER)) {
    // LIVE SELECT inside a query: its result entry has type "live" and the id as result.
    const v = decode(result);
    if (Array.isArray(v)) {
      for (const entry of v) {
        if (entry?.type === 'live' && entry.status === 'OK') registerLq(uuidOf(entry.result), session);
      }
    }
  }
}
const LIVE_MARKER = enc.text('live');

// `reset` on the server clears the session and kills its live queries; on an attached
// session it removes the session altogether.
async function resetSession(conn, session) {
  await killLiveQueries(session);
  await internal('reset', session.id); // the engine deletes the session
  if (session === conn.main) {
    await internal('attach', session.id);
    session.authed = false;
    session.nsdb = null;
  } else {
    if (conn.attached.get(session.clientId) === session) conn.attached.delete(session.clientId);
    conn.sessions.delete(session);
    sessionsById.delete(session.id);
  }
}

// ---------------------------------------------------------------------------------------
// Live query notifications

// The engine has one notification stream for all sessions. The server routes each
// notification to the connection that owns the live query, framed as
// {result: {action, id, record, result, session}, session?}.
async function pumpNotifications(receiver) {
  for (;;) {
    let v;
    try {
      v = await receiver.recv();
    } catch (err) {
      if (!engineFreed) log('ERROR', `notification stream failed: ${err.message}`);
      return;
    }
    if (v === null) return;
    try {
      routeNotification(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    } catch (err) {
      log('ERROR', `could not route a notification: ${err.message}`);
    }
  }
}

function routeNotification(buf) {
  const entries = walkMap(buf);
  if (!entries) return;
  const get = (k) => {
    const e = entries.find((x) => x.key === k);
    return e ? decode(buf.subarray(e.valStart, e.valEnd)) : undefined;
  };
  const lq = uuidOf(get('id'));
  const action = get('action');
  const sid = uuidOf(get('session'));
  const session = lqOwner.get(lq) ?? (sid ? sessionsById.get(sid) : undefined);
  if (!session) return debug(`dropping ${action} notification for live query ${lq}`);
  if (action === 'KILLED') unregisterLq(lq);
  else registerLq(lq, session);
  const conn = session.conn;
  if (conn.closed) return;
  counters.notifications++;
  debug(`conn ${conn.id.slice(0, 8)} notification ${action} live query ${lq}`);
  let payload = buf;
  if (session.clientId && sid === session.id) {
    // Attached sessions: the notification names the client's session id.
    const parts = [mapHeader(entries.length)];
    for (const e of entries) {
      if (e.key === 'session') parts.push(enc.text('session'), enc.uuid(session.clientId));
      else parts.push(buf.subarray(e.keyStart, e.valEnd));
    }
    payload = Buffer.concat(parts);
  }
  const pairs = [['result', payload]];
  if (session.clientId) pairs.push(['session', enc.uuid(session.clientId)]);
  send(conn, enc.map(pairs));
}

// ---------------------------------------------------------------------------------------
// HTTP and WebSocket upgrade

function httpReject(socket, status, message) {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n\r\n' + body,
  );
  socket.destroy();
}

function onHttpRequest(req, res) {
  const { pathname } = new URL(req.url, 'http://localhost');
  const text = (status, body, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return text(405, 'This test server only serves GET /health, /status, /version and WebSocket /rpc\n');
  }
  switch (pathname) {
    case '/health':
    case '/status':
      return text(200, '');
    case '/version':
      return text(200, VERSION_STRING);
    case '/rpc':
      return text(400, "Connection header did not include 'upgrade'\n");
    case '/fixture/stats':
      return text(200, `${JSON.stringify(stats())}\n`, 'application/json');
    default:
      return text(404, '');
  }
}

function stats() {
  let attached = 0;
  for (const c of connections.values()) attached += c.attached.size;
  let txns = 0;
  for (const c of connections.values()) txns += c.txns.size;
  return {
    version: VERSION_STRING,
    store: opts.store,
    connections: connections.size,
    connectionsTotal: counters.connectionsTotal,
    engineSessions: sessionsById.size,
    attachedSessions: attached,
    liveQueries: lqOwner.size,
    transactions: txns,
    requests: counters.requests,
    notifications: counters.notifications,
  };
}

const wss = new WebSocketServer({
  noServer: true,
  handleProtocols: (protocols) => (protocols.has('cbor') ? 'cbor' : false),
});

async function onUpgrade(req, socket, head) {
  socket.on('error', (err) => debug(`upgrade socket error: ${err.message}`));
  const { pathname } = new URL(req.url, 'http://localhost');
  if (pathname !== '/rpc') return httpReject(socket, 404, 'Not found');
  if (shuttingDown) return httpReject(socket, 503, 'The server is gracefully shutting down');
  const protocols = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim());
  if (!protocols.includes('cbor')) {
    return httpReject(socket, 400, 'This test server only speaks the "cbor" WebSocket sub-protocol at /rpc (no json or flatbuffers)');
  }

  let connId = randomUUID();
  const headerId = req.headers['surreal-id'];
  if (headerId !== undefined) {
    connId = uuidOf(String(headerId));
    if (!connId) return httpReject(socket, 400, 'The surreal-id header must be a UUID');
    if (connections.has(connId)) return httpReject(socket, 400, 'A connection with this surreal-id already exists');
  }

  const conn = new Connection(connId);
  connections.set(connId, conn);
  counters.connectionsTotal++;

  const r = await internal('attach', conn.main.id);
  if (!r.ok) {
    connections.delete(connId);
    sessionsById.delete(conn.main.id);
    return httpReject(socket, 400, `Could not create a session: ${r.error?.message}`);
  }

  // Authentication and ns/db from the upgrade request headers, as `surreal start` reads them.
  const auth = req.headers.authorization ?? '';
  const authNs = req.headers['surreal-auth-ns'];
  const authDb = req.headers['surreal-auth-db'];
  let authResult = null;
  if (/^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) authResult = { ok: false };
    else {
      const creds = { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
      if (authNs) creds.ns = String(authNs);
      if (authDb) creds.db = String(authDb);
      authResult = await internal('signin', conn.main.id, [enc.value(creds)]);
    }
  } else if (/^bearer /i.test(auth)) {
    authResult = await internal('authenticate', conn.main.id, [enc.text(auth.slice(7).trim())]);
  }
  if (authResult) {
    if (!authResult.ok) {
      await closeConnection(conn);
      return httpReject(socket, 401, 'There was a problem with authentication');
    }
    conn.main.authed = true;
  }
  const ns = req.headers['surreal-ns'];
  const db = req.headers['surreal-db'];
  if (ns !== undefined) {
    const u = await internal('use', conn.main.id, [enc.text(String(ns)), db !== undefined ? enc.text(String(db)) : enc.NONE]);
    if (u.ok) conn.main.nsdb = db !== undefined ? [String(ns), String(db)] : null;
    else log('WARN', `surreal-ns/surreal-db headers: ${u.error?.message}`);
  }

  if (socket.destroyed) return closeConnection(conn);
  // If the handshake fails (ws answers 400 itself), the engine session must not leak.
  let established = false;
  socket.once('close', () => {
    if (!established) closeConnection(conn);
  });
  wss.handleUpgrade(req, socket, head, (ws) => {
    established = true;
    onConnection(conn, ws);
  });
}

function onConnection(conn, ws) {
  conn.ws = ws;
  debug(`connection ${conn.id} open`);
  ws.on('message', (data) => handleFrame(conn, data));
  ws.on('error', (err) => debug(`connection ${conn.id}: ${err.message}`));
  ws.on('close', () => closeConnection(conn));
  // `surreal start` pings every WebSocket every 5 seconds.
  conn.pinger = setInterval(() => {
    if (ws.readyState === ws.OPEN) ws.ping();
  }, 5000);
}

// ---------------------------------------------------------------------------------------
// Start-up and shutdown

// Same statement as Datastore::initialise_credentials, only when no root user exists. The
// parser wants a string literal for PASSWORD (a $param is a parse error), so escape it.
function surqlString(s) {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function surqlIdent(s) {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : `\`${s.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

async function initialiseCredentials() {
  const admin = randomUUID();
  await internal('attach', admin);
  try {
    const info = await internal('query', admin, [enc.text('INFO FOR ROOT')]);
    const users = info.ok ? info.value?.[0]?.result?.users : undefined;
    if (!users) throw new Error(`INFO FOR ROOT failed: ${JSON.stringify(info.error ?? info.value?.[0]?.result)}`);
    if (Object.keys(users).length > 0) {
      log('WARN', `Credentials were provided, but existing root users were found. The root user '${opts.user}' will not be created`);
      log('WARN', 'Consider removing the --user and --pass arguments from the server start command');
      return;
    }
    log('INFO', `Initialising credentials for root user '${opts.user}'`);
    const sql = `DEFINE USER ${surqlIdent(opts.user)} ON ROOT PASSWORD ${surqlString(opts.pass)} ROLES OWNER`;
    const r = await internal('query', admin, [enc.text(sql)]);
    const status = r.ok ? r.value?.[0]?.status : undefined;
    if (status !== 'OK') throw new Error(`DEFINE USER failed: ${JSON.stringify(r.ok ? r.value?.[0]?.result : r.error?.message)}`);
    // Prove the escaping kept the password intact.
    const check = await internal('signin', admin, [enc.value({ user: opts.user, pass: opts.pass })]);
    if (!check.ok) throw new Error(`the new root user cannot sign in: ${check.error?.message}`);
  } finally {
    await internal('detach', admin);
  }
}

// The engine's own error object for an unknown transaction, so the one the front sends
// for another connection's transaction is byte-identical.
async function learnTxnNotFound() {
  const r = await execute(engineRequest('cancel', null, [enc.uuid(randomUUID())]));
  if (!r.ok) ERR.txnNotFound = r.error;
}

let shuttingDown = false;
let httpServer = null;

async function shutdown(reason) {
  if (shuttingDown) return;
  shuttingDown = true;
  log('INFO', `shutting down (${reason})`);
  const hardStop = setTimeout(() => {
    log('WARN', 'shutdown took too long, exiting');
    process.exit(0);
  }, 5000);
  hardStop.unref();
  httpServer?.close();
  for (const conn of connections.values()) conn.ws?.close(1001, 'The server is gracefully shutting down');
  await Promise.allSettled([...connections.values()].flatMap((c) => [...c.inflight]));
  if (engine) {
    engineFreed = true;
    await Promise.allSettled([...pendingEngineCalls]);
    await engine.free(); // closes the datastore (and releases the RocksDB lock at exit)
  }
  log('INFO', 'stopped');
  process.exit(0);
}

function watchParent() {
  if (opts.exitWithParent) {
    // Re-parenting (to init or a subreaper) changes ppid when the parent dies.
    const parent = process.ppid;
    const timer = setInterval(() => {
      let gone = process.ppid !== parent;
      if (!gone) {
        try {
          process.kill(parent, 0);
        } catch (err) {
          gone = err.code === 'ESRCH';
        }
      }
      if (gone) shutdown(`parent process ${parent} exited`);
    }, 200);
    timer.unref();
  }
  if (opts.exitWithPid > 0) {
    const watched = opts.exitWithPid;
    const timer = setInterval(() => {
      try {
        process.kill(watched, 0);
      } catch (err) {
        if (err.code === 'ESRCH') shutdown(`process ${watched} exited`);
      }
    }, 500);
    timer.unref();
  }
  if (opts.exitOnStdinEof) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }
}

async function main() {
  // A parent that stops reading our pipes must not crash us with EPIPE.
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  watchParent();

  if (/^surrealkv/i.test(opts.store)) {
    log('WARN', 'surrealkv loses concurrent updates in this version; use rocksdb:// for tests that check atomicity');
  }
  if (opts.allowGuests) {
    log('WARN', '--allow-guests gives anonymous callers FULL access: the embedded engine cannot apply guest permissions');
  } else if (opts.anonymousAllowed) {
    log('WARN', '--unauthenticated: anonymous callers have full access');
  }
  if (!opts.user && !opts.anonymousAllowed) {
    log('WARN', 'no --user/--pass: no root user is created, so only existing users can sign in');
  }

  const started = Date.now();
  try {
    engine = await SurrealNodeEngine.connect(opts.store, { defaults: opts.defaults });
  } catch (err) {
    fail(`could not open the store ${opts.store}: ${err.message}`);
  }
  const opened = Date.now();
  pumpNotifications(await engine.notifications());
  await learnTxnNotFound();
  if (opts.user) await initialiseCredentials();
  log('INFO', `SurrealDB ${ENGINE_VERSION} engine ready on ${opts.store}: store opened in ${opened - started} ms, `
    + `credentials in ${Date.now() - opened} ms (${Math.round(process.uptime() * 1000)} ms since process start)`);

  httpServer = http.createServer(onHttpRequest);
  httpServer.on('upgrade', (req, socket, head) => {
    onUpgrade(req, socket, head).catch((err) => {
      log('ERROR', `upgrade failed: ${err.stack ?? err}`);
      if (!socket.destroyed) httpReject(socket, 500, 'Internal error');
    });
  });
  httpServer.on('error', (err) => fail(`cannot listen on ${opts.bind}:${opts.port}: ${err.message}`));
  httpServer.listen(opts.port, opts.bind, () => {
    const { address, port } = httpServer.address();
    const host = address.includes(':') ? `[${address}]` : address;
    log('INFO', `listening on ws://${host}:${port}/rpc`);
    process.stdout.write(`LISTENING ${host}:${port}\n`);
  });
}

main().catch((err) => fail(err.stack ?? String(err)));
