// Options: the companion service's address (checked with /api/health through the background,
// the only part that talks to the network) and the networks to search.
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
  const nets = Array.isArray(s.networks) && s.networks.length ? s.networks : ['bluesky', 'mastodon'];
  document.getElementById('net-bluesky').checked = nets.includes('bluesky');
  document.getElementById('net-mastodon').checked = nets.includes('mastodon');

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
    const answer = await api.runtime.sendMessage({ type: 'health', url: origin });
    out.textContent = answer && answer.ok && answer.body && answer.body.status === 'ok'
      ? t('optionsHealthOk', [String(answer.body.version)])
      : t('optionsHealthBad');
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
    await api.storage.local.set({ settings: { serviceUrl: origin, networks: networks.length ? networks : ['bluesky', 'mastodon'] } });
    url.value = origin;
    saved.textContent = t('optionsSaved');
  });
}

init();
