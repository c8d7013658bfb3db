// The results page: one row per X account beside its Bluesky and fediverse matches, with
// levels, reasons on demand, other candidates, filters, search, selection and exports.
// Everything from X or the networks is inserted as text (see `h` in common.js).
'use strict';

const MASTODON_DAILY_FOLLOWS = 400; // mastodon/mastodon app/lib/rate_limiter.rb
const PRESELECTED = new Set(['confirmed', 'likely']);
const labels = { bluesky: t('columnBluesky'), mastodon: t('columnFediverse') }; // once, not per row
const params = new URLSearchParams(location.search);
const state = {
  key: null,
  scan: null,
  results: {}, // handle (lowercase) → the service's answer, as stored
  view: {}, // the same, settled over the whole list: one destination, one owner (owners.js)
  rows: [], // { handle, row, haystack, account, result }
  selected: { bluesky: new Set(), mastodon: new Set() },
  // Boxes the user ticked or unticked: theirs to keep. The others follow the pre-selection,
  // which may change as later batches arrive (a destination claimed with stronger proof).
  touched: { bluesky: new Set(), mastodon: new Set() },
  // A Bridgy Fed mirror brings the posts of someone's account on the other network: ticked by
  // default only for a user who will not follow people there ("I only use Mastodon").
  onlyUse: { bluesky: false, mastodon: false },
  packUrl: null, // the starter pack made from this list, once there is one
  // The user's verdict on `possible` matches (suggestions): handle → 'yes' | 'no', kept in
  // storage with the list. A 'yes' ticks the match, a 'no' sets it aside; never ticked before.
  reviews: { bluesky: {}, mastodon: {} },
  reviewAt: -1, // index in pendingReviews() of the suggestion under review, -1 when not reviewing
};

// A reason in words, in the user's language; the slug when the extension does not know it.
function reasonText(slug, match) {
  const key = `reason_${slug.replace(/-/g, '_')}`;
  const text = slug === 'claimed-by-other' ? t(key, [match.claimed_by || '?']) : t(key);
  return text === key ? slug : text;
}

function levelText(level) {
  return t({ confirmed: 'levelConfirmed', likely: 'levelLikely', possible: 'levelPossible' }[level] || 'levelPossible');
}

function matchCell(net, handle, match, candidates) {
  // data-label: the network's name above the match when rows become cards (narrow windows).
  const td = h('td', { 'data-net': net, 'data-label': net === 'bluesky' ? labels.bluesky : labels.mastodon });
  if (!match) {
    td.append(h('span', { class: 'none', text: t('noMatch') }));
  } else {
    const id = net === 'bluesky' ? match.handle : match.acct;
    const box = h('input', {
      type: 'checkbox', 'data-testid': `select-${net}`, 'aria-label': id,
      checked: state.selected[net].has(handle),
      onchange: (e) => {
        state.touched[net].add(handle);
        if (e.target.checked) state.selected[net].add(handle);
        else state.selected[net].delete(handle);
        showSelected();
      },
    });
    const url = safeUrl(match.url);
    // Shown as people read it (Unicode server names); `data-id` keeps the address as the
    // networks and Mastodon's import file write it.
    const shown = `@${readableAddress(id)}`;
    const label = url
      ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', 'data-testid': `${net}-link`, 'data-id': id, text: shown })
      : h('span', { 'data-testid': `${net}-link`, 'data-id': id, text: shown });
    const reasons = h('ul', { class: 'reasons', hidden: true, 'data-testid': `${net}-reasons` },
      ...(match.reasons || []).map((r) => h('li', { 'data-reason': r, text: reasonText(r, match) })));
    const badge = h('button', {
      type: 'button', class: `badge ${match.level}`, 'data-testid': `${net}-level`,
      'data-level': match.level, title: t('reasonsLabel'), text: levelText(match.level),
      onclick: () => { reasons.hidden = !reasons.hidden; },
    });
    const info = h('div', {}, avatarImage(match.avatar),
      h('div', { class: 'name', text: match.display_name || '' }),
      h('div', { class: 'handle' }, label, match.bridged ? ' ' : null,
        match.bridged ? h('span', { class: 'bridged', 'data-testid': `${net}-bridged`, text: t('bridged') }) : null),
      badge, reasons);
    const div = h('div', { class: 'match' }, box, info);
    if (match.gone) {
      // Gone since the last check: said so, never offered (there is nobody to follow).
      box.disabled = true;
      div.classList.add('gone');
      info.prepend(h('div', { class: 'suggestion-label', 'data-testid': `${net}-gone`, text: t('goneLabel') }));
    } else if (match.level === 'possible') suggestionParts(net, handle, div, info);
    td.append(div);
  }
  const others = (candidates && candidates[net]) || [];
  if (others.length) {
    td.append(h('details', { 'data-testid': `${net}-candidates` },
      h('summary', { text: `${t('otherCandidates')} (${others.length})` }),
      ...others.map((c) => {
        const cid = net === 'bluesky' ? c.handle : c.acct;
        const url = safeUrl(c.url);
        return h('div', {},
          url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer', text: `@${readableAddress(cid)}` })
            : h('span', { text: `@${readableAddress(cid)}` }),
          ` ${c.display_name || ''} · ${levelText(c.level)} · ${(c.reasons || []).map((r) => reasonText(r, c)).join(', ')}`);
      })));
  }
  return td;
}

