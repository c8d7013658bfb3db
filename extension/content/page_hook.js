// Runs in the page's own world (manifest: "world": "MAIN"): observes the responses X's app
// receives for the follow list and passes on what the DOM lacks (expanded bio links, the
// website, the numeric id). It never sends a request of its own and never reads anything else.
// If X changes this data, the DOM scan still works without it.
(function () {
  'use strict';
  if (window.__passerelleHook) return;
  window.__passerelleHook = true;

  const LIST_OPS = /\/i\/api\/graphql\/[^/]+\/(Following|Followers|BlueVerifiedFollowers|FollowersYouKnow|ListMembers|VerifiedFollowers)\b/;

  function get(obj, path) {
    let cur = obj;
    for (const k of path) {
      if (cur == null) return undefined;
      cur = cur[k];
    }
    return cur;
  }

  function urlsOf(list) {
    return Array.isArray(list) ? list.filter((u) => u && typeof u === 'object') : [];
  }

  // An address a person gave, not X's t.co wrapper around it.
  function address(url) {
    return typeof url === 'string' && /^https?:\/\/\S+$/i.test(url) && !/^https?:\/\/t\.co\//i.test(url)
      ? url : null;
  }

  // One user result, read defensively. X's formats (recorded ones: tests/data/x_recorded/):
  // to 2025 everything under `legacy`; by mid-2026 `core.*` and `profile_bio.description`, the
  // links still in `legacy.entities`; since August 2026 no `legacy` at all, the links in
  // `profile_bio.entities`, and `website.url` only the t.co link.
  function readUser(result) {
    if (!result || typeof result !== 'object') return null;
    if (result.__typename === 'UserUnavailable') return null;
    const legacy = result.legacy || {};
    const core = result.core || {};
    const handle = core.screen_name || legacy.screen_name;
    if (!handle) return null;
    const bio = result.profile_bio || {};
    let description = bio.description ?? legacy.description ?? '';
    const pick = (key) => {
      const fromBio = urlsOf(get(bio, ['entities', key, 'urls']));
      return fromBio.length ? fromBio : urlsOf(get(legacy, ['entities', key, 'urls']));
    };
    const links = [];
    for (const u of pick('description')) {
      if (u.expanded_url) {
        links.push(u.expanded_url);
        if (u.url && u.display_url) description = description.split(u.url).join(u.display_url);
      }
    }
    const website = pick('url').map((u) => address(u.expanded_url)).find(Boolean)
      || address(get(result, ['website', 'url'])) || address(legacy.url) || null;
    return {
      handle,
      id: result.rest_id || null,
      name: core.name || legacy.name || '',
      description,
      links,
      url: website,
      avatar: get(result, ['avatar', 'image_url']) || legacy.profile_image_url_https || null,
      follows_you: get(result, ['relationship_perspectives', 'followed_by']) ?? legacy.followed_by ?? null,
    };
  }

  // The users of one page, and how many list items it had: a page with items but no user we
  // can read is not the end of the list, only a shape we do not know.
  function usersFrom(json) {
    const out = [];
    const seen = new Set();
    let items = 0;
    (function walk(node, depth) {
      if (!node || typeof node !== 'object' || depth > 40) return;
      if (Array.isArray(node)) {
        for (const x of node) walk(x, depth + 1);
        return;
      }
      if (node.itemContent) items++;
      if (node.user_results && node.user_results.result) {
        const u = readUser(node.user_results.result);
        if (u && !seen.has(u.handle.toLowerCase())) {
          seen.add(u.handle.toLowerCase());
          out.push(u);
        }
        return;
      }
      for (const k in node) walk(node[k], depth + 1);
    })(json, 0);
    return { users: out, items };
  }

  function subjectOf(url) {
    try {
      const vars = JSON.parse(new URL(url, window.location.href).searchParams.get('variables') || '{}');
      return String(vars.userId || vars.listId || '') || null;
    } catch (_) {
      return null;
    }
  }
  function publish(url, text) {
    const op = url.match(LIST_OPS);
    if (!op) return;
    let json;
    try {
      json = JSON.parse(text);
    } catch (_) {
      return;
    }
    if (!json || typeof json !== 'object' || !json.data) return; // not a page of the list
    const { users, items } = usersFrom(json);
    if (!users.length && items) return; // items we cannot read: the rows will be read instead
    // X may send `errors` beside `data` (a part it could not build): keep the users it did
    // send, but an answer with errors and nobody in it is never the end of the list.
    if (!users.length && json.errors) return;
    // Which list this page belongs to: the page's path when it arrived, and the user or list
    // the request asked about, so the scan never mixes two lists of one visit.
    const where = { path: window.location.pathname, subject: subjectOf(url) };
    // A page of the list with nobody in it: X has reached the end of the list.
    const message = users.length
      ? { source: 'passerelle-hook', op: op[1], users, ...where }
      : { source: 'passerelle-hook', op: op[1], users: [], end: true, ...where };
    kept.push(message);
    keptUsers += users.length;
    while (keptUsers > MAX_KEPT && kept.length > 1) keptUsers -= kept.shift().users.length;
    window.postMessage(message, window.location.origin);
  }

  // The first pages often arrive before the content script listens (it starts when the
  // document is idle): keep what was seen and send it again when it asks.
  const kept = [];
  let keptUsers = 0;
  const MAX_KEPT = 50000;
  window.addEventListener('message', (ev) => {
    if (ev.source !== window || !ev.data || ev.data.source !== 'passerelle-content' || ev.data.type !== 'replay') return;
    for (const message of kept) window.postMessage(message, window.location.origin);
  });

  const origFetch = window.fetch;
  window.fetch = async function (...args) {
    const response = await origFetch.apply(this, args);
    try {
      const url = typeof args[0] === 'string' ? args[0] : (args[0] && args[0].url) || '';
      if (LIST_OPS.test(url) && response.ok) response.clone().text().then((t) => publish(url, t), () => {});
    } catch (_) { /* never break the page */ }
    return response;
  };

  const origOpen = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    this.__passerelleUrl = String(url);
    return origOpen.call(this, method, url, ...rest);
  };
  const origSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (...args) {
    if (LIST_OPS.test(this.__passerelleUrl || '')) {
      this.addEventListener('load', () => {
        try {
          if (this.status !== 200) return; // an error page says nothing about the list
          if (this.responseType === '' || this.responseType === 'text') publish(this.__passerelleUrl, this.responseText);
          else if (this.responseType === 'json') publish(this.__passerelleUrl, JSON.stringify(this.response));
        } catch (_) { /* never break the page */ }
      });
    }
    return origSend.apply(this, args);
  };
})();
