// The imitation's app: fetches the list page by page from X's GraphQL endpoint (by XHR, as
// X's client does), and renders a virtualised, recycling list of user cells with X's markup.
(function () {
  'use strict';
  const cfg = window.__XCOM__;
  const list = document.getElementById('list');
  const below = document.getElementById('below');
  const BUFFER = 600; // px rendered above and below the viewport
  const users = [];
  const tops = [];
  let total = 0;
  let cursor = null;
  let loading = false;
  let ended = false;
  const live = new Map(); // index → node
  const pool = [];

  const EMOJI = /(\p{Extended_Pictographic}(?:\uFE0F|\u200D\p{Extended_Pictographic})*\uFE0F?)/u;

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    for (const k of kids) e.append(k);
    return e;
  }

  // Text with emoji drawn as images, as X does.
  function rich(text) {
    const span = el('span', {});
    for (const part of text.split(EMOJI)) {
      if (!part) continue;
      if (EMOJI.test(part)) {
        const cp = [...part].map((c) => c.codePointAt(0).toString(16)).join('-');
        span.append(el('img', { alt: part, draggable: 'false', class: 'r-emoji',
          src: `https://abs-0.twimg.com/emoji/v2/svg/${cp}.svg` }));
      } else {
        span.append(document.createTextNode(part));
      }
    }
    return span;
  }

  function read(result) {
    const legacy = result.legacy || {};
    const core = result.core || {};
    const bio = result.profile_bio || {};
    return {
      id: result.rest_id,
      handle: core.screen_name || legacy.screen_name,
      name: core.name || legacy.name || '',
      description: bio.description ?? legacy.description ?? '',
      urls: ((bio.entities || {}).description || {}).urls || ((legacy.entities || {}).description || {}).urls || [],
      followedBy: (result.relationship_perspectives || {}).followed_by ?? legacy.followed_by ?? false,
      verified: !!result.is_blue_verified,
    };
  }

  // The bio: text, emoji images, @mentions and #hashtags as links, t.co links shown cut.
  function bioNode(u) {
    const div = el('div', { dir: 'auto', class: 'r-bio', style: 'white-space: normal;' });
    const byTco = new Map(u.urls.map((x) => [x.url, x]));
    const tokens = u.description.split(/(https:\/\/t\.co\/\w+|@\w{1,15}|#[\p{L}\p{N}_]+)/u);
    for (const tok of tokens) {
      if (!tok) continue;
      if (byTco.has(tok)) {
        const x = byTco.get(tok);
        const full = x.expanded_url;
        const scheme = full.match(/^https?:\/\/(www\.)?/)[0];
        const shown = x.display_url.replace(/…$/, '');
        const rest = full.slice(scheme.length + shown.length);
        const a = el('a', { href: tok, rel: 'noopener noreferrer nofollow', target: '_blank', role: 'link' });
        a.append(el('span', { 'aria-hidden': 'true', class: 'r-hidden' }, scheme), shown);
        if (x.display_url.endsWith('…')) {
          a.append(el('span', { 'aria-hidden': 'true', class: 'r-hidden' }, rest), el('span', { 'aria-hidden': 'true' }, '…'));
        }
        div.append(a);
      } else if (/^@\w+$/.test(tok)) {
        div.append(el('a', { href: `/${tok.slice(1)}`, role: 'link' }, tok));
      } else if (/^#/.test(tok)) {
        div.append(el('a', { href: `/search?q=%23${encodeURIComponent(tok.slice(1))}&src=hashtag_click`, role: 'link' }, tok));
      } else {
        div.append(rich(tok));
      }
    }
    return div;
  }

  function cellContent(u, sidebar) {
    const nameLink = el('a', { href: `/${u.handle}`, role: 'link' },
      el('div', { dir: 'ltr' }, el('span', {}, rich(u.name))));
    if (u.verified) nameLink.append(el('svg', { 'data-testid': 'icon-verified', 'aria-label': 'Verified account', viewBox: '0 0 22 22' }));
    const handleLink = el('a', { href: `/${u.handle}`, role: 'link', tabindex: '-1' },
      el('div', { dir: 'ltr' }, el('span', {}, `@${u.handle}`)));
    const names = el('div', {}, nameLink, handleLink);
    if (u.followedBy) names.append(el('div', { 'data-testid': 'userFollowIndicator' }, el('span', {}, 'Follows you')));
    const following = !sidebar;
    const btn = el('button', { role: 'button', type: 'button',
      'data-testid': `${u.id}-${following ? 'unfollow' : 'follow'}`,
      'aria-label': `${following ? 'Following' : 'Follow'} @${u.handle}` }, el('span', {}, following ? 'Following' : 'Follow'));
    const hiddenHint = el('div', { style: 'display: none;' }, `Click to ${following ? 'Unfollow' : 'Follow'} ${u.handle}`);
    const body = el('div', { style: 'flex: 1; min-width: 0' },
      el('div', { style: 'display: flex; justify-content: space-between' }, names, btn), hiddenHint);
    if (u.description) body.append(bioNode(u));
    const avatar = el('div', { 'data-testid': `UserAvatar-Container-${u.handle}` },
      el('a', { href: `/${u.handle}`, role: 'link', tabindex: '-1' },
        el('img', { alt: '', src: `https://pbs.twimg.com/profile_images/${u.id}/a_normal.jpg`, width: '40', height: '40' })));
    const cell = el('button', { 'data-testid': cfg.cellTestId || 'UserCell', role: 'button', tabindex: '0' }, avatar, body);
    return el('div', {}, el('div', {}, cell));
  }

  function heightOf(u) {
    const lines = u.description ? Math.ceil(u.description.length / 60) + (u.description.match(/\n/g) || []).length : 0;
    return 72 + 20 * lines;
  }

  function render() {
    const from = window.scrollY - BUFFER - list.offsetTop;
    const to = window.scrollY + window.innerHeight + BUFFER - list.offsetTop;
    const want = new Set();
    for (let i = 0; i < users.length; i++) {
      const top = tops[i];
      const bottom = top + heightOf(users[i]);
      if (bottom >= from && top <= to) want.add(i);
      if (top > to) break;
    }
    for (const [i, node] of live) {
      if (!want.has(i)) {
        live.delete(i);
        pool.push(node); // recycled: kept in the DOM, rewritten for another row later
      }
    }
    for (const i of want) {
      if (live.has(i)) continue;
      const node = pool.pop() || el('div', { 'data-testid': 'cellInnerDiv' });
      node.textContent = '';
      node.append(cellContent(users[i], false));
      node.style.cssText = `transform: translateY(${tops[i]}px); position: absolute; width: 100%; height: ${heightOf(users[i])}px;`;
      if (!node.isConnected) list.appendChild(node); // new nodes go last, whatever their position
      live.set(i, node);
    }
    for (const node of pool) node.style.transform = 'translateY(-10000px)';
    list.style.minHeight = `${total}px`;
  }

  function showProgress(on) {
    const bar = below.querySelector('[role="progressbar"]');
    if (on && !bar) below.append(el('div', { role: 'progressbar', 'aria-valuemax': '100', 'aria-valuemin': '0' }, el('div', {}, '')));
    if (!on && bar) bar.remove();
  }

  function showError() {
    const retry = el('div', { role: 'button', tabindex: '0' }, el('span', {}, 'Retry'));
    const box = el('div', { 'data-xcom': 'error' }, el('span', {}, 'Something went wrong. Try reloading.'), retry);
    retry.addEventListener('click', () => {
      box.remove();
      loadMore();
    });
    below.append(box);
  }

  function loadMore() {
    if (loading || ended) return;
    loading = true;
    showProgress(true);
    const variables = { userId: cfg.userId, count: 20, includePromotedContent: false };
    if (cursor) variables.cursor = cursor;
    const features = { rweb_tipjar_consumption_enabled: true, responsive_web_graphql_timeline_navigation_enabled: true };
    const url = `/i/api/graphql/${cfg.queryId}/${cfg.op}?variables=${encodeURIComponent(JSON.stringify(variables))}&features=${encodeURIComponent(JSON.stringify(features))}`;
    const xhr = new XMLHttpRequest();
    xhr.open('GET', url);
    xhr.setRequestHeader('x-twitter-active-user', 'yes');
    xhr.onload = () => setTimeout(() => {
      loading = false;
      showProgress(false);
      if (xhr.status !== 200) {
        showError();
        return;
      }
      const data = JSON.parse(xhr.responseText);
      const timeline = (data.data.user ? data.data.user.result.timeline : data.data.list.members_timeline).timeline;
      let added = 0;
      for (const ins of timeline.instructions) {
        if (ins.type !== 'TimelineAddEntries') continue;
        for (const entry of ins.entries) {
          const c = entry.content;
          if (c.entryType === 'TimelineTimelineCursor' && c.cursorType === 'Bottom') {
            cursor = c.value;
          } else if (c.itemContent && (c.itemContent.user_results || c.itemContent.user_results_v2)) {
            const u = read((c.itemContent.user_results || c.itemContent.user_results_v2).result);
            tops.push(total);
            total += heightOf(u);
            users.push(u);
            added++;
          }
        }
      }
      // As X does: the cursor after the last people still leads to one more, empty, page.
      ended = !added;
      render();
      maybeLoad();
    }, cfg.latencyMs);
    xhr.onerror = () => {
      loading = false;
      showProgress(false);
      showError();
    };
    xhr.send();
  }

  function maybeLoad() {
    if (window.scrollY + window.innerHeight > list.offsetTop + total - 800) loadMore();
  }

  window.addEventListener('scroll', () => {
    render();
    maybeLoad();
  }, { passive: true });

  document.querySelector('h2').textContent = cfg.title;
  for (const s of cfg.sidebar) {
    const u = { id: '1', handle: s.handle, name: s.name, description: s.bio, urls: [], followedBy: false };
    document.getElementById('sidebar').append(el('div', { 'data-testid': 'cellInnerDiv' }, cellContent(u, true)));
  }
  if (cfg.known) loadMore();
  window.__xcomState = () => ({ loaded: users.length, ended, loading });
})();