// A `possible` match is a suggestion: set apart, with the user's yes or no (and an undo).
function suggestionParts(net, handle, div, info) {
  const verdict = state.reviews[net][handle];
  div.classList.add('suggestion');
  if (verdict === 'no') div.classList.add('rejected');
  info.prepend(h('div', { class: 'suggestion-label', 'data-testid': `${net}-suggestion`,
    'data-verdict': verdict || '', text: verdict === 'no' ? t('rejectedLabel') : t('suggestionLabel') }));
  const actions = verdict
    ? [h('button', { type: 'button', 'data-testid': `${net}-undo`, text: t('undoReview'), onclick: () => review(net, handle, null) })]
    : [h('button', { type: 'button', 'data-testid': `${net}-accept`, text: t('acceptSuggestion'), onclick: () => review(net, handle, 'yes') }),
      h('button', { type: 'button', 'data-testid': `${net}-reject`, text: t('rejectSuggestion'), onclick: () => review(net, handle, 'no') })];
  info.append(h('div', { class: 'review-actions' }, ...actions));
}

async function review(net, handle, verdict) {
  if (verdict) state.reviews[net][handle] = verdict;
  else delete state.reviews[net][handle];
  state.touched[net].add(handle);
  if (verdict === 'yes') state.selected[net].add(handle);
  else state.selected[net].delete(handle);
  const i = state.rows.findIndex((r) => r.handle === handle);
  if (i >= 0) {
    const fresh = buildRow(handle);
    fresh.row.hidden = state.rows[i].row.hidden;
    state.rows[i].row.replaceWith(fresh.row);
    state.rows[i] = fresh;
  }
  showSelected();
  showReviewButton();
  await api.storage.local.set({ [`reviews:${state.key}`]: state.reviews });
}

// The suggestions not reviewed yet, in list order: [handle, network].
function pendingReviews() {
  const out = [];
  for (const r of state.rows) {
    for (const net of ['bluesky', 'mastodon']) {
      const m = r.result && r.result[net];
      if (m && m.level === 'possible' && !m.gone && !state.reviews[net][r.handle]) out.push([r.handle, net]);
    }
  }
  return out;
}

function showReviewButton() {
  const n = pendingReviews().length;
  const button = document.getElementById('review');
  button.hidden = n === 0;
  // The first step stays in its place (nothing below it moves as suggestions arrive); with
  // nothing to review, it says so.
  const help = document.getElementById('review-help');
  const key = n || state.reviewAt >= 0 ? 'stepReviewHelp' : 'stepReviewNone';
  if (help.dataset.i18n !== key) {
    help.dataset.i18n = key;
    help.textContent = t(key);
  }
  button.textContent = t('reviewButton', [fmt(n)]);
  if (state.reviewAt >= 0) showReviewStep();
}

// "Review the suggestions": one at a time, its row outlined, answered with buttons or keys.
function startReview() {
  state.reviewAt = 0;
  document.getElementById('review-panel').hidden = false;
  showReviewStep();
  document.getElementById('review-panel').focus();
}

function stopReview() {
  const panel = document.getElementById('review-panel');
  const focusWasHere = panel.contains(document.activeElement) || document.activeElement === document.body;
  state.reviewAt = -1;
  panel.hidden = true;
  for (const r of state.rows) r.row.classList.remove('reviewing');
  showReviewButton();
  // Keyboard users go on from where the review began, not from the last row it showed.
  if (focusWasHere) {
    const button = document.getElementById('review');
    (button.hidden ? document.getElementById('list-title') : button).focus();
  }
}

function showReviewStep() {
  const pending = pendingReviews();
  for (const r of state.rows) r.row.classList.remove('reviewing');
  const text = document.getElementById('review-text');
  if (!pending.length) {
    text.textContent = t('reviewFinished');
    return;
  }
  state.reviewAt = Math.min(state.reviewAt, pending.length - 1);
  const [handle, net] = pending[state.reviewAt];
  const r = state.rows.find((x) => x.handle === handle);
  const m = r.result[net];
  const id = `@${readableAddress(net === 'bluesky' ? m.handle : m.acct)}`;
  text.textContent = t('reviewProgress', [fmt(state.reviewAt + 1), fmt(pending.length), r.account.handle, id,
    (m.reasons || []).map((x) => reasonText(x, m)).join(', ')]);
  text.dataset.reviewing = r.account.handle; // not data-handle: that names rows (API hooks)
  text.dataset.net = net;
  r.row.hidden = false;
  r.row.classList.add('reviewing');
  r.row.scrollIntoView({ block: 'center' });
}

function answerReview(verdict) {
  const pending = pendingReviews();
  if (state.reviewAt < 0 || !pending.length) return;
  const [handle, net] = pending[state.reviewAt];
  if (verdict) review(net, handle, verdict); // the list of pending shrinks: same index, next one
  else state.reviewAt = (state.reviewAt + 1) % pending.length;
  showReviewStep();
}

document.addEventListener('keydown', (e) => {
  if (state.reviewAt < 0 || e.ctrlKey || e.metaKey || e.altKey) return;
  if (e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName)) return;
  const key = e.key.toLowerCase();
  if (key === 'y' || key === 'o') answerReview('yes'); // "oui"
  else if (key === 'n') answerReview('no');
  else if (key === 's' || key === 'p') answerReview(null); // "passer"
  else if (key === 'escape') stopReview();
  else return;
  e.preventDefault();
});

