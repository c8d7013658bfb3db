// The only extension code that talks to the network: sends scanned lists to the companion
// service in batches, retries what failed, keeps progress and results in storage (so a
// restart of this worker, or of the browser, resumes where it stopped) and opens the results.
'use strict';

if (typeof importScripts === 'function' && !globalThis.PASSERELLE_CONFIG) {
  importScripts('config.js'); // Chrome's service worker; Firefox lists config.js in the manifest
}

const api = globalThis.browser || globalThis.chrome;
const CONFIG = globalThis.PASSERELLE_CONFIG;
const RETRIES = 5;
const running = new Set(); // list keys being resolved by this instance of the worker
const RESUME_ALARM = 'passerelle-resume';

// -- staying awake while working -------------------------------------------------------------
// Firefox suspends an idle event page after 30 s, and Chrome its service worker: waiting on
// fetch() (a slow service) or on storage is not activity for Firefox, so a long resolve was cut
// half-way. While work is under way, a call to a parent-process extension API every 20 s keeps
// the background awake in both browsers; should it be stopped all the same (the browser is
// closed, or decides otherwise), an alarm every 30 s wakes it and the work resumes from the
// progress kept in storage (`resumeAll`).
let busy = 0;
let keepAliveTimer = null;

async function awake(work) {
  busy += 1;
  if (!keepAliveTimer) {
    keepAliveTimer = setInterval(() => { api.runtime.getPlatformInfo().catch(() => {}); }, 20000);
  }
  try {
    return await work();
  } finally {
    busy -= 1;
    if (!busy) {
      clearInterval(keepAliveTimer);
      keepAliveTimer = null;
    }
  }
}

function armResumeAlarm() {
  if (api.alarms) api.alarms.create(RESUME_ALARM, { periodInMinutes: 0.5 });
}

// A hosted service's access token lives in session storage: in memory, gone when the browser
// closes, never written to disk (local storage is). Only extension pages and this worker see it.
async function serviceToken() {
  if (!api.storage.session) return '';
  const { token } = await api.storage.session.get('token');
  return typeof token === 'string' ? token : '';
}

async function settings() {
  const { settings: s } = await api.storage.local.get('settings');
  return {
    serviceUrl: (s && s.serviceUrl) || CONFIG.defaultServiceUrl,
    networks: (s && Array.isArray(s.networks) && s.networks.length) ? s.networks : ['bluesky', 'mastodon'],
    token: await serviceToken(),
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function answerOf(response) {
  let data = null;
  try {
    data = await response.json();
  } catch (_) {
    data = null;
  }
  const retryAfter = Number(response.headers.get('Retry-After'));
  return { status: response.status, data, retryAfter: Number.isFinite(retryAfter) ? retryAfter : 0 };
}

async function post(serviceUrl, path, body, token) {
  const response = await fetch(serviceUrl.replace(/\/+$/, '') + path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders(token) },
    body: JSON.stringify(body),
  });
  return answerOf(response);
}

class Refused extends Error {} // the service said no (4xx other than 429): retrying won't help

// One batch, retried with backoff on network failures, 429s and 5xx. `onUnreachable` is
// told at the first attempt the service does not answer at all, so the user hears it within
// seconds (with how to start it) rather than after the last retry.
async function resolveBatch(cfg, accounts, onUnreachable) {
  let lastError = 'unknown';
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    let answer = null;
    try {
      answer = await post(cfg.serviceUrl, '/api/resolve', cfg.body || { accounts, networks: cfg.networks }, cfg.token);
    } catch (e) {
      lastError = e && e.message ? e.message : String(e); // the service is not reachable
      if (attempt === 0 && onUnreachable) await onUnreachable();
    }
    if (answer) {
      const { status, data } = answer;
      if (status === 200 && data && Array.isArray(data.results)) return data.results;
      lastError = (data && data.error && data.error.message) || `HTTP ${status}`;
      if (status >= 400 && status < 500 && status !== 429) throw new Refused(lastError);
      if (status === 429 && answer.retryAfter > 0) { // the service says when: wait that long
        await sleep(Math.min(120, answer.retryAfter) * 1000);
        continue;
      }
    }
    await sleep(Math.min(30000, 1000 * 2 ** attempt));
  }
  throw new Error(lastError);
}

