// Adds the Passerelle button to every follow-list page, including after X's in-app
// navigation (no reload), and runs a scan when it is clicked.
'use strict';

(function () {
  const P = globalThis.Passerelle;
  const S = P.selectors;
  const api = globalThis.browser || globalThis.chrome;
  const t = (key, subs) => api.i18n.getMessage(key, subs) || key;
  const fmt = (n) => Number(n).toLocaleString(api.i18n.getUILanguage());

  let current = null; // { page, bar, button }
  let running = null; // the scanner at work, if any

  function makeBar(page) {
    const bar = document.createElement('div');
    bar.setAttribute('data-passerelle', 'bar');
    Object.assign(bar.style, { padding: '8px 16px', display: 'flex', gap: '8px', alignItems: 'center' });
    const button = document.createElement('button');
    button.type = 'button';
    button.setAttribute('data-testid', 'passerelle-scan');
    // The extension's own look (pages/theme.css: the accent, 6.8:1 with white), on X's page.
    Object.assign(button.style, {
      padding: '8px 18px', borderRadius: '999px', border: '0', cursor: 'pointer',
      background: '#0058b8', color: '#fff', font: '600 15px/1.2 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    });
    button.textContent = t('scanButton');
    button.title = t('scanButtonTitle');
    button.addEventListener('click', () => start(page));
    bar.appendChild(button);
    P.loadScan(page).then((saved) => {
      if (saved && saved.state === 'scanning' && saved.order.length && !running) {
        button.textContent = t('resumeButton', [fmt(saved.order.length)]);
      }
    });
    return { page, bar, button };
  }

  function place(entry) {
    const col = document.querySelector(S.primaryColumn);
    if (!col) return false;
    const region = col.querySelector(S.listRegion);
    if (!region || !region.parentElement) return false;
    if (entry.bar.isConnected) return true;
    region.parentElement.insertBefore(entry.bar, region);
    return true;
  }

  async function start(page) {
    if (running) return;
    const button = current && current.button;
    if (button) button.disabled = true;
    const overlay = new P.Overlay(() => running && running.stop());
    try {
      running = await new P.Scanner(page, (n) => overlay.scanning(n),
        (paused) => (paused ? overlay.paused() : overlay.scanning(running.count()))).init();
      const state = await running.run();
      if (!state.order.length) {
        // Nothing to send: an empty list, or (rows present, none readable) a page X changed.
        overlay.message(t(running.unreadable ? 'scanUnreadable' : 'scanNothingRead'));
        return;
      }
      overlay.resolving(0, state.order.length);
      await api.runtime.sendMessage({ type: 'resolve', key: page.key });
      watchJob(page.key, overlay);
    } catch (e) {
      overlay.message(t('scanFailed'));
      console.warn('Passerelle scan failed', e && e.message);
    } finally {
      running = null;
      if (button) button.disabled = false;
    }
  }

  // Follow the background's progress in storage until it is done.
  function watchJob(key, overlay) {
    const listener = (changes, area) => {
      if (area !== 'local' || !changes[`job:${key}`]) return;
      const job = changes[`job:${key}`].newValue;
      if (!job) return;
      if (job.status === 'done') {
        overlay.message(t('resolvedDone', [fmt(job.total)]));
        api.storage.onChanged.removeListener(listener);
        setTimeout(() => overlay.remove(), 4000);
      } else if (job.status === 'error') {
        overlay.message(t('resolveFailed'));
        api.storage.onChanged.removeListener(listener);
      } else if (job.unreachable) {
        overlay.message(t('serviceUnreachable', [job.unreachable]));
      } else {
        overlay.resolving(job.done, job.total);
      }
    };
    api.storage.onChanged.addListener(listener);
  }

  function tick() {
    const page = P.listPage(location.href);
    if (current && (!page || page.key !== current.page.key)) {
      current.bar.remove();
      current = null;
    }
    if (page && !current) current = makeBar(page);
    if (current) place(current);
  }

  // X is a single-page app: watch the address, not page loads.
  setInterval(tick, 400);
  tick();
  api.runtime.onMessage.addListener((msg) => {
    if (msg && msg.type === 'scan-this-page') {
      const page = P.listPage(location.href);
      if (page) start(page);
    }
  });
})();