// Avatars come from X, the Bluesky CDN and every fediverse server: https only, no referrer.
function avatarImage(url) {
  const safe = safeUrl(url);
  if (!safe || !safe.startsWith('https://')) {
    return h('div', { class: 'avatar', 'aria-hidden': 'true' });
  }
  return h('img', { class: 'avatar', src: safe, alt: '', loading: 'lazy', referrerpolicy: 'no-referrer' });
}

function isNewRow(result) {
  return !!(result && ((result.bluesky && result.bluesky.new) || (result.mastodon && result.mastodon.new)));
}

function buildRow(handle) {
  const account = state.scan.accounts[handle];
  const result = state.view[handle] || null;
  const xUrl = `https://x.com/${encodeURIComponent(account.handle)}`;
  const who = h('td', {},
    h('div', { class: 'who' },
      avatarImage(account.avatar),
      h('div', {},
        h('div', { class: 'name', 'data-testid': 'x-name', text: account.name || account.handle }),
        isNewRow(result) ? h('span', { class: 'new-badge', 'data-testid': 'new-badge', text: t('newBadge') }) : null,
        h('a', { class: 'handle', href: xUrl, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'x-handle', text: `@${account.handle}` }),
        account.follows_you ? h('div', { class: 'handle', text: t('filterFollowsYou') }) : null,
        result && result.error ? h('div', { class: 'error', 'data-testid': 'row-error', text: t('errorRow') }) : null)));
  const bsky = result ? result.bluesky : null;
  const masto = result ? result.mastodon : null;
  for (const [net, m] of [['bluesky', bsky], ['mastodon', masto]]) {
    const verdict = state.reviews[net][handle];
    if (m && m.gone) { // gone since the last check: nothing to follow
      state.selected[net].delete(handle);
      continue;
    }
    if (m && m.level === 'possible' && verdict) { // the user's review of a suggestion holds
      state.touched[net].add(handle);
      if (verdict === 'yes') state.selected[net].add(handle);
      else state.selected[net].delete(handle);
      continue;
    }
    // Pre-selected unless the user decided otherwise for this row.
    if (state.touched[net].has(handle)) continue;
    if (m && PRESELECTED.has(m.level) && (!m.bridged || state.onlyUse[net])) state.selected[net].add(handle);
    else state.selected[net].delete(handle);
  }
  const isNew = isNewRow(result);
  const row = h('tr', { 'data-testid': 'row', 'data-handle': account.handle, ...(isNew ? { 'data-new': 'true' } : {}) },
    who, matchCell('bluesky', handle, bsky, result && result.candidates),
    matchCell('mastodon', handle, masto, result && result.candidates));
  const haystack = [account.handle, account.name, bsky && bsky.handle, bsky && bsky.display_name,
    masto && masto.acct, masto && readableAddress(masto.acct), masto && masto.display_name].filter(Boolean).join(' ').toLowerCase();
  return { handle, row, haystack, account, result, isNew };
}

function applyFilters() {
  const q = document.getElementById('search').value.trim().toLowerCase();
  const level = document.getElementById('level').value;
  const net = document.getElementById('network').value;
  const notFound = document.getElementById('notfound').checked;
  const followsYou = document.getElementById('followsyou').checked;
  const onlyNew = document.getElementById('onlynew').checked;
  let shown = 0;
  for (const r of state.rows) {
    const res = r.result || {};
    const matches = net ? [res[net]] : [res.bluesky, res.mastodon];
    let show = true;
    if (q && !r.haystack.includes(q)) show = false;
    if (show && level && !matches.some((m) => m && m.level === level)) show = false;
    if (show && net && !level && !notFound && !res[net]) show = false;
    if (show && notFound && matches.some((m) => m)) show = false;
    if (show && followsYou && !r.account.follows_you) show = false;
    if (show && onlyNew && !r.isNew) show = false;
    r.row.hidden = !show;
    if (show) shown++;
  }
  const filtered = q || level || net || notFound || followsYou || onlyNew;
  document.getElementById('shown').textContent = filtered
    ? t('shownCount', [fmt(shown), fmt(state.rows.length)]) : '';
}

// -- checking again --------------------------------------------------------------------------
function newRows() {
  return state.rows.filter((r) => r.isNew);
}

function showNew() {
  const rows = newRows();
  const button = document.getElementById('follow-new');
  const nets = { bluesky: 0, mastodon: 0 };
  for (const r of rows) for (const net of Object.keys(nets)) if (r.result[net] && r.result[net].new) nets[net] += 1;
  button.hidden = rows.length === 0;
  button.textContent = t('followNew', [fmt(nets.bluesky), fmt(nets.mastodon)]);
  const status = document.getElementById('recheck-status');
  if (!state.rechecking) {
    status.textContent = state.checkedAt ? t('newSinceLastCheck', [fmt(rows.length), new Date(state.checkedAt).toLocaleDateString()]) : '';
  }
  if (rows.length && state.key && !state.newSeen) {
    state.newSeen = true;
    api.runtime.sendMessage({ type: 'seen-new', key: state.key });
  }
}