async function setJob(key, job) {
  await api.storage.local.set({ [`job:${key}`]: { ...job, updatedAt: Date.now() } });
}

// Resolve every account of a scanned list that has no answer yet (or an upstream error).
// `open`: open the results page at the end (true when the user just clicked the button, false
// when the results page itself asks, undefined when resuming: what the job said it wanted).
function runJob(key, { open } = {}) {
  if (running.has(key)) return Promise.resolve();
  running.add(key);
  armResumeAlarm();
  return awake(() => resolveList(key, open)).finally(() => running.delete(key));
}

async function resolveList(key, openWanted) {
  let open = Boolean(openWanted);
  try {
    const cfg = await settings();
    const scanKey = `scan:${key}`;
    const resultsKey = `results:${key}`;
    const jobKey = `job:${key}`;
    const got = await api.storage.local.get([scanKey, resultsKey, jobKey]);
    const scan = got[scanKey];
    if (!scan) return;
    if (openWanted === undefined) open = Boolean(got[jobKey] && got[jobKey].open);
    const results = got[resultsKey] || {};
    const total = scan.order.length;
    const todo = (retryErrors) => scan.order.filter((h) => !results[h] || (retryErrors && results[h].error));
    const done = () => scan.order.filter((h) => results[h] && !results[h].error).length;
    const progress = (extra = {}) => setJob(key, {
      status: 'resolving', total, done: done(), networks: cfg.networks, open, ...extra,
    });
    await progress();
    for (const pass of [false, true, true]) {
      const pending = todo(pass);
      if (!pending.length) break;
      if (pass) await sleep(2000); // upstream errors: give the networks a moment
      for (let i = 0; i < pending.length; i += CONFIG.batchSize) {
        const handles = pending.slice(i, i + CONFIG.batchSize);
        const answers = await resolveBatch(cfg, handles.map((h) => scan.accounts[h]),
          () => progress({ unreachable: cfg.serviceUrl }));
        answers.forEach((r, j) => { results[handles[j]] = r; });
        await api.storage.local.set({ [resultsKey]: results });
        await progress();
      }
    }
    await setJob(key, { status: 'done', total, done: done(), failed: todo(true).length, networks: cfg.networks });
    if (open) await api.tabs.create({ url: api.runtime.getURL(`pages/results.html?list=${encodeURIComponent(key)}`) });
  } catch (e) {
    await setJob(key, { status: 'error', error: e && e.message ? e.message : String(e) });
  }
}

// -- checking again (people arrive over months) ---------------------------------------------
// Every account of a list is asked again with its earlier answer: the service looks afresh for
// those it did not find, checks that those it found still exist, marks the new ones ("new") and
// says who is gone. Answers replace the stored ones batch by batch, each marked with the check
// it belongs to, so a stopped background carries on where it stopped (`resumeAll`). The
// toolbar badge then shows how many people are new.
const rechecking = new Set();

function runRecheck(key, { scheduled = false } = {}) {
  if (rechecking.has(key) || running.has(key)) return Promise.resolve();
  rechecking.add(key);
  armResumeAlarm();
  return awake(() => recheckList(key, scheduled)).finally(() => rechecking.delete(key));
}

function newMatches(results) {
  const counts = { bluesky: 0, mastodon: 0 };
  for (const r of Object.values(results || {})) {
    for (const net of ['bluesky', 'mastodon']) if (r && r[net] && r[net].new) counts[net] += 1;
  }
  return counts;
}

async function showBadge() {
  const all = await api.storage.local.get(null);
  let n = 0;
  for (const [k, v] of Object.entries(all)) if (k.startsWith('checked:') && v && v.unseen) n += v.newCount || 0;
  const action = api.action || api.browserAction;
  if (action && action.setBadgeText) await action.setBadgeText({ text: n ? String(n) : '' });
}

// -- the schedule: saved lists checked again in the background --------------------------------
// Off, weekly or monthly (the options page; the results page asks on first use). A daily alarm
// (it survives Firefox's suspension of the event page and browser restarts) checks again each
// saved list whose last check is older than the chosen interval, one list at a time and one
// batch at a time with a pause between batches, so a schedule never floods the service. When
// people are found: the toolbar badge counts them and a notification says so.
const SCHEDULE_ALARM = 'passerelle-recheck';
const INTERVAL_DAYS = { weekly: 7, monthly: 30 };
const SCHEDULED_PAUSE_MS = 2000;

