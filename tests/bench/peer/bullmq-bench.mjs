// The peer in the benchmark suite: BullMQ on a private redis-server (loopback,
// appendonly with appendfsync always, so an acknowledged job is on disk as an
// acknowledged task is in the orchestrator), in the shapes bench_api and
// bench_storage measure on the orchestrator:
//
//   submit   queue.add with 64 in flight
//   batch    queue.addBulk, 1,000 jobs per call, 4 calls in flight
//   claim    a worker at concurrency 100 over a backlog of no-op jobs
//   e2e      a worker at concurrency 4 whose jobs spawn `true`, from the first
//            add to the last completion
//   latency  one job at a time on an idle queue: from the client calling add
//            to the worker starting it, p50 and p99
//
//   node tests/bench/peer/bullmq-bench.mjs [--shapes submit,batch,claim,e2e,latency]
//        [--tasks N] [--batch-tasks N] [--claim-tasks N] [--e2e-tasks N] [--samples N]
//
// redis-server is started on a free port in a temp directory and stopped at
// the end, also on failure. Prints "RESULT <shape>.bullmq <value>" lines for
// scripts/bench.sh, and for submit, batch and claim also redis-server's CPU
// per operation ("RESULT cpu_<shape>.bullmq <microseconds>"). Run by hand,
// never by the test command.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Queue, Worker } from 'bullmq';

const { values: opt } = parseArgs({
  options: {
    shapes: { type: 'string', default: 'submit,batch,claim,e2e,latency' },
    tasks: { type: 'string', default: '20000' },
    'batch-tasks': { type: 'string', default: '50000' },
    'claim-tasks': { type: 'string', default: '20000' },
    'e2e-tasks': { type: 'string', default: '2000' },
    samples: { type: 'string', default: '300' },
  },
});
const shapes = new Set(opt.shapes.split(','));
const n = (name) => Number.parseInt(opt[name], 10);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    c.once('error', () => resolve(false));
    c.once('connect', () => c.write('PING\r\n'));
    c.once('data', (d) => {
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

async function startRedis() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-redis-'));
  const port = await freePort();
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
    '--protected-mode', 'no'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const stop = () => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  for (const sig of ['SIGINT', 'SIGTERM'])
    process.on(sig, () => process.exit(130));
  const deadline = Date.now() + 10000;
  while (!(await ping(port))) {
    if (Date.now() > deadline || proc.exitCode !== null)
      throw new Error('redis-server did not start (is the redis-server package installed?)');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { port, stop, pid: proc.pid };
}

/// CPU seconds (user + system) process `pid` has used so far, from
/// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/// Redis's CPU per operation since `from` (cpuSeconds), in microseconds:
/// the peer's side of the orchestrator's CPU per operation.
function redisCpu(shape, from, ops, what) {
  const us = (1e6 * (cpuSeconds(redis.pid) - from)) / ops;
  result(`cpu_${shape}`, us, 'us/op', `redis-server CPU per ${what}`);
}

function result(shape, value, unit, detail) {
  console.log(`${shape.padEnd(9)} ${'bullmq'.padEnd(20)} ${value.toFixed(1).padStart(10)} ${unit.padEnd(9)} ${detail}`);
  console.log(`RESULT ${shape}.bullmq ${value.toFixed(3)}`);
}

/// `inFlight` loops calling `one(i)` until `work` calls are made.
async function inParallel(inFlight, work, one) {
  let next = 0;
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < work)
      await one(next++);
  }));
}

/// Resolves once `worker` has completed `count` jobs.
function completions(worker, count) {
  return new Promise((resolve, reject) => {
    let done = 0;
    worker.on('completed', () => { if (++done === count) resolve(); });
    worker.on('failed', (_job, err) => reject(err));
  });
}

const redis = await startRedis();
const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
const seconds = (t0) => (performance.now() - t0) / 1000;
let queues = 0;
const freshQueue = () => new Queue(`bench${++queues}`, { connection });

try {
  if (shapes.has('submit')) {
    const q = freshQueue();
    const tasks = n('tasks');
    const t0 = performance.now(), cpu0 = cpuSeconds(redis.pid);
    await inParallel(64, tasks, () => q.add('job', { command: 'true' }));
    result('submit', tasks / seconds(t0), 'tasks/s', `${tasks} queue.add, 64 in flight`);
    redisCpu('submit', cpu0, tasks, 'queue.add');
    await q.close();
  }
  if (shapes.has('batch')) {
    const q = freshQueue();
    const total = n('batch-tasks');
    const jobs = Array.from({ length: 1000 }, () => ({ name: 'job', data: { command: 'true' } }));
    const calls = Math.max(1, Math.floor(total / 1000));
    const t0 = performance.now(), cpu0 = cpuSeconds(redis.pid);
    await inParallel(4, calls, () => q.addBulk(jobs));
    result('batch', (calls * 1000) / seconds(t0), 'tasks/s', `${calls} addBulk of 1000, 4 in flight`);
    redisCpu('batch', cpu0, calls * 1000, 'job of an addBulk');
    await q.close();
  }
  if (shapes.has('claim')) {
    const q = freshQueue();
    const count = n('claim-tasks');
    const jobs = Array.from({ length: 1000 }, () => ({ name: 'job', data: {} }));
    for (let left = count; left > 0; left -= 1000)
      await q.addBulk(jobs.slice(0, Math.min(1000, left)));
    const t0 = performance.now(), cpu0 = cpuSeconds(redis.pid);
    const w = new Worker(q.name, async () => {}, { connection, concurrency: 100 });
    await completions(w, count);
    result('claim_100', count / seconds(t0), 'cycles/s', `${count} no-op jobs, worker concurrency 100`);
    redisCpu('claim_100', cpu0, count, 'job taken and completed');
    await w.close();
    await q.close();
  }
  if (shapes.has('e2e')) {
    const q = freshQueue();
    const count = n('e2e-tasks');
    const run = () => new Promise((resolve, reject) => {
      const p = spawn('true', [], { stdio: 'ignore' });
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
    });
    const w = new Worker(q.name, run, { connection, concurrency: 4 });
    const done = completions(w, count);
    const t0 = performance.now();
    await inParallel(4, count, () => q.add('job', { command: 'true' }));
    await done;
    result('e2e', count / seconds(t0), 'tasks/s', `${count} jobs spawning \`true\`, concurrency 4`);
    await w.close();
    await q.close();
  }
  if (shapes.has('latency')) {
    const q = freshQueue();
    const samples = n('samples');
    let started;
    const w = new Worker(q.name, async () => { started(performance.now()); }, { connection, concurrency: 4 });
    await w.waitUntilReady();
    const ms = [];
    for (let i = 0; i < samples; ++i) {
      const begun = new Promise((resolve) => { started = resolve; });
      const finished = new Promise((resolve) => w.once('completed', resolve));
      const t0 = performance.now();
      await q.add('job', { command: 'true' });
      ms.push((await begun) - t0);
      await finished;
    }
    ms.sort((a, b) => a - b);
    const at = (p) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))];
    result('p50', at(0.5), 'ms', `add-to-start, ${samples} samples`);
    result('p99', at(0.99), 'ms', 'add-to-start, idle queue, worker concurrency 4');
    await w.close();
    await q.close();
  }
} finally {
  redis.stop();
}
process.exit(0);
