// Pure: the "I am moving" message to post on X, in English or French, with the user's own new
// handles and their starter pack when they made one, worded to fit in one post (280).
'use strict';

const ANNOUNCE = {
  en: {
    intro: 'I am leaving X. You can find me here:',
    bluesky: (h) => `🦋 Bluesky: @${h}`,
    fedi: (a) => `🐘 Mastodon / fediverse: @${a}`,
    pack: (u) => `My people, to follow in one click: ${u}`,
    outro: 'Found with Passerelle.',
  },
  fr: {
    intro: 'Je quitte X. Vous pouvez me retrouver ici :',
    bluesky: (h) => `🦋 Bluesky : @${h}`,
    fedi: (a) => `🐘 Mastodon / fédivers : @${a}`,
    pack: (u) => `Mes contacts, à suivre en un clic : ${u}`,
    outro: 'Retrouvés avec Passerelle.',
  },
};

// at://did/app.bsky.graph.starterpack/rkey → https://bsky.app/starter-pack/did/rkey
function starterPackUrl(uri) {
  const m = /^at:\/\/(did:[a-z]+:[A-Za-z0-9._:%-]+)\/app\.bsky\.graph\.starterpack\/([A-Za-z0-9._~:-]+)$/.exec(uri || '');
  return m ? `https://bsky.app/starter-pack/${m[1]}/${m[2]}` : null;
}

// X's count: a link weighs 23 characters, an emoji 2.
function weight(text) {
  const noLinks = text.replace(/https?:\/\/\S+/g, '');
  const links = (text.match(/https?:\/\/\S+/g) || []).length;
  return [...noLinks].reduce((n, ch) => n + (ch.codePointAt(0) > 0xffff ? 2 : 1), 0) + 23 * links;
}

function announcement(lang, bluesky, fediverse, packUrl) {
  const w = ANNOUNCE[lang] || ANNOUNCE.en;
  const b = (bluesky || '').trim().replace(/^@/, '');
  const f = (fediverse || '').trim().replace(/^@/, '');
  // From the fullest wording to the shortest, the first that fits in a post.
  const versions = [
    [w.intro, b && w.bluesky(b), f && w.fedi(f), packUrl && w.pack(packUrl), w.outro],
    [w.intro, b && w.bluesky(b), f && w.fedi(f), packUrl && w.pack(packUrl)],
    [b && `🦋 @${b}`, f && `🐘 @${f}`, packUrl],
  ].map((lines) => lines.filter(Boolean).join('\n'));
  return versions.find((text) => weight(text) <= 280) || versions[versions.length - 1];
}

if (typeof module !== 'undefined') module.exports = { announcement, starterPackUrl, weight };