async function armSchedule() {
  if (!api.alarms) return;
  const { settings: s } = await api.storage.local.get('settings');
  const every = s && INTERVAL_DAYS[s.recheck];
  if (!every) {
    await api.alarms.clear(SCHEDULE_ALARM);
    return;
  }
  const existing = await api.alarms.get(SCHEDULE_ALARM);
  if (!existing) api.alarms.create(SCHEDULE_ALARM, { delayInMinutes: 60, periodInMinutes: 24 * 60 });
}

async function runSchedule() {
  const all = await api.storage.local.get(null);
  const s = all.settings || {};
  const every = INTERVAL_DAYS[s.recheck];
  if (!every) return;
  const now = Date.now();
  for (const k of Object.keys(all)) {
    if (!k.startsWith('scan:') || !all[`results:${k.slice(5)}`]) continue;
    const key = k.slice(5);
    const job = all[`job:${key}`];
    if (job && (job.status === 'resolving' || job.status === 'rechecking')) continue;
    const checked = all[`checked:${key}`];
    const last = (checked && checked.at) || (job && job.updatedAt) || 0;
    if (now - last < every * 24 * 3600 * 1000) continue;
    await runRecheck(key, { scheduled: true }); // one list at a time
  }
}

async function notifyNew(key, counts) {
  if (!api.notifications || !(counts.bluesky + counts.mastodon)) return;
  const note = {
    type: 'basic',
    iconUrl: api.runtime.getURL('icons/128.png'),
    title: api.i18n.getMessage('notifyNewTitle'),
    message: api.i18n.getMessage('notifyNew', [String(counts.bluesky + counts.mastodon),
      String(counts.bluesky), String(counts.mastodon)]),
  };
  const id = await api.notifications.create(`passerelle-new:${key}`, note);
  // What the browser accepted to show, kept with the list (a headless Firefox closes its
  // notifications at once, so getAll() cannot tell afterwards).
  await api.storage.local.set({ [`notified:${key}`]: { id, title: note.title, message: note.message, at: Date.now() } });
}

if (api.notifications && api.notifications.onClicked) {
  api.notifications.onClicked.addListener((id) => {
    if (!id.startsWith('passerelle-new:')) return;
    const key = id.slice('passerelle-new:'.length);
    api.tabs.create({ url: api.runtime.getURL(`pages/results.html?list=${encodeURIComponent(key)}`) });
  });
}

async function recheckList(key, scheduled = false) {
  const jobKey = `job:${key}`;
  try {
    const cfg = await settings();
    const scanKey = `scan:${key}`;
    const resultsKey = `results:${key}`;
    const got = await api.storage.local.get([scanKey, resultsKey, jobKey]);
    const scan = got[scanKey];
    if (!scan) return;
    const results = got[resultsKey] || {};
    const previous = got[jobKey];
    const startedAt = previous && previous.status === 'rechecking' ? previous.startedAt : Date.now();
    const total = scan.order.length;
    const todo = () => scan.order.filter((h) => !results[h] || results[h].checkedAt !== startedAt);
    const progress = () => setJob(key, {
      status: 'rechecking', startedAt, total, done: total - todo().length, networks: cfg.networks,
    });
    await progress();
    const pending = todo();
    for (let i = 0; i < pending.length; i += CONFIG.recheckBatchSize) {
      const handles = pending.slice(i, i + CONFIG.recheckBatchSize);
      const accounts = handles.map((h) => {
        const before = results[h];
        const prev = before && !before.error ? { bluesky: before.bluesky || null, mastodon: before.mastodon || null } : null;
        return prev ? { ...scan.accounts[h], previous: prev } : scan.accounts[h];
      });
      const body = { accounts, networks: cfg.networks, recheck: true };
      if (scheduled && i) await sleep(SCHEDULED_PAUSE_MS); // unattended: gentle on the service
      const answers = await resolveBatch({ ...cfg, body }, accounts, () => setJob(key, {
        status: 'rechecking', startedAt, total, done: total - todo().length, unreachable: cfg.serviceUrl,
      }));
      answers.forEach((r, j) => { results[handles[j]] = { ...r, checkedAt: startedAt }; });
      await api.storage.local.set({ [resultsKey]: results });
      await progress();
    }
    const counts = newMatches(results);
    const newCount = counts.bluesky + counts.mastodon;
    await api.storage.local.set({ [`checked:${key}`]: { at: Date.now(), newCount, counts, unseen: newCount > 0 } });
    await setJob(key, { status: 'done', total, done: total, failed: 0, networks: cfg.networks, rechecked: true, newCount });
    await showBadge();
    await notifyNew(key, counts);
  } catch (e) {
    await setJob(key, { status: 'error', error: e && e.message ? e.message : String(e) });
  }
}

