// The scan of one follow list: reads ahead from X's own responses (the page hook passes on every
// page X fetched, in list order) and reads every cell as it passes (the list is virtualised and
// recycles its rows, so accounts are collected on the way, keyed by handle); either alone reads
// the list. Saves the list as it grows, so a reload, a crash or a restart of the extension loses
// nothing. No network here.
'use strict';

(function () {
  const P = globalThis.Passerelle;
  const S = P.selectors;
  const api = globalThis.browser || globalThis.chrome;

  const OPS = {
    following: 'Following',
    followers: 'Followers',
    verified_followers: 'BlueVerifiedFollowers',
    followers_you_follow: 'FollowersYouKnow',
    list_members: 'ListMembers',
  };
  const SAVE_EVERY_MS = 400;
  const IDLE_ROUNDS_AT_END = 4; // rounds with no new cell and no loading at the bottom: the end
  const WAIT_MS = 1200; // longest wait for the page to react to a scroll
  const LOAD_MS = 20000; // longest a load indicator may stay before we nudge again
  // Rows on the page but none readable after this many screens: X's markup changed under us.
  // Better to say so at once than to scroll the whole list reading nothing.
  const UNREADABLE_AFTER_SCROLLS = 3;
  // How long a drawn row may wait for X's response that holds it before reading ahead stops.
  const HOOK_GRACE_MS = 1500;

  // Hook data arrives by window messages from the page world, before or while we scan.
  const hooked = new Map(); // op → Map(handleLower → user)
  const pagesSeen = []; // every list page the hook saw, in arrival order (the list's order)
  const listEnded = new Set(); // ops whose last page came back empty: the true end
  let hookVersion = 0; // grows with every hook message
  // Only messages the page's own window posted, to its own origin, in the hook's shape. (Any
  // script of the page could post one; this keeps out other frames, other origins and
  // synthetic events, and `readUser`'s checks below keep out ill-formed users.)
  window.addEventListener('message', (ev) => {
    const d = ev.data;
    if (!ev.isTrusted || ev.source !== window || ev.origin !== window.location.origin) return;
    if (!d || d.source !== 'passerelle-hook' || !Array.isArray(d.users)) return;
    const op = d.op || '*';
    if (d.end) listEnded.add(op);
    hookVersion++;
    if (!hooked.has(op)) hooked.set(op, new Map());
    const m = hooked.get(op);
    const users = [];
    for (const u of d.users) {
      if (wellFormed(u)) {
        m.set(u.handle.toLowerCase(), u);
        users.push(u);
      }
    }
    pagesSeen.push({ op, path: normPath(d.path), subject: d.subject ?? null, users });
  });

  // A user as the hook sends it: X's handle syntax, strings of bounded length, links a list.
  function wellFormed(u) {
    if (!u || typeof u !== 'object' || typeof u.handle !== 'string') return false;
    if (!/^[A-Za-z0-9_]{1,15}$/.test(u.handle)) return false;
    const text = (v, max) => v === null || v === undefined || (typeof v === 'string' && v.length <= max);
    return text(u.name, 200) && text(u.description, 5000) && text(u.url, 2000)
      && text(u.id, 30) && text(u.avatar, 2000)
      && (u.links === undefined || (Array.isArray(u.links) && u.links.length <= 50
        && u.links.every((l) => typeof l === 'string' && l.length <= 2000)));
  }

  function normPath(path) {
    return String(path || '').replace(/\/+$/, '').toLowerCase();
  }

  // An account as X's own response describes it (the bio with links shown as X shows them).
  function fromHook(u) {
    return {
      handle: u.handle,
      name: u.name || '',
      bio: u.description || '',
      url: u.url || null,
      links: Array.isArray(u.links) ? u.links : [],
      id: u.id || null,
      follows_you: u.follows_you === true,
      avatar: u.avatar || null,
    };
  }

  window.postMessage({ source: 'passerelle-content', type: 'replay' }, window.location.origin);

  function hookUser(page, handleLower) {
    const m = hooked.get(OPS[page.kind]) || hooked.get('*');
    return m ? m.get(handleLower) : undefined;
  }

  P.storageKey = (page) => `scan:${page.key}`;

  P.loadScan = async function loadScan(page) {
    const key = P.storageKey(page);
    const got = await api.storage.local.get(key);
    return got[key] || null;
  };

  function merge(page, dom) {
    const lower = dom.handle.toLowerCase();
    const hook = hookUser(page, lower) || {};
    // The DOM bio is what the person wrote as X shows it (emoji, cut links); the hook adds
    // the full links and the website, which the DOM never shows.
    return {
      handle: dom.handle,
      name: dom.name || hook.name || '',
      bio: dom.bio || hook.description || '',
      url: hook.url || null,
      links: Array.isArray(hook.links) && hook.links.length ? hook.links : [],
      id: dom.id || hook.id || null,
      follows_you: dom.follows_you || hook.follows_you === true,
      avatar: dom.avatar || null,
    };
  }

  function listRoot() {
    const col = document.querySelector(S.primaryColumn);
    if (!col) return null;
    return col.querySelector(S.listRegion) || col;
  }

  // Rows in list order: recycled rows sit anywhere in the DOM, so order by position on screen.
  // A row parked far from the screen (a recycled node waiting for reuse) may hold content of
  // any row: it is not read.
  function cells(root) {
    const h = window.innerHeight;
    return [...root.querySelectorAll(S.cell)]
      .filter((c) => !c.closest(S.sidebar))
      .map((c) => {
        const r = c.getBoundingClientRect();
        return { c, top: r.top, bottom: r.bottom, onScreen: r.bottom > 0 && r.top < h };
      })
      .filter((x) => x.bottom > -2 * h && x.top < 3 * h)
      .sort((a, b) => a.top - b.top);
  }

  function loading(root) {
    return !!root.querySelector(S.progressbar);
  }

  function retryButton(root) {
    for (const b of root.querySelectorAll(S.retryButton)) {
      if (S.retryText.test((b.textContent || '').trim())) return b;
    }
    return null;
  }

  function atBottom() {
    const doc = document.scrollingElement || document.documentElement;
    return window.innerHeight + window.scrollY >= doc.scrollHeight - 4;
  }

  // Resolves when the list changes (rows added, moved or rewritten) or after `ms`.
  function changeOrTimeout(root, ms) {
    return new Promise((resolve) => {
      let done = false;
      const finish = (changed) => {
        if (done) return;
        done = true;
        obs.disconnect();
        clearTimeout(timer);
        resolve(changed);
      };
      const obs = new MutationObserver(() => setTimeout(() => finish(true), 5));
      obs.observe(root, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ['style'] });
      const timer = setTimeout(() => finish(false), ms);
    });
  }

  // A tab in the background draws nothing (X draws rows on scroll, in the rendering step, and
  // a background tab skips that step), so scrolling there would pass rows never drawn. Whether
  // the page draws shows in animation frames: none within half a second means wait.
  function drawing() {
    return new Promise((resolve) => {
      let done = false;
      requestAnimationFrame(() => {
        done = true;
        resolve(true);
      });
      setTimeout(() => done || resolve(false), 500);
    });
  }

  P.Scanner = class Scanner {
    constructor(page, onProgress, onPaused) {
      this.page = page;
      this.onProgress = onProgress || (() => {});
      this.onPaused = onPaused || (() => {});
      this.gap = false;
      this.scrolled = false;
      this.scrolls = 0;
      this.unreadable = false; // rows were there, none could be read: see selectors.js
      this.notDrawing = false;
      this.hookSeen = -1;
      this.aheadAt = 0; // pages of pagesSeen already read ahead
      this.subject = undefined; // the user or list the first page of this list asked about
      this.ahead = false; // the hook delivers this list: read from it, scroll only to load more
      this.aheadOff = false; // the hook missed rows once: read every row from then on
      this.domOnly = new Set(); // rows drawn that the hook has not delivered (yet)
      this.posOf = new Map(); // handle → where its row was drawn in the whole list (px)
      this.domOnlyAt = 0;
      this.stopped = false;
      this.state = null;
      this.lastSave = 0;
      this.dirty = false;
      this.saving = null; // the routine save under way, if any
    }

    async init() {
      const saved = await P.loadScan(this.page);
      this.state = saved && saved.state !== 'done'
        ? saved
        : {
            key: this.page.key, kind: this.page.kind, owner: this.page.owner,
            url: location.href, startedAt: Date.now(), updatedAt: Date.now(),
            state: 'scanning', order: [], accounts: {},
          };
      this.state.state = 'scanning';
      await this.save(true);
      return this;
    }

    count() {
      return this.state ? this.state.order.length : 0;
    }

    // Read ahead: X's responses hold every account of the pages it fetched, in list order, long
    // before their rows are drawn. Taken first, so the rows the DOM shows are already known and
    // the scroll only has to make X fetch the next page.
    // Which list the pages are about is settled by the rows themselves: the first page holding
    // an account already read from the page (a late answer for the list seen before carries
    // another subject). Only when no row can be read at all is the first page taken on trust.
    readAhead(trustFirst = false) {
      const op = OPS[this.page.kind];
      const path = normPath(location.pathname);
      if (this.subject === undefined) {
        const first = pagesSeen.find((seen) => seen.op === op && seen.path === path
          && (trustFirst || seen.users.some((u) => this.state.accounts[u.handle.toLowerCase()])));
        if (!first) return 0;
        this.subject = first.subject;
      }
      let added = 0;
      for (; this.aheadAt < pagesSeen.length; this.aheadAt++) {
        const seen = pagesSeen[this.aheadAt];
        if (seen.op !== op || seen.path !== path || seen.subject !== this.subject) continue;
        for (const u of seen.users) {
          const lower = u.handle.toLowerCase();
          this.domOnly.delete(lower);
          if (this.state.accounts[lower]) continue;
          this.state.order.push(lower);
          this.state.accounts[lower] = fromHook(u);
          added++;
        }
        if (seen.users.length && !this.aheadOff) this.ahead = true;
      }
      if (added) this.dirty = true;
      return added;
    }

    harvest(root) {
      let added = 0;
      let known = 0;
      let seen = 0;
      let prev = null; // the row just above, touching this one
      let prevBottom = null;
      for (const { c: cell, onScreen, top, bottom } of cells(root)) {
        const dom = P.readCell(cell);
        // Rows follow each other without a gap; a row parked elsewhere is nobody's neighbour.
        if (prevBottom === null || Math.abs(top - prevBottom) > 2) prev = null;
        prevBottom = bottom;
        if (!dom) {
          prev = null;
          continue;
        }
        const lower = dom.handle.toLowerCase();
        if (onScreen) {
          // Only rows on screen tell whether the last scroll kept contact with what was read:
          // recycled rows parked off screen still hold old, known content.
          seen++;
          if (this.state.accounts[lower]) known++;
        }
        const account = merge(this.page, dom);
        const old = this.state.accounts[lower];
        if (!old && this.ahead) {
          // A row X's responses (as read) do not hold, met while jumping: its place is not
          // known yet. Left for the response that may still come, else for `readEveryRow`.
          this.domOnly.add(lower);
          this.domOnlyAt = this.domOnlyAt || Date.now();
          prev = null;
          continue;
        }
        const abs = top + window.scrollY; // where the row sits in the whole list
        this.posOf.set(lower, abs);
        if (!old) {
          // In its place: after the row drawn just above it (at the end, as a rule); when no
          // row touches it, after the nearest row ever seen above it.
          const above = prev ?? this.nearestAbove(abs);
          const at = above === null ? -1 : this.state.order.lastIndexOf(above);
          if (at >= 0) this.state.order.splice(at + 1, 0, lower);
          else this.state.order.push(lower);
          added++;
        }
        prev = lower;
        if (!old || JSON.stringify(old) !== JSON.stringify(account)) {
          this.state.accounts[lower] = account;
          this.dirty = true;
        }
      }
      // Rows on screen but none read before, while the list already has some: the scroll
      // overshot (the page did not draw in time). `run` steps back.
      this.gap = seen > 0 && known === 0 && this.state.order.length > added && this.scrolled;
      // Late hook data (links, website) for rows already read, when some arrived.
      if (hookVersion === this.hookSeen) return added;
      this.hookSeen = hookVersion;
      for (const lower of this.state.order) {
        const acc = this.state.accounts[lower];
        const hook = hookUser(this.page, lower);
        if (hook && ((!acc.url && hook.url) || (!acc.links.length && hook.links && hook.links.length))) {
          acc.url = acc.url || hook.url || null;
          acc.links = acc.links.length ? acc.links : hook.links || [];
          acc.id = acc.id || hook.id || null;
          this.dirty = true;
        }
      }
      return added;
    }

    // Saves as the list grows without holding the scan up: a routine save runs alongside the
    // scrolling (one at a time; the next round saves what came since); a forced one is awaited.
    async save(force) {
      if (!this.state || (!force && (!this.dirty || Date.now() - this.lastSave < SAVE_EVERY_MS))) return;
      if (!force && this.saving) return;
      this.state.updatedAt = Date.now();
      this.lastSave = Date.now();
      this.dirty = false;
      const write = api.storage.local.set({ [P.storageKey(this.page)]: this.state, current: this.page.key });
      if (force) {
        await write;
        return;
      }
      this.saving = write.then(() => { this.saving = null; }, () => { this.saving = null; this.dirty = true; });
    }

    nearestAbove(abs) {
      let best = null;
      let bestAt = -Infinity;
      for (const [handle, at] of this.posOf) {
        if (at < abs - 1 && at > bestAt && this.state.accounts[handle]) {
          best = handle;
          bestAt = at;
        }
      }
      return best;
    }

    // X drew rows its responses, as read, never held: the jumps to the bottom may have passed
    // others. Stop reading ahead, go back to the top and read every row, each in its place.
    async readEveryRow(root) {
      this.ahead = false;
      this.aheadOff = true;
      this.domOnly.clear();
      this.domOnlyAt = 0;
      window.scrollTo(0, 0);
      await changeOrTimeout(root, WAIT_MS);
    }

    stop() {
      this.stopped = true;
    }

    // Scrolls to the end of the list; resolves with the final state.
    async run() {
      let idle = 0;
      let root = listRoot();
      while (!this.stopped) {
        root = listRoot() || root;
        if (!root) {
          await new Promise((r) => setTimeout(r, 300));
          continue;
        }
        const added = this.readAhead() + this.harvest(root);
        if (this.domOnly.size && Date.now() - this.domOnlyAt > HOOK_GRACE_MS) {
          await this.readEveryRow(root);
          continue;
        }
        if (!this.domOnly.size) this.domOnlyAt = 0;
        this.onProgress(this.count());
        await this.save(false);
        const retry = retryButton(root);
        if (retry) {
          retry.click();
          await changeOrTimeout(root, LOAD_MS);
          idle = 0;
          continue;
        }
        if (loading(root)) {
          await changeOrTimeout(root, LOAD_MS);
          idle = 0;
          continue;
        }
        if (added) idle = 0;
        if (this.notDrawing) {
          this.onPaused(true);
          while (!(await drawing()) && !this.stopped);
          this.onPaused(false);
          this.notDrawing = false;
          continue; // read again what the page draws now, before scrolling on
        }
        if (this.gap) {
          // The last scroll went past rows that were never drawn: go back and read them.
          this.gap = false;
          window.scrollBy(0, -window.innerHeight / 2);
          await changeOrTimeout(root, WAIT_MS);
          continue;
        }
        if (atBottom()) {
          // X said the list is over (an empty last page): one quiet round is enough.
          const enough = listEnded.has(OPS[this.page.kind]) ? 1 : IDLE_ROUNDS_AT_END;
          if (++idle >= enough) {
            if (!this.domOnly.size) break;
            await this.readEveryRow(root); // never end on rows the responses did not hold
            idle = 0;
            continue;
          }
          // Nudge: some lists only load more after a small scroll at the bottom. The page must
          // draw the step back first; a background tab never does (no animation frame comes),
          // so then wait for it like any scroll that finds the page not drawing.
          window.scrollBy(0, -Math.min(200, window.innerHeight / 4));
          if (!(await drawing())) {
            this.notDrawing = true;
            continue;
          }
          window.scrollTo(0, (document.scrollingElement || document.documentElement).scrollHeight);
          await changeOrTimeout(root, WAIT_MS);
          continue;
        }
        if (!this.state.order.length && this.scrolls >= UNREADABLE_AFTER_SCROLLS
            && root.querySelector(S.cell)) {
          if (this.readAhead(true)) continue; // rows unreadable, X's responses readable
          this.unreadable = true;
          break;
        }
        // Whether the page draws is watched during the scroll's own wait, at no extra cost.
        const frame = drawing();
        if (this.ahead) {
          // Everything loaded so far is read: straight to the bottom, where X loads more.
          window.scrollTo(0, (document.scrollingElement || document.documentElement).scrollHeight);
        } else {
          window.scrollBy(0, Math.max(200, window.innerHeight * 0.8));
        }
        this.scrolled = true;
        this.scrolls++;
        await changeOrTimeout(root, WAIT_MS / 3);
        this.notDrawing = !(await frame);
      }
      root = listRoot() || root;
      this.readAhead();
      if (root) this.harvest(root);
      this.state.state = this.stopped ? 'stopped' : 'done';
      await this.save(true);
      this.onProgress(this.count());
      return this.state;
    }
  };
})();
