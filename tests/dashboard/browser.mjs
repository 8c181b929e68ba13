// The dashboard in a real browser (Debian's chromium, driven by
// puppeteer-core): sign in, submit a task and watch it go from waiting to
// Completed without a reload, search for it, open its detail and output,
// cancel another, see a dependency graph and a parent's children (live); then
// as a viewer, see no buttons a viewer may not use.
// Screenshots of each view go to --out. Run by tests/e2e/auth_test.cpp
// against an orchestrator it started; exits 1 with what went wrong.
//
//   node tests/dashboard/browser.mjs --url http://127.0.0.1:PORT --out DIR
//        --admin USER:PASSWORD --viewer USER:PASSWORD
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  if (i < 0 || i + 1 >= args.length) throw new Error(`missing ${name}`);
  return args[i + 1];
};
const url = opt('--url');
const out = opt('--out');
const [adminUser, adminPassword] = opt('--admin').split(':');
const [viewerUser, viewerPassword] = opt('--viewer').split(':');
fs.mkdirSync(out, { recursive: true });

const executablePath = process.env.CHROMIUM
  || ['/usr/lib/chromium/chromium', '/usr/bin/chromium'].find((p) => fs.existsSync(p));
if (!executablePath) {
  console.log('SKIP: no chromium (Debian package chromium; scripts/setup.sh installs it)');
  process.exit(3);
}

const step = (what) => console.log(`- ${what}`);
const visible = (sel) => `document.querySelector(${JSON.stringify(sel)}) && !document.querySelector(${JSON.stringify(sel)}).closest('.hidden')`;

async function signIn(page, user, password) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(visible('#login-form'), { timeout: 15000 });
  await page.type('#login-user', user);
  await page.type('#login-password', password);
  await page.click('#login-submit');
  await page.waitForFunction(visible('#tasks-view'), { timeout: 15000 });
}

/// The status shown in the list for the task named `name` ('' if absent).
const listedStatus = (page, name) => page.evaluate((n) => {
  for (const tr of document.querySelectorAll('#task-rows tr'))
    if (tr.children[0].textContent === n) return tr.children[1].textContent;
  return '';
}, name);

/// POST /tasks from inside the page with its session's token; the new task's id.
const postTask = (page, body) => page.evaluate(async (b) => {
  const headers = { Authorization: 'Bearer ' + sessionStorage.getItem('orch.token'),
                    'Content-Type': 'application/json' };
  return (await (await fetch('/tasks', { method: 'POST', headers, body: JSON.stringify(b) }))
    .json()).data.id;
}, body);

async function submit(page, name, command, argLines) {
  await page.$eval('#submit-name', (el) => { el.value = ''; });
  await page.$eval('#submit-command', (el) => { el.value = ''; });
  await page.$eval('#submit-args', (el) => { el.value = ''; });
  await page.type('#submit-name', name);
  await page.type('#submit-command', command);
  await page.type('#submit-args', argLines.join('\n'));
  await page.click('#submit-button');
}