// -- following on Bluesky, through the service ---------------------------------------------
const polling = new Set();

async function getJson(url, token) {
  return answerOf(await fetch(url, { headers: authHeaders(token) }));
}

// Asks the service how the follow job goes until it ends; keeps the answer (no credentials).
function pollFollow(key, prefix = 'follow') {
  if (polling.has(`${prefix}:${key}`)) return Promise.resolve();
  polling.add(`${prefix}:${key}`);
  armResumeAlarm();
  return awake(() => pollFollowJob(key, prefix)).finally(() => polling.delete(`${prefix}:${key}`));
}

async function pollFollowJob(key, prefix) {
  const cfg = await settings();
  for (;;) {
    const { [`${prefix}:${key}`]: job } = await api.storage.local.get(`${prefix}:${key}`);
    if (!job || !job.job) return;
    const { status, data } = await getJson(`${cfg.serviceUrl.replace(/\/+$/, '')}/api/jobs/${job.job}`, cfg.token);
    if (status !== 200 || !data) return;
    await api.storage.local.set({ [`${prefix}:${key}`]: {
      job: job.job, me: job.me, status: data.status, message: data.message, counts: data.counts,
      accounts: data.accounts, starter_packs: data.starter_packs } });
    if (data.status === 'done' || data.status === 'stopped') return;
    await sleep(1500);
  }
}

// Mastodon: the user allows Passerelle on their own server's page (a new tab); the service
// gets the token there and keeps it in memory. Here we only wait for the sign-in's id, kept in
// this worker's memory only (never in storage) so that searching and following ask once.
let mastodonSignedIn = null; // { server, session }

function errorOf(answer) {
  return (answer.data && answer.data.error && answer.data.error.message) || `HTTP ${answer.status}`;
}

async function mastodonSignIn(cfg, server) {
  if (mastodonSignedIn && mastodonSignedIn.server === server) return { ok: true, session: mastodonSignedIn.session };
  const base = cfg.serviceUrl.replace(/\/+$/, '');
  const auth = await post(base, '/api/mastodon/authorize', { server }, cfg.token);
  if (auth.status !== 200) return { ok: false, error: errorOf(auth) };
  await api.tabs.create({ url: auth.data.authorize_url });
  const deadline = Date.now() + 15 * 60 * 1000;
  let session = null;
  while (!session && Date.now() < deadline) {
    await sleep(1000);
    // The key came only to us, in the answer above: a state seen in an address is not enough.
    const { data } = await post(base, '/api/mastodon/session', { state: auth.data.state, key: auth.data.key }, cfg.token);
    if (data && data.ready) session = data.session;
  }
  if (!session) return { ok: false, error: 'no permission given' };
  mastodonSignedIn = { server, session };
  return { ok: true, session };
}

