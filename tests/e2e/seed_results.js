// A scanned list of n accounts and their answers, written straight into the extension's storage
// (for the results page at scale: every second account on Bluesky, every fifth on Mastodon).
(n) => {
  const order = [];
  const accounts = {};
  const results = {};
  const levels = ['confirmed', 'likely', 'possible'];
  for (let i = 0; i < n; i++) {
    const h = `user${i}`;
    order.push(h);
    accounts[h] = { handle: h, name: `User ${i} 🦋`, bio: '', url: null, links: [], id: String(i),
      follows_you: i % 3 === 0 };
    results[h] = {
      handle: h, error: null, candidates: { bluesky: [], mastodon: [] },
      bluesky: i % 2 ? { handle: `${h}.bsky.social`, did: `did:plc:user${i}`, display_name: `User ${i}`,
        url: `https://bsky.app/profile/${h}.bsky.social`, avatar: null, level: levels[i % 3],
        reasons: ['same-handle'], bridged: false } : null,
      mastodon: i % 5 ? null : { acct: `${h}@piaille.fr`, url: `https://piaille.fr/@${h}`,
        display_name: `User ${i}`, avatar: null, level: 'confirmed', reasons: ['bio-handle'],
        bridged: false },
    };
  }
  return chrome.storage.local.set({
    'scan:big/following': { key: 'big/following', order, accounts, state: 'done' },
    'results:big/following': results,
    current: 'big/following',
  });
}