// "Follow the N new": only the new arrivals stay selected, and the follow panels open; the
// usual sign-ins follow them (nothing is stored).
function selectOnlyNew() {
  for (const net of ['bluesky', 'mastodon']) {
    state.selected[net].clear();
    for (const r of newRows()) {
      if (r.result[net] && r.result[net].new) state.selected[net].add(r.handle);
      state.touched[net].add(r.handle);
    }
  }
  for (const r of state.rows) {
    for (const net of ['bluesky', 'mastodon']) {
      state.touched[net].add(r.handle);
      const box = r.row.querySelector(`[data-testid="select-${net}"]`);
      if (box) box.checked = state.selected[net].has(r.handle);
    }
  }
  document.getElementById('onlynew').checked = true;
  applyFilters();
  showSelected();
  openPanels(['follow-bsky', 'follow-masto']);
}

// The primary actions open their sign-in (one network's, or both), and bring it into view
// with the focus on its first field: the page is a guide, not a wall of folded panels.
function openPanels(ids) {
  for (const id of ids) document.getElementById(id).hidden = false;
  for (const b of document.querySelectorAll('.actions [aria-controls]')) {
    const controls = b.getAttribute('aria-controls').split(' ');
    b.setAttribute('aria-expanded', String(controls.every((id) => !document.getElementById(id).hidden)));
  }
  const first = document.getElementById(ids[0]);
  first.scrollIntoView({ block: 'nearest' });
  const field = first.querySelector('input:not([type=hidden]):not(:disabled)');
  if (field) field.focus({ preventScroll: true });
}

// The schedule is the user's choice, asked once, after a list's first check.
async function askSchedule() {
  const { settings: s } = await api.storage.local.get('settings');
  document.getElementById('schedule-prompt').hidden = !!(s && s.recheck);
}

async function chooseSchedule(value) {
  const { settings: s } = await api.storage.local.get('settings');
  await api.storage.local.set({ settings: { ...(s || {}), recheck: value } });
  document.getElementById('schedule-prompt').hidden = true;
  document.getElementById('recheck-status').textContent = t(`scheduleChosen_${value}`);
}

function checkAgain() {
  if (!state.key || state.rechecking) return;
  state.rechecking = true;
  state.newSeen = false;
  document.getElementById('recheck').disabled = true;
  api.runtime.sendMessage({ type: 'recheck', key: state.key });
}

function showCounts() {
  const n = state.rows.length;
  let b = 0;
  let m = 0;
  let none = 0;
  let answered = 0;
  for (const r of state.rows) {
    const res = r.result || {};
    if (r.result) answered++;
    if (res.bluesky) b++;
    if (res.mastodon) m++;
    if (r.result && !res.bluesky && !res.mastodon) none++;
  }
  document.getElementById('counts').textContent = t('countsSummary', [fmt(n), fmt(b), fmt(m), fmt(none)]);
  // What was found, in one sentence: the page's first line.
  const total = state.scan ? state.scan.order.length : n;
  const key = !answered ? 'summaryWaiting' : b || m ? 'summaryFound' : 'summaryNone';
  document.getElementById('summary-text').textContent = t(key, [fmt(total), fmt(b), fmt(m)]);
}

function showSelected() {
  document.getElementById('selected').textContent =
    t('selectedCount', [fmt(state.selected.bluesky.size), fmt(state.selected.mastodon.size)]);
  document.getElementById('bsky-follow').textContent = t('followSelected', [fmt(state.selected.bluesky.size)]);
  const nb = state.selected.bluesky.size;
  const nm = state.selected.mastodon.size;
  const actionB = document.getElementById('action-bluesky');
  const actionM = document.getElementById('action-mastodon');
  actionB.textContent = t('actionFollowBluesky', [fmt(nb)]);
  actionM.textContent = t('actionFollowMastodon', [fmt(nm)]);
  document.getElementById('action-both').hidden = nb === 0 || nm === 0;
  document.getElementById('masto-follow').textContent = t('mastoFollowSelected', [fmt(state.selected.mastodon.size)]);
  const unmatched = notFoundOnFediverse().length;
  const search = document.getElementById('masto-search');
  search.textContent = t('mastoSearchUnmatched', [fmt(unmatched)]);
  search.disabled = unmatched === 0;
  // Mastodon's daily follow limit (about 400; mastodon/mastodon app/lib/rate_limiter.rb): said
  // before starting, with the days it takes and the import file as the other road.
  const plan = document.getElementById('masto-plan');
  const n = state.selected.mastodon.size;
  plan.hidden = n <= MASTODON_DAILY_FOLLOWS;
  if (!plan.hidden) plan.textContent = t('mastoDailyPlan', [fmt(n), fmt(Math.ceil(n / MASTODON_DAILY_FOLLOWS))]);
}


// People with no fediverse match worth ticking: what the user's own server may still find.
function notFoundOnFediverse() {
  return state.rows
    .filter((r) => r.result && !r.result.error && (!r.result.mastodon || r.result.mastodon.level === 'possible'))
    .map((r) => r.handle);
}

async function searchMyServer() {
  await rendered();
  const handles = notFoundOnFediverse();
  const status = document.getElementById('masto-status');
  status.textContent = t('mastoSearching', [fmt(handles.length)]);
  const answer = await api.runtime.sendMessage({
    type: 'masto-search', key: state.key, server: document.getElementById('masto-server').value.trim(), handles,
  });
  status.dataset.status = answer && answer.ok ? 'searched' : 'stopped';
  status.textContent = answer && answer.ok ? t('mastoSearchDone', [fmt(answer.found), fmt(answer.searched)])
    : t('followStopped', [(answer && answer.error) || '']);
}