// The user's own server searches everything it federates with: asked for a profile naming
// the X account of each person not yet found on the fediverse (the service keeps only hits
// with that link back). Better answers replace the stored ones; the results page redraws.
async function searchMastodonServer(msg) {
  const cfg = await settings();
  const signIn = await mastodonSignIn(cfg, msg.server);
  if (!signIn.ok) return signIn;
  const scanKey = `scan:${msg.key}`;
  const resultsKey = `results:${msg.key}`;
  const got = await api.storage.local.get([scanKey, resultsKey]);
  const scan = got[scanKey];
  const results = got[resultsKey] || {};
  if (!scan) return { ok: false, error: 'no such list' };
  const handles = msg.handles.filter((h) => typeof h === 'string' && scan.accounts[h] && results[h]);
  let found = 0;
  for (let i = 0; i < handles.length; i += CONFIG.batchSize) {
    const part = handles.slice(i, i + CONFIG.batchSize);
    const body = { accounts: part.map((h) => scan.accounts[h]), networks: ['mastodon'], mastodon_session: signIn.session };
    const answer = await post(cfg.serviceUrl, '/api/resolve', body, cfg.token);
    if (answer.status === 401) mastodonSignedIn = null; // expired: the next click signs in again
    if (answer.status !== 200 || !answer.data || !Array.isArray(answer.data.results)) {
      return { ok: false, error: errorOf(answer), found, searched: i };
    }
    const fresh = await api.storage.local.get(resultsKey); // the page may have changed others
    const stored = fresh[resultsKey] || results;
    answer.data.results.forEach((r, j) => {
      const old = stored[part[j]];
      const better = r.mastodon && r.mastodon.level !== 'possible';
      if (!old || !better || (old.mastodon && old.mastodon.level !== 'possible')) return;
      old.mastodon = r.mastodon;
      old.candidates = { ...(old.candidates || {}), mastodon: r.candidates.mastodon || [] };
      found += 1;
    });
    await api.storage.local.set({ [resultsKey]: stored });
  }
  return { ok: true, found, searched: handles.length };
}

async function startMastodonFollow(msg) {
  const cfg = await settings();
  const base = cfg.serviceUrl.replace(/\/+$/, '');
  const signIn = await mastodonSignIn(cfg, msg.server);
  if (!signIn.ok) return signIn;
  const session = signIn.session;
  const { [`mfollow:${msg.key}`]: previous } = await api.storage.local.get(`mfollow:${msg.key}`);
  const body = { session, targets: msg.targets };
  if (previous && previous.job) body.job = previous.job;
  const started = await post(base, '/api/mastodon/follow', body, cfg.token);
  if (started.status === 401) mastodonSignedIn = null;
  if (started.status !== 202) return { ok: false, error: errorOf(started) };
  await api.storage.local.set({ [`mfollow:${msg.key}`]: { job: started.data.job, status: 'running', counts: null } });
  pollFollow(msg.key, 'mfollow');
  return { ok: true, job: started.data.job };
}

// Sign in with Bluesky: the account's own server asks the user in a new tab; the service
// keeps the tokens in memory, and gives us the session's id once they are back.
async function blueskyOAuth(cfg, handle) {
  const base = cfg.serviceUrl.replace(/\/+$/, '');
  const auth = await post(base, '/api/bluesky/authorize', { handle }, cfg.token);
  if (auth.status !== 200) return { ok: false, error: errorOf(auth) };
  await api.tabs.create({ url: auth.data.authorize_url });
  const deadline = Date.now() + 15 * 60 * 1000;
  while (Date.now() < deadline) {
    await sleep(1000);
    const { data } = await post(base, '/api/bluesky/oauth-session', { state: auth.data.state, key: auth.data.key }, cfg.token);
    if (data && data.ready) return { ok: true, session: data.session };
  }
  return { ok: false, error: 'no permission given' };
}

async function startFollow(msg) {
  const cfg = await settings();
  const base = cfg.serviceUrl.replace(/\/+$/, '');
  let session = null;
  if (msg.oauth) {
    const signedIn = await blueskyOAuth(cfg, msg.handle);
    if (!signedIn.ok) return signedIn;
    session = signedIn.session;
  } else {
    const signIn = await post(base, '/api/bluesky/session', { handle: msg.handle, app_password: msg.password }, cfg.token);
    msg.password = null;
    if (signIn.status === 401) return { ok: false, refused: true };
    if (signIn.status !== 200) return { ok: false, error: errorOf(signIn) };
    session = signIn.data.session;
  }
  const { [`follow:${msg.key}`]: previous } = await api.storage.local.get(`follow:${msg.key}`);
  const body = { session, targets: msg.targets, list: msg.list, starter_pack: msg.starterPack };
  if (previous && previous.job) body.job = previous.job; // resume the same job
  const started = await post(base, '/api/bluesky/follow', body, cfg.token);
  if (started.status !== 202) return { ok: false, error: (started.data && started.data.error && started.data.error.message) || `HTTP ${started.status}` };
  await api.storage.local.set({ [`follow:${msg.key}`]: { job: started.data.job, me: msg.handle, status: 'running', counts: null } });
  pollFollow(msg.key);
  return { ok: true, job: started.data.job };
}

