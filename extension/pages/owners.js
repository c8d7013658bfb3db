// One destination, one owner, over the whole list (the service sees one batch at a time): the
// same rule as server/resolve/owners.py, held to the same hand-written table (tests/tables/one_owner.md).
// A destination is pre-selected for at most one X account, the one with the strongest proof;
// the others drop to "possible" with the reason "claimed-by-other" and `claimed_by` naming the
// X account that keeps it (or, when no one stands out, another claimant).
'use strict';

const OWNER_PRESELECTED = new Set(['confirmed', 'likely']);

function ownerDestination(net, match) {
  const id = net === 'bluesky' ? (match.did || match.handle) : match.acct;
  return String(id || '').toLowerCase();
}

// Strongest first: the link back, the same name, confirmed rather than likely, the same handle.
function ownerStrength(match) {
  const reasons = new Set(match.reasons || []);
  return [reasons.has('reverse-link'), reasons.has('same-name'), match.level === 'confirmed',
    reasons.has('same-handle')].map(Number);
}

function compareStrength(a, b) {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

// `results`: the list's answers in list order (null where none yet). Returns a new array; the
// objects that change are copies.
function settleOwners(results) {
  const out = results.slice();
  for (const net of ['bluesky', 'mastodon']) {
    const claims = new Map(); // destination → Map(X handle → positions)
    results.forEach((r, i) => {
      const m = r && r[net];
      if (!m || typeof m !== 'object' || !OWNER_PRESELECTED.has(m.level)) return;
      const key = ownerDestination(net, m);
      if (!key) return;
      const x = String(r.handle || '').toLowerCase();
      if (!claims.has(key)) claims.set(key, new Map());
      const byHandle = claims.get(key);
      if (!byHandle.has(x)) byHandle.set(x, []);
      byHandle.get(x).push(i);
    });
    for (const byHandle of claims.values()) {
      if (byHandle.size < 2) continue;
      const ranked = [...byHandle.entries()].sort((a, b) =>
        compareStrength(ownerStrength(results[b[1][0]][net]), ownerStrength(results[a[1][0]][net])));
      const top = ownerStrength(results[ranked[0][1][0]][net]);
      const owner = compareStrength(ownerStrength(results[ranked[1][1][0]][net]), top) < 0 ? ranked[0][0] : null;
      for (const [x, positions] of ranked) {
        if (x === owner) continue;
        const named = owner || ranked.find(([h]) => h !== x)[0];
        const namedHandle = results[byHandle.get(named)[0]].handle;
        for (const i of positions) {
          const match = { ...out[i][net], level: 'possible', claimed_by: namedHandle };
          const reasons = [...(match.reasons || [])];
          if (!reasons.includes('claimed-by-other')) reasons.push('claimed-by-other');
          match.reasons = reasons;
          out[i] = { ...out[i], [net]: match };
        }
      }
    }
  }
  return out;
}
