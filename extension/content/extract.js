// Reads one user cell into an account: handle, display name and bio with emoji as Unicode
// text (X draws them as <img alt>), links, numeric id, "follows you". Pure DOM reading, no
// network. Selectors come from selectors.js.
'use strict';

(function () {
  const P = globalThis.Passerelle;
  const S = P.selectors;

  function hidden(el) {
    if (el.getAttribute && /display\s*:\s*none/i.test(el.getAttribute('style') || '')) return true;
    if (el.hidden) return true;
    const view = el.ownerDocument && el.ownerDocument.defaultView;
    if (view && el.isConnected) {
      const cs = view.getComputedStyle(el);
      if (cs && cs.display === 'none') return true;
    }
    return false;
  }

  // Visible text of a node: text nodes as text, <img alt> as its alt (emoji), <br> as a line
  // break; elements hidden with display:none ("Click to Unfollow …") are skipped. Inside t.co
  // links the aria-hidden parts (the scheme, the cut-off rest) are skipped as X hides them.
  function visibleText(node, inLink) {
    let out = '';
    for (const child of node.childNodes) {
      if (child.nodeType === 3) {
        out += child.nodeValue;
      } else if (child.nodeType === 1) {
        const el = child;
        const tag = el.tagName;
        if (tag === 'IMG') {
          out += el.getAttribute('alt') || '';
        } else if (tag === 'BR') {
          out += '\n';
        } else if (tag === 'SVG' || tag === 'svg' || tag === 'SCRIPT' || tag === 'STYLE') {
          continue;
        } else if (hidden(el)) {
          continue;
        } else if (inLink && el.getAttribute('aria-hidden') === 'true') {
          if (/^(…|\.\.\.)$/.test((el.textContent || '').trim())) out += '…';
          continue;
        } else {
          const link = tag === 'A' && el.matches(S.tcoLink);
          out += visibleText(el, inLink || link);
        }
      }
    }
    return out;
  }

  function clean(text) {
    return text.replace(/\u00a0/g, ' ').replace(/[ \t]+\n/g, '\n').trim();
  }

  function handleOf(cell) {
    const avatar = cell.querySelector(S.avatarContainer);
    if (avatar) {
      const h = avatar.getAttribute('data-testid').slice(S.avatarPrefix.length);
      if (/^[A-Za-z0-9_]{1,15}$/.test(h)) return h;
    }
    for (const a of cell.querySelectorAll('a[href]')) {
      const m = (a.getAttribute('href') || '').match(S.handleHref);
      if (m && (a.textContent || '').trim() === `@${m[1]}`) return m[1];
    }
    return null;
  }

  function nameOf(cell, handle) {
    for (const a of cell.querySelectorAll(S.profileLink)) {
      const href = (a.getAttribute('href') || '').toLowerCase();
      if (href !== `/${handle.toLowerCase()}`) continue;
      if (a.getAttribute('tabindex') === '-1') continue; // avatar or "@handle" link
      const text = clean(visibleText(a, false));
      if (text && text !== `@${handle}`) return text;
    }
    return '';
  }

  function bioElement(cell) {
    // The last div[dir=auto] that is inside no link and holds no link to the profile itself.
    const candidates = [...cell.querySelectorAll(S.bioCandidates)].filter(
      (d) => !d.closest('a') && !d.closest(S.followButton) && !d.closest(S.followsYou),
    );
    return candidates.length ? candidates[candidates.length - 1] : null;
  }

  // The avatar X shows (pbs.twimg.com), for the results page.
  function avatarOf(cell) {
    const img = cell.querySelector(`${S.avatarContainer} img`);
    const src = img && img.getAttribute('src');
    return src && /^https:\/\/pbs\.twimg\.com\//.test(src) ? src : null;
  }

  function idOf(cell) {
    const btn = cell.querySelector(S.followButton);
    if (!btn) return null;
    const m = (btn.getAttribute('data-testid') || '').match(S.followButtonId);
    return m ? m[1] : null;
  }

  // The account a cell shows, or null when the cell is not a user (a spinner, a header).
  P.readCell = function readCell(cell) {
    const user = cell.matches(S.userCell) ? cell : cell.querySelector(S.userCell);
    if (!user) return null;
    const handle = handleOf(user);
    if (!handle) return null;
    const bioEl = bioElement(user);
    const links = [];
    if (bioEl) {
      for (const a of bioEl.querySelectorAll(S.tcoLink)) {
        const shown = clean(visibleText(a, true));
        if (shown) links.push(shown);
      }
    }
    return {
      handle,
      name: nameOf(user, handle),
      bio: bioEl ? clean(visibleText(bioEl, false)) : '',
      shown_links: links,
      id: idOf(user),
      follows_you: !!user.querySelector(S.followsYou),
      avatar: avatarOf(user),
    };
  };

  P.visibleText = visibleText;
})();