async function followOnMastodon() {
  await rendered();
  const targets = state.rows
    .filter((r) => state.selected.mastodon.has(r.handle) && r.result && r.result.mastodon)
    .map((r) => ({ acct: r.result.mastodon.acct, x: r.account.handle }));
  const status = document.getElementById('masto-status');
  status.textContent = t('mastoWaiting');
  const answer = await api.runtime.sendMessage({
    type: 'masto-follow', key: state.key, server: document.getElementById('masto-server').value.trim(), targets,
  });
  if (!answer || !answer.ok) status.textContent = t('followStopped', [(answer && answer.error) || '']);
}

function showMastodonFollow(job) {
  if (!job || !job.counts) return;
  showJobText(document.getElementById('masto-status'), job);
  showOutcomes('mastodon', job.accounts || {});
}

// -- following on Bluesky ----------------------------------------------------------------------
// The app password goes to the background in one message, which signs in at the service and
// forgets it; it is cleared from the page at once and never stored.
// With an app password, or with `oauth`: Sign in with Bluesky on the account's own server
// (a new tab), where no password of Passerelle's is ever typed.
async function followOnBluesky(oauth = false) {
  const handle = document.getElementById('bsky-handle').value.trim();
  const pw = document.getElementById('bsky-password');
  const password = oauth ? null : pw.value;
  pw.value = '';
  await rendered();
  const targets = state.rows
    .filter((r) => state.selected.bluesky.has(r.handle) && r.result && r.result.bluesky)
    .map((r) => ({ did: r.result.bluesky.did, handle: r.result.bluesky.handle, x: r.account.handle }));
  const status = document.getElementById('follow-status');
  status.textContent = t('followSigningIn');
  const answer = await api.runtime.sendMessage({
    type: 'bsky-follow', key: state.key, handle, password, oauth, targets,
    list: document.getElementById('bsky-list').value.trim() || null,
    starterPack: document.getElementById('bsky-pack').value.trim() || null,
  });
  if (!answer || !answer.ok) status.textContent = answer && answer.refused ? t('followRefused') : t('followStopped', [(answer && answer.error) || '']);
}

function updateAnnouncement() {
  const text = announcement(document.getElementById('announce-lang').value,
    document.getElementById('my-bluesky').value, document.getElementById('my-fediverse').value,
    state.packUrl);
  document.getElementById('announce-text').value = text;
}

// The line that tells how a follow job goes.
function showJobText(status, job) {
  const c = job.counts || { followed: 0, skipped: 0, failed: 0, pending: 0 };
  if (job.status === 'done') {
    status.textContent = t('followDone', [fmt(c.followed), fmt(c.skipped), fmt(c.failed)]);
    if (c.unavailable) status.textContent += ' ' + t('followGone', [fmt(c.unavailable)]);
  }
  else if (job.status === 'stopped') status.textContent = t('followStopped', [job.message || '']);
  else status.textContent = t('followProgress', [fmt(c.followed), fmt(c.skipped), fmt(c.failed), fmt(c.pending), job.message || '']);
  status.dataset.status = job.status;
}

function showFollow(job) {
  if (!job) return;
  if (job.me && !document.getElementById('my-bluesky').value) document.getElementById('my-bluesky').value = job.me;
  const packs = Object.values(job.starter_packs || {});
  if (packs.length) state.packUrl = starterPackUrl(packs[0]);
  updateAnnouncement();
  showJobText(document.getElementById('follow-status'), job);
  showOutcomes('bluesky', job.accounts || {});
}

// Each row says what was done for it on that network.
async function showOutcomes(net, outcome) {
  await rendered(); // every row, not only the first screen
  for (const r of state.rows) {
    const m = r.result && r.result[net];
    const cell = r.row.querySelector(`[data-net=${net}]`);
    let badge = cell.querySelector('[data-testid=follow-outcome]');
    const o = m && outcome[net === 'bluesky' ? m.did : m.acct.toLowerCase()];
    if (!o || o.status === 'pending') {
      if (badge) badge.remove();
      continue;
    }
    if (!badge) {
      badge = h('div', { class: 'outcome', 'data-testid': 'follow-outcome' });
      cell.append(badge);
    }
    const said = t({ followed: 'followedBadge', skipped: 'alreadyFollowedBadge', unavailable: 'goneBadge' }[o.status] || 'followFailedBadge');
    // Not followed: with why, as the network said it (a refusal, a limit, not found).
    badge.textContent = o.status === 'failed' && o.error ? `${said}: ${o.error}` : said;
    badge.dataset.status = o.status;
  }
}

// The answers as the page shows them: settled over the whole list (the service settles one
// batch at a time), so a destination is pre-selected for one X account at most.
function settle() {
  const order = state.scan.order;
  const list = order.map((lower) => {
    const r = state.results[lower];
    return r ? { ...r, handle: r.handle || state.scan.accounts[lower].handle } : null;
  });
  const settled = settleOwners(list);
  state.view = {};
  order.forEach((lower, i) => { if (settled[i]) state.view[lower] = settled[i]; });
}

// The first screen is built at once; the other rows follow in slices between frames, so a list
// of 5,000 shows its top in a fraction of the time all of it takes. `rendered()` resolves once
// every row is in (exports and follows wait for it).
const FIRST_ROWS = 150;
const SLICE_ROWS = 400;
let renderToken = 0;
let renderDone = Promise.resolve();

