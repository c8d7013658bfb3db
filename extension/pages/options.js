// Options: the companion service's address (checked with /api/health through the background,
// the only part that talks to the network), its access token when a hosted service asks for
// one (session storage only: memory, never disk), and the networks to search.
'use strict';

const CONFIG = globalThis.PASSERELLE_CONFIG;

function parseUrl(text) {
  try {
    const u = new URL(text.trim());
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    return u.origin;
  } catch (_) {
    return null;
  }
}

async function ensurePermission(origin) {
  const pattern = `${origin}/*`;
  if (await api.permissions.contains({ origins: [pattern] })) return true;
  return api.permissions.request({ origins: [pattern] });
}

async function init() {
  translatePage();
  const { settings } = await api.storage.local.get('settings');
  const s = settings || {};
  const url = document.getElementById('url');
  url.value = s.serviceUrl || CONFIG.defaultServiceUrl;
  const token = document.getElementById('token');
  const session = api.storage.session; // memory only: a token is a credential
  if (session) token.value = (await session.get('token')).token || '';
  const nets = Array.isArray(s.networks) && s.networks.length ? s.networks : ['bluesky', 'mastodon'];
  document.getElementById('net-bluesky').checked = nets.includes('bluesky');
  document.getElementById('net-mastodon').checked = nets.includes('mastodon');
  for (const radio of document.querySelectorAll('input[name=recheck]')) radio.checked = radio.value === s.recheck;

  document.getElementById('check').addEventListener('click', async () => {
    const out = document.getElementById('health');
    const origin = parseUrl(url.value);
    if (!origin) {
      out.textContent = t('optionsBadUrl');
      return;
    }
    if (!(await ensurePermission(origin))) {
      out.textContent = t('optionsPermission');
      return;
    }
    const answer = await api.runtime.sendMessage({ type: 'health', url: origin, token: token.value.trim() });
    if (!(answer && answer.ok && answer.body && answer.body.status === 'ok')) out.textContent = t('optionsHealthBad');
    else if (!answer.tokenOk) out.textContent = t('optionsTokenRefused');
    else out.textContent = t('optionsHealthOk', [String(answer.body.version)]);
  });

  document.getElementById('save').addEventListener('click', async () => {
    const saved = document.getElementById('saved');
    const origin = parseUrl(url.value);
    if (!origin) {
      saved.textContent = t('optionsBadUrl');
      return;
    }
    if (!(await ensurePermission(origin))) {
      saved.textContent = t('optionsPermission');
      return;
    }
    const networks = ['bluesky', 'mastodon'].filter((n) => document.getElementById(`net-${n}`).checked);
    const chosen = document.querySelector('input[name=recheck]:checked');
    const current = (await api.storage.local.get('settings')).settings || {};
    await api.storage.local.set({
      settings: {
        ...current,
        serviceUrl: origin,
        networks: networks.length ? networks : ['bluesky', 'mastodon'],
        ...(chosen ? { recheck: chosen.value } : {}),
      },
    });
    if (session) {
      const value = token.value.trim();
      if (value) await session.set({ token: value });
      else await session.remove('token');
    }
    url.value = origin;
    saved.textContent = t('optionsSaved');
  });
}

init();