const browser = await puppeteer.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
let failed = false;
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // The browser logs every 4xx it sees (the first /auth/me is a 401 by
  // design): only the page's own errors count.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      problems.push(`console: ${m.text()}`);
  });

  step('the sign-in page');
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(visible('#login-form'), { timeout: 15000 });
  await page.screenshot({ path: path.join(out, 'login.png') });
  await signIn(page, adminUser, adminPassword);
  await page.waitForFunction(() => document.getElementById('live').textContent === 'live',
                             { timeout: 15000 });
  // A reload would lose this.
  await page.evaluate(() => { window.stillThisPage = true; });

  const tag = Date.now().toString(36);
  const name = `dash-e2e-${tag}`;
  step(`submit ${name} and watch it finish, live`);
  await submit(page, name, 'sh', ['-c', 'sleep 1.5; echo hello-dashboard']);
  const seen = new Set();
  const deadline = Date.now() + 30000;
  for (;;) {
    const s = await listedStatus(page, name);
    if (s) seen.add(s);
    if (s === 'Completed') break;
    if (Date.now() > deadline) throw new Error(`${name} never showed Completed (saw ${[...seen]})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (![...seen].some((s) => ['Pending', 'Queued', 'Running'].includes(s)))
    throw new Error(`${name} was never seen waiting or running (saw ${[...seen]})`);

  step('search for it');
  await page.type('#search', `name:${name}`);
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll('#task-rows tr');
    return rows.length === 1 && document.getElementById('total').textContent === '1 task';
  }, { timeout: 10000 });
  await page.screenshot({ path: path.join(out, 'tasks.png') });

  step('open its detail and output');
  await page.click('#task-rows tr');
  await page.waitForFunction(visible('#detail-view'), { timeout: 10000 });
  await page.waitForFunction(
    () => document.getElementById('detail-output').textContent.includes('hello-dashboard'),
    { timeout: 15000 });
  await page.waitForFunction(
    () => document.getElementById('detail-events').children.length >= 3, { timeout: 10000 });
  await page.screenshot({ path: path.join(out, 'detail.png') });

  step('page through more tasks than one page holds');
  await page.click('#back');
  await page.waitForFunction(visible('#tasks-view'), { timeout: 10000 });
  const pageName = `dash-page-${tag}`;
  await page.evaluate(async (n) => {
    const tasks = Array.from({ length: 120 }, (_, i) => ({ name: `${n}-${i}`, command: 'true' }));
    const r = await fetch('/tasks/batch', {
      method: 'POST',
      headers: { Authorization: 'Bearer ' + sessionStorage.getItem('orch.token'),
                 'Content-Type': 'application/json' },
      body: JSON.stringify({ tasks }) });
    if (r.status !== 201) throw new Error(`batch: ${r.status}`);
  }, pageName);
  await page.$eval('#search', (el) => { el.value = ''; });
  await page.type('#search', `name:${pageName}`);
  const names = () => page.$$eval('#task-rows tr', (rows) => rows.map((tr) => tr.children[0].textContent));
  await page.waitForFunction(() => document.getElementById('page-info').textContent === '1–100 of 120'
    && document.querySelectorAll('#task-rows tr').length === 100, { timeout: 10000 });
  const first = await names();
  if (!(await page.evaluate(() => document.getElementById('newer').disabled)))
    throw new Error('the first page offers newer tasks');
  await page.click('#older');
  await page.waitForFunction(() => document.getElementById('page-info').textContent === '101–120 of 120'
    && document.querySelectorAll('#task-rows tr').length === 20, { timeout: 10000 });
  if (!(await page.evaluate(() => document.getElementById('older').disabled)))
    throw new Error('the last page offers older tasks');
  // The two pages together: each of the 120 once.
  const all = new Set([...first, ...(await names())]);
  if (all.size !== 120 || ![...all].every((n) => n.startsWith(pageName)))
    throw new Error(`the two pages hold ${all.size} distinct tasks of the 120`);
  await page.click('#newer');
  await page.waitForFunction(() => document.getElementById('page-info').textContent === '1–100 of 120',
                             { timeout: 10000 });

  step('cancel another');
  await page.$eval('#search', (el) => { el.value = ''; el.dispatchEvent(new Event('input')); });
  const victim = `dash-cancel-${tag}`;
  await submit(page, victim, 'sleep', ['600']);
  await page.waitForFunction((n) => [...document.querySelectorAll('#task-rows tr')]
    .some((tr) => tr.children[0].textContent === n && tr.children[1].textContent === 'Running'),
  { timeout: 20000 }, victim);
  await page.evaluate((n) => {
    for (const tr of document.querySelectorAll('#task-rows tr'))
      if (tr.children[0].textContent === n) tr.click();
  }, victim);
  await page.waitForFunction(visible('#cancel-task'), { timeout: 10000 });
  await page.click('#cancel-task');
  await page.waitForFunction(
    () => [...document.querySelectorAll('#detail-fields dd')].some((d) => d.textContent === 'Cancelled'),
    { timeout: 15000 });

  step('a dependency graph, and a click on a node');
  const parent = await postTask(page, { name: `dash-parent-${tag}`, command: 'true' });
  const child = await postTask(page, { name: `dash-child-${tag}`, command: 'true',
                                       dependencies: [parent] });
  await page.evaluate((id) => { location.hash = '#task/' + id; }, child);
  await page.waitForFunction(() => document.querySelectorAll('#detail-graph .node').length === 2,
                             { timeout: 10000 });
  await page.screenshot({ path: path.join(out, 'graph.png') });
  await page.click(`#detail-graph .node[data-id="${parent}"]`);
  await page.waitForFunction((id) => {
    const cur = document.querySelector('#detail-graph .node.current');
    return cur && cur.dataset.id === id && document.querySelectorAll('#detail-graph .node').length === 2;
  }, { timeout: 10000 }, parent);

  step('children under their parent, live, and a link back to it');
  const sleeper = (name, parent) => ({ name, command: 'sleep', args: ['600'], parent });
  const father = await postTask(page, sleeper(`dash-father-${tag}`));
  const kids = [await postTask(page, sleeper(`dash-kid-a-${tag}`, father))];
  await page.evaluate((id) => { location.hash = '#task/' + id; }, father);
  await page.waitForFunction(() => document.querySelectorAll('#children-rows tr').length === 1,
                             { timeout: 10000 });
  // One more child while the parent is shown: it appears without a reload.
  kids.push(await postTask(page, sleeper(`dash-kid-b-${tag}`, father)));
  await page.waitForFunction(() => document.querySelectorAll('#children-rows tr').length === 2,
                             { timeout: 10000 });
  await page.screenshot({ path: path.join(out, 'children.png') });
  // Cancelling the parent cancels the children: their rows say so, live.
  await page.click('#cancel-task');
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('#children-rows tr')];
    return rows.length === 2 && rows.every((tr) => tr.children[1].textContent === 'Cancelled');
  }, { timeout: 15000 });
  // Clicked in the page: the rows are redrawn as events come.
  await page.evaluate((id) => document.querySelector(`#children-rows tr[data-id="${id}"]`).click(),
                      kids[0]);
  await page.waitForFunction(visible('#detail-parent'), { timeout: 10000 });
  await page.evaluate(() => document.getElementById('parent-link').click());
  await page.waitForFunction((id) => location.hash === '#task/' + id
    && document.querySelectorAll('#children-rows tr').length === 2, { timeout: 10000 }, father);

  step('the audit log');
  await page.click('#nav-audit');
  await page.waitForFunction(visible('#audit-view'), { timeout: 10000 });
  await page.waitForFunction(() => document.querySelectorAll('#audit-rows tr').length > 0,
                             { timeout: 10000 });
  await page.screenshot({ path: path.join(out, 'audit.png') });

  step('the overview: counts, charts from the persisted samples, nodes');
  await page.click('#nav-overview');
  await page.waitForFunction(visible('#overview-view'), { timeout: 10000 });
  await page.waitForFunction(() => [...document.querySelectorAll('#counts .count')]
    .some((c) => c.querySelector('.what').textContent === 'Completed'
                 && Number(c.querySelector('.n').textContent) >= 1), { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector('#node-rows tr') !== null,
                             { timeout: 10000 });
  // Samples are persisted every second here: a chart once there are two.
  await page.waitForFunction(() => {
    if (!document.querySelector('#chart-finished .uplot')) {
      window.dispatchEvent(new HashChangeEvent('hashchange'));
      return false;
    }
    return true;
  }, { timeout: 20000, polling: 1500 });
  await page.waitForFunction(() => document.querySelector('#chart-failure .uplot') !== null,
                             { timeout: 10000 });
  const storage = await page.evaluate(async () => {
    const shown = Object.fromEntries([...document.querySelectorAll('#storage-fields dd')]
      .map((d) => [d.dataset.field, d.textContent]));
    const health = (await (await fetch('/health')).json()).data;
    return { shown, health };
  });
  if (storage.shown.backend !== storage.health.storage.backend
      || storage.shown.location !== storage.health.storage.location
      || storage.shown.instance !== storage.health.instance)
    throw new Error(`the storage card shows ${JSON.stringify(storage.shown)}`);
  await page.screenshot({ path: path.join(out, 'overview.png') });

  if (!(await page.evaluate(() => window.stillThisPage === true)))
    throw new Error('the page was reloaded');
  if (problems.length) throw new Error(problems.join('\n'));

  step('a viewer sees no buttons it may not use');
  const context = await browser.createBrowserContext();
  const viewer = await context.newPage();
  await viewer.setViewport({ width: 1280, height: 800 });
  await signIn(viewer, viewerUser, viewerPassword);
  await viewer.waitForFunction((n) => [...document.querySelectorAll('#task-rows tr')]
    .some((tr) => tr.children[0].textContent === n), { timeout: 10000 }, victim);
  if (await viewer.evaluate(() => !document.getElementById('submit-form').classList.contains('hidden')))
    throw new Error('a viewer sees the submit form');
  if (await viewer.evaluate(() => !document.getElementById('nav-audit').classList.contains('hidden')))
    throw new Error('a viewer sees the audit log link');
  // Cancelled: an operator would see Retry here.
  await viewer.evaluate((n) => {
    for (const tr of document.querySelectorAll('#task-rows tr'))
      if (tr.children[0].textContent === n) tr.click();
  }, victim);
  await viewer.waitForFunction(visible('#detail-view'), { timeout: 10000 });
  await viewer.waitForFunction(() => document.getElementById('detail-fields').children.length > 0,
                               { timeout: 10000 });
  const buttons = await viewer.evaluate(() => ['cancel-task', 'retry-task']
    .filter((id) => !document.getElementById(id).classList.contains('hidden')));
  if (buttons.length) throw new Error(`a viewer sees ${buttons.join(', ')}`);
  await viewer.screenshot({ path: path.join(out, 'viewer-detail.png') });
  console.log('dashboard: every step passed');
} catch (e) {
  failed = true;
  console.log(`FAILED: ${e.stack || e}`);
  // What the first page showed then, to read the failure by.
  for (const p of (await browser.pages()).slice(0, 2))
    await p.screenshot({ path: path.join(out, 'failed.png') }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