// The options page's check: does the address answer, and does it take our token (an empty
// resolve costs the service nothing and answers 401 when a token is missing or wrong)?
async function checkService(msg) {
  const cfg = await settings();
  const base = (msg.url || cfg.serviceUrl).replace(/\/+$/, '');
  const token = typeof msg.token === 'string' ? msg.token : cfg.token;
  const health = await getJson(`${base}/api/health`);
  if (health.status !== 200 || !health.data) return { ok: false };
  const probe = await post(base, '/api/resolve', { accounts: [] }, token);
  return { ok: true, body: health.data, tokenOk: probe.status !== 401 };
}

api.runtime.onMessage.addListener((msg, sender, sendResponse) => {
  if (!msg || typeof msg !== 'object') return false;
  if ((msg.type === 'resolve' || msg.type === 'resume') && typeof msg.key === 'string') {
    runJob(msg.key, { open: msg.type === 'resolve' }); // 'resume' comes from the results page
    sendResponse({ ok: true });
    return false;
  }
  if (msg.type === 'recheck' && typeof msg.key === 'string') {
    runRecheck(msg.key);
    sendResponse({ ok: true });
    return false;
  }
  if (msg.type === 'seen-new' && typeof msg.key === 'string') {
    // The results page showed this list's new arrivals: the badge stops counting them.
    const k = `checked:${msg.key}`;
    api.storage.local.get(k).then(async (got) => {
      if (got[k]) await api.storage.local.set({ [k]: { ...got[k], unseen: false } });
      await showBadge();
      sendResponse({ ok: true });
    });
    return true;
  }
  if (msg.type === 'bsky-follow' && typeof msg.key === 'string' && Array.isArray(msg.targets)) {
    awake(() => startFollow(msg)).then(sendResponse, (e) => sendResponse({ ok: false, error: e && e.message }));
    return true;
  }
  if (msg.type === 'masto-follow' && typeof msg.key === 'string' && Array.isArray(msg.targets)) {
    awake(() => startMastodonFollow(msg)).then(sendResponse, (e) => sendResponse({ ok: false, error: e && e.message }));
    return true;
  }
  if (msg.type === 'masto-search' && typeof msg.key === 'string' && Array.isArray(msg.handles)) {
    awake(() => searchMastodonServer(msg)).then(sendResponse, (e) => sendResponse({ ok: false, error: e && e.message }));
    return true;
  }
  if (msg.type === 'bsky-follow-poll' && typeof msg.key === 'string') {
    pollFollow(msg.key);
    return false;
  }
  if (msg.type === 'health') {
    checkService(msg).then(sendResponse, (e) => sendResponse({ ok: false, error: e && e.message }));
    return true; // answered asynchronously
  }
  return false;
});

// A restarted worker (or browser, or an event page Firefox suspended) resumes the lists it was
// resolving and the follow jobs it was watching. It is woken by any event: the browser
// starting, the alarm armed while work is under way, a message from a page.
async function resumeAll() {
  const all = await api.storage.local.get(null);
  let unfinished = false;
  for (const [k, job] of Object.entries(all)) {
    if (!job || typeof job !== 'object') continue;
    if (k.startsWith('job:') && job.status === 'resolving') {
      unfinished = true;
      runJob(k.slice(4));
    }
    if (k.startsWith('job:') && job.status === 'rechecking') {
      unfinished = true;
      runRecheck(k.slice(4));
    }
    for (const prefix of ['follow', 'mfollow']) {
      if (k.startsWith(`${prefix}:`) && job.job && job.status && job.status !== 'done' && job.status !== 'stopped') {
        unfinished = true;
        pollFollow(k.slice(prefix.length + 1), prefix);
      }
    }
  }
  if (!unfinished && !busy && api.alarms) await api.alarms.clear(RESUME_ALARM);
}
if (api.alarms) {
  api.alarms.onAlarm.addListener((alarm) => {
    if (alarm.name === RESUME_ALARM) resumeAll();
    if (alarm.name === SCHEDULE_ALARM) awake(runSchedule);
  });
}
api.storage.onChanged.addListener((changes, area) => {
  if (area === 'local' && changes.settings) armSchedule();
});
armSchedule();
api.runtime.onStartup.addListener(resumeAll);
resumeAll();
