// Every x.com selector Passerelle uses, in one place (see X_PAGE.md). When X changes its markup,
// this is the file that changes. Each entry says why it exists; each is proven by the fixture in
// tests/fixtures/x_cell.html and the x.com imitation (tests/test_scanner.py, tests/e2e/).
'use strict';

globalThis.Passerelle = globalThis.Passerelle || {};

globalThis.Passerelle.selectors = Object.freeze({
  // The main column. The right sidebar ("Who to follow") has user cells too: never read those.
  primaryColumn: '[data-testid="primaryColumn"]',
  sidebar: '[data-testid="sidebarColumn"]',
  // The list region under the page header (its aria-label is localised: do not match the text).
  listRegion: 'section[role="region"]',
  // One virtualised row. Rows are recycled while scrolling; their DOM order need not follow
  // their position, so the scan keys accounts by handle.
  cell: '[data-testid="cellInnerDiv"]',
  // The user cell inside a row: the 2024+ <button> form and the older div[role=button] form.
  userCell: 'button[data-testid="UserCell"], div[role="button"][data-testid="UserCell"], [data-testid="UserCell"]',
  // The avatar container names the handle in its test id: UserAvatar-Container-HANDLE.
  avatarContainer: '[data-testid^="UserAvatar-Container-"]',
  avatarPrefix: 'UserAvatar-Container-',
  // Profile links: href="/HANDLE". The first with role=link holds the display name; the one
  // with tabindex=-1 holds "@HANDLE".
  profileLink: 'a[href^="/"][role="link"]',
  // Present only when that account follows the signed-in user.
  followsYou: '[data-testid="userFollowIndicator"]',
  // The follow button's test id carries the account's numeric X id: "123-follow",
  // "123-unfollow", "123-cancel", "123-unblock".
  followButton: '[data-testid$="-follow"], [data-testid$="-unfollow"], [data-testid$="-cancel"], [data-testid$="-unblock"]',
  followButtonId: /^(\d+)-(?:follow|unfollow|cancel|unblock)$/,
  // The verified badge sits inside the name link: not part of the name.
  verifiedBadge: 'svg[data-testid="icon-verified"]',
  // The bio has no test id: a div[dir=auto] outside every link, after the name block.
  bioCandidates: 'div[dir="auto"]',
  // Links in the bio are t.co redirects; their visible text is cut with "…".
  tcoLink: 'a[href^="https://t.co/"], a[href^="http://t.co/"]',
  // Shown while the next page of the list loads.
  progressbar: '[role="progressbar"]',
  // "Something went wrong. Try reloading." comes with a Retry button.
  retryButton: '[role="button"]',
  retryText: /^(retry|réessayer|reintentar|erneut versuchen|riprova)$/i,
  // A handle in an href: /HANDLE with nothing after it.
  handleHref: /^\/([A-Za-z0-9_]{1,15})$/,
});

// Follow-list pages: /USER/following, /USER/followers, /USER/verified_followers,
// /USER/followers_you_follow, /i/lists/ID/members, on x.com and twitter.com.
globalThis.Passerelle.listPage = function listPage(url) {
  let u;
  try {
    u = new URL(url);
  } catch (_) {
    return null;
  }
  if (!/^(x|twitter)\.com$/.test(u.hostname)) return null;
  let m = u.pathname.match(/^\/([A-Za-z0-9_]{1,15})\/(following|followers|verified_followers|followers_you_follow)\/?$/);
  if (m && !['i', 'home', 'explore', 'settings', 'search'].includes(m[1].toLowerCase())) {
    return { kind: m[2], owner: m[1], key: `${m[1].toLowerCase()}/${m[2]}` };
  }
  m = u.pathname.match(/^\/i\/lists\/(\d+)\/members\/?$/);
  if (m) return { kind: 'list_members', owner: m[1], key: `lists/${m[1]}/members` };
  return null;
};