function render() {
  settle();
  const token = ++renderToken;
  const order = state.scan.order;
  const tbody = document.getElementById('rows');
  tbody.textContent = '';
  state.rows = [];
  const add = (from, to) => {
    const frag = document.createDocumentFragment();
    for (let i = from; i < to; i++) {
      const r = buildRow(order[i]);
      state.rows.push(r);
      frag.appendChild(r.row);
    }
    tbody.appendChild(frag);
    showCounts();
    showSelected();
    applyFilters();
    showReviewButton();
    showNew();
  };
  add(0, Math.min(order.length, FIRST_ROWS));
  ready();
  renderDone = new Promise((resolve) => {
    const next = (from) => {
      if (token !== renderToken) return resolve(); // a newer render took over
      if (from >= order.length) return resolve();
      const to = Math.min(order.length, from + SLICE_ROWS);
      add(from, to);
      setTimeout(() => next(to), 0);
    };
    // After the first screen is painted: a frame, then the rest.
    requestAnimationFrame(() => setTimeout(() => next(FIRST_ROWS), 0));
  });
}

// The page is shown once its first screen is built, whole: nothing moves under the reader's eyes
// as the translations, the summary and the first rows come in (no layout shift).
function ready() {
  document.body.classList.add('ready');
}

async function rendered() {
  let current;
  do {
    current = renderDone;
    await current;
  } while (current !== renderDone);
}

// -- exports ---------------------------------------------------------------------------------
// A spreadsheet takes a cell that begins with =, +, -, @, tab or CR for a formula (OWASP, "CSV
// Injection"), and names, bios and URLs come from strangers: such a cell gets a leading '.
// Not for Mastodon's import file, whose addresses never begin so and must stay as they are.
function csvCell(v, { text = true } = {}) {
  let s = v === null || v === undefined ? '' : String(v);
  if (text && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h('a', { href: url, download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function fileStem() {
  return `passerelle-${(state.key || 'list').replace(/[^a-z0-9_-]+/gi, '-')}`;
}

async function exportMastodon() {
  await rendered();
  const lines = ['Account address,Show boosts,Notify on new posts,Languages'];
  const seen = new Set();
  for (const r of state.rows) {
    const m = r.result && r.result.mastodon;
    if (!m || !state.selected.mastodon.has(r.handle) || seen.has(m.acct)) continue;
    seen.add(m.acct);
    lines.push(`${csvCell(m.acct, { text: false })},true,false,`);
  }
  download(`${fileStem()}-mastodon.csv`, 'text/csv', lines.join('\n') + '\n');
}

async function exportJson() {
  await rendered();
  const results = state.rows.map((r) => ({
    x: r.account,
    result: r.result,
    selected: { bluesky: state.selected.bluesky.has(r.handle), mastodon: state.selected.mastodon.has(r.handle) },
  }));
  download(`${fileStem()}.json`, 'application/json',
    JSON.stringify({ list: state.key, exported_at: new Date().toISOString(), results }, null, 2));
}

async function exportCsv() {
  await rendered();
  const header = ['x_handle', 'x_name', 'follows_you', 'bluesky_handle', 'bluesky_level', 'bluesky_reasons',
    'bluesky_url', 'bluesky_selected', 'mastodon_acct', 'mastodon_level', 'mastodon_reasons', 'mastodon_url',
    'mastodon_bridged', 'mastodon_selected', 'error'];
  const lines = [header.join(',')];
  for (const r of state.rows) {
    const res = r.result || {};
    const b = res.bluesky || {};
    const m = res.mastodon || {};
    lines.push([r.account.handle, r.account.name, r.account.follows_you ? 'true' : 'false',
      b.handle, b.level, (b.reasons || []).join(' '), b.url, state.selected.bluesky.has(r.handle) ? 'true' : '',
      m.acct, m.level, (m.reasons || []).join(' '), m.url, res.mastodon ? String(!!m.bridged) : '',
      state.selected.mastodon.has(r.handle) ? 'true' : '', res.error ? res.error.code : ''].map(csvCell).join(','));
  }
  download(`${fileStem()}.csv`, 'text/csv', lines.join('\n') + '\n');
}

// -- the list for the command line, and results back from it -------------------------------
// The scanned list in exactly the shape `passerelle resolve` (and POST /api/resolve) reads, so
// a list scanned here can be resolved, followed or re-run from the command line.
function scannedAccounts() {
  return state.scan.order.map((lower) => {
    const a = state.scan.accounts[lower];
    const out = { handle: a.handle, name: a.name || '', bio: a.bio || '' };
    if (a.url) out.url = a.url;
    out.links = Array.isArray(a.links) ? a.links : [];
    if (a.id) out.id = String(a.id);
    out.follows_you = a.follows_you === true;
    return out;
  });
}

function exportAccounts() {
  download(`${fileStem()}-accounts.json`, 'application/json',
    JSON.stringify({ accounts: scannedAccounts() }, null, 2) + '\n');
}

const LEVELS = new Set(['confirmed', 'likely', 'possible']);
const X_HANDLE = /^[A-Za-z0-9_]{1,15}$/;

function isMatch(m) {
  return m === null || m === undefined || (typeof m === 'object' && LEVELS.has(m.level));
}

// What an imported file holds, as [{ account, result, selected? }]: the output of `passerelle
// resolve --format json` (the whole answer or its "results" list), or this page's own JSON
// export. Anything else: null, and nothing is changed.
function importedEntries(body) {
  const list = Array.isArray(body) ? body : body && Array.isArray(body.results) ? body.results : null;
  if (!list) return null;
  const out = [];
  for (const item of list) {
    const own = item && typeof item === 'object' && item.x && typeof item.x === 'object';
    const result = own ? item.result : item;
    const account = own ? item.x : { handle: item && item.handle, name: '', bio: '', links: [] };
    if (!account || typeof account.handle !== 'string' || !X_HANDLE.test(account.handle)) return null;
    if (result !== null && (typeof result !== 'object' || !isMatch(result.bluesky) || !isMatch(result.mastodon))) return null;
    out.push({ account, result: result ? { ...result, handle: account.handle } : null,
      selected: own && item.selected ? item.selected : null });
  }
  return out;
}

async function importResults(file) {
  const status = document.getElementById('import-status');
  let body;
  try {
    body = JSON.parse(await file.text());
  } catch (_) {
    status.textContent = t('importNotJson', [file.name]);
    return;
  }
  const entries = importedEntries(body);
  if (!entries || !entries.length) {
    status.textContent = t('importNotResults', [file.name]);
    return;
  }
  let key = state.key;
  let scan = state.scan;
  if (!scan) {
    // No list on this page: the file becomes one.
    key = `imported/${file.name.replace(/\.json$/i, '').replace(/[^A-Za-z0-9_-]+/g, '-') || 'results'}`;
    scan = { key, kind: 'imported', owner: null, url: null, startedAt: Date.now(), updatedAt: Date.now(),
      state: 'done', order: [], accounts: {} };
    for (const e of entries) {
      const lower = e.account.handle.toLowerCase();
      if (scan.accounts[lower]) continue;
      scan.order.push(lower);
      scan.accounts[lower] = e.account;
    }
  }
  const resultsKey = `results:${key}`;
  const results = (await api.storage.local.get(resultsKey))[resultsKey] || {};
  let taken = 0;
  let outside = 0;
  for (const e of entries) {
    const lower = e.account.handle.toLowerCase();
    if (!scan.accounts[lower]) {
      outside++;
      continue;
    }
    if (!e.result) continue;
    results[lower] = e.result;
    taken++;
    // The imported answer decides the pre-selection again, or the file's own selection.
    for (const net of ['bluesky', 'mastodon']) {
      state.touched[net].delete(lower);
      if (e.selected) {
        state.touched[net].add(lower);
        if (e.selected[net] && e.result[net]) state.selected[net].add(lower);
        else state.selected[net].delete(lower);
      }
    }
  }
  const write = { [resultsKey]: results };
  if (!state.scan) write[`scan:${key}`] = scan;
  await api.storage.local.set(write);
  if (!state.scan) {
    location.href = `results.html?list=${encodeURIComponent(key)}`;
    return;
  }
  state.results = results;
  render();
  status.textContent = t('importDone', [fmt(taken), fmt(outside)]);
}

// -- loading ---------------------------------------------------------------------------------
async function load() {
  translatePage();
  const { onlyUse } = await api.storage.local.get('onlyUse');
  for (const net of ['bluesky', 'mastodon']) {
    state.onlyUse[net] = !!(onlyUse && onlyUse[net]);
    document.getElementById(`only-${net}`).checked = state.onlyUse[net];
  }
  const { current } = await api.storage.local.get('current');
  state.key = params.get('list') || current || null;
  if (!state.key) {
    document.getElementById('empty').hidden = false;
    ready();
    return;
  }
  const scanKey = `scan:${state.key}`;
  const resultsKey = `results:${state.key}`;
  const jobKey = `job:${state.key}`;
  const got = await api.storage.local.get([scanKey, resultsKey, jobKey]);
  state.scan = got[scanKey];
  if (!state.scan) {
    document.getElementById('empty').hidden = false;
    ready();
    return;
  }
  state.results = got[resultsKey] || {};
  const reviewsKey = `reviews:${state.key}`;
  const saved = (await api.storage.local.get(reviewsKey))[reviewsKey];
  for (const net of ['bluesky', 'mastodon']) {
    if (saved && saved[net] && typeof saved[net] === 'object') state.reviews[net] = { ...saved[net] };
  }
  const checked = (await api.storage.local.get(`checked:${state.key}`))[`checked:${state.key}`];
  state.checkedAt = checked ? checked.at : null;
  render();
  updateAnnouncement();
  showJob(got[jobKey]);
  if (got[jobKey] && got[jobKey].status === 'done') askSchedule();
  const followKey = `follow:${state.key}`;
  const follow = (await api.storage.local.get(followKey))[followKey];
  showFollow(follow);
  if (follow && (follow.status === 'running' || follow.status === 'waiting')) {
    api.runtime.sendMessage({ type: 'bsky-follow-poll', key: state.key });
  }
  let timer = null;
  api.storage.onChanged.addListener((changes, area) => {
    if (area !== 'local') return;
    if (changes[jobKey]) showJob(changes[jobKey].newValue);
    if (changes[followKey]) showFollow(changes[followKey].newValue);
    if (changes[`mfollow:${state.key}`]) showMastodonFollow(changes[`mfollow:${state.key}`].newValue);
    if (changes[resultsKey]) {
      state.results = changes[resultsKey].newValue || {};
      clearTimeout(timer);
      timer = setTimeout(render, 300);
    }
  });
}

function showJob(job) {
  const p = document.getElementById('progress');
  const status = document.getElementById('recheck-status');
  if (job && job.status === 'rechecking') {
    state.rechecking = true;
    document.getElementById('recheck').disabled = true;
    status.textContent = job.unreachable ? t('serviceUnreachable', [job.unreachable])
      : t('recheckProgress', [fmt(job.done), fmt(job.total)]);
    if (!state.resumeAsked) { // wakes a stopped background: it carries on where it stopped
      state.resumeAsked = true;
      api.runtime.sendMessage({ type: 'recheck', key: state.key });
    }
    p.hidden = true;
    return;
  }
  if (state.rechecking && job && job.status !== 'rechecking') {
    state.rechecking = false;
    state.resumeAsked = false;
    document.getElementById('recheck').disabled = false;
    if (job.status === 'error') status.textContent = t('recheckFailed', [job.error || '']);
    else state.checkedAt = Date.now();
    showNew();
  }
  if (job && job.status === 'resolving' && !state.resumeAsked) {
    // Wakes the background if it was stopped mid-way; it carries on where it stopped.
    state.resumeAsked = true;
    api.runtime.sendMessage({ type: 'resume', key: state.key });
  }
  if (job && job.status === 'resolving') {
    p.hidden = false;
    p.textContent = job.unreachable ? t('serviceUnreachable', [job.unreachable])
      : t('stillResolving', [fmt(job.done), fmt(job.total)]);
  } else {
    p.hidden = true;
  }
}

for (const net of ['bluesky', 'mastodon']) {
  document.getElementById(`only-${net}`).addEventListener('change', async (e) => {
    state.onlyUse[net] = e.target.checked;
    await api.storage.local.set({ onlyUse: state.onlyUse });
    if (state.scan) render();
  });
}
document.getElementById('recheck').addEventListener('click', checkAgain);
for (const b of document.querySelectorAll('[data-schedule]')) {
  b.addEventListener('click', () => chooseSchedule(b.dataset.schedule));
}
document.getElementById('follow-new').addEventListener('click', selectOnlyNew);
for (const id of ['search', 'level', 'network', 'notfound', 'followsyou', 'onlynew']) {
  document.getElementById(id).addEventListener(id === 'search' ? 'input' : 'change', applyFilters);
}
document.getElementById('export-mastodon').addEventListener('click', exportMastodon);
document.getElementById('export-json').addEventListener('click', exportJson);
document.getElementById('export-csv').addEventListener('click', exportCsv);
document.getElementById('export-accounts').addEventListener('click', () => state.scan && exportAccounts());
document.getElementById('import-results').addEventListener('change', (e) => {
  const file = e.target.files && e.target.files[0];
  if (file) importResults(file).finally(() => { e.target.value = ''; });
});
document.getElementById('review').addEventListener('click', startReview);
document.getElementById('review-yes').addEventListener('click', () => answerReview('yes'));
document.getElementById('review-no').addEventListener('click', () => answerReview('no'));
document.getElementById('review-skip').addEventListener('click', () => answerReview(null));
document.getElementById('review-stop').addEventListener('click', stopReview);
document.getElementById('action-bluesky').addEventListener('click', () => openPanels(['follow-bsky']));
document.getElementById('action-mastodon').addEventListener('click', () => openPanels(['follow-masto']));
document.getElementById('action-both').addEventListener('click', () => openPanels(['follow-bsky', 'follow-masto']));
document.getElementById('bsky-follow').addEventListener('click', () => followOnBluesky(false));
document.getElementById('bsky-oauth').addEventListener('click', () => followOnBluesky(true));
document.getElementById('masto-follow').addEventListener('click', followOnMastodon);
document.getElementById('masto-search').addEventListener('click', searchMyServer);
document.getElementById('announce-lang').value = api.i18n.getUILanguage().startsWith('fr') ? 'fr' : 'en';
for (const id of ['my-bluesky', 'my-fediverse', 'announce-lang']) {
  document.getElementById(id).addEventListener('input', updateAnnouncement);
}
document.getElementById('announce-copy').addEventListener('click', async () => {
  await navigator.clipboard.writeText(document.getElementById('announce-text').value).catch(() => {});
  document.getElementById('announce-copy').textContent = t('announceCopied');
});
// The column titles stick under the filters, whatever their height. Set on the titles alone: on
// the root, each change would restyle all 5,000 rows.
const filters = document.querySelector('.filters');
const columnTitles = document.querySelector('thead');
new ResizeObserver(() => {
  columnTitles.style.setProperty('--filters-height', `${filters.offsetHeight}px`);
}).observe(filters);

// Exports and import: a menu button (a disclosure), closed by Escape or a click elsewhere;
// it stays open while its items are used, one export after another.
const exportsButton = document.getElementById('exports');
const exportsMenu = document.getElementById('exports-menu');
function showExports(open) {
  exportsMenu.hidden = !open;
  exportsButton.setAttribute('aria-expanded', String(open));
}
exportsButton.addEventListener('click', () => showExports(exportsMenu.hidden));
exportsMenu.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape') return;
  showExports(false);
  exportsButton.focus();
  e.stopPropagation();
});
document.addEventListener('click', (e) => {
  if (!exportsMenu.hidden && !e.target.closest('.menu')) showExports(false);
});
load().finally(ready); // shown even if loading failed half-way
