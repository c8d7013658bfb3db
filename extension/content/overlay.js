// The live overlay while a list is scanned and resolved: accounts so far, progress of the
// look-ups, and a Stop button. All text goes in with textContent, never as HTML.
'use strict';

(function () {
  const P = globalThis.Passerelle;
  const api = globalThis.browser || globalThis.chrome;
  const t = (key, subs) => api.i18n.getMessage(key, subs) || key;
  const fmt = (n) => Number(n).toLocaleString(api.i18n.getUILanguage());

  P.Overlay = class Overlay {
    constructor(onStop) {
      this.el = document.createElement('div');
      this.el.setAttribute('data-testid', 'passerelle-overlay');
      this.el.setAttribute('role', 'status');
      this.el.setAttribute('aria-live', 'polite');
      // The extension's own look (pages/theme.css, its dark colours), whatever X's theme.
      Object.assign(this.el.style, {
        position: 'fixed', top: '12px', right: '12px', zIndex: '2147483647',
        background: '#0f1419', color: '#e7e9ea', padding: '16px', borderRadius: '10px',
        font: '15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
        boxShadow: '0 1px 2px rgba(0,0,0,.4), 0 4px 12px rgba(0,0,0,.3)', border: '1px solid #33404b',
        borderLeft: '4px solid #7cb8ff', maxWidth: '340px',
      });
      this.text = document.createElement('div');
      this.text.setAttribute('data-testid', 'passerelle-overlay-text');
      this.stopBtn = document.createElement('button');
      this.stopBtn.type = 'button';
      this.stopBtn.setAttribute('data-testid', 'passerelle-stop');
      this.stopBtn.textContent = t('stop');
      Object.assign(this.stopBtn.style, {
        marginTop: '12px', padding: '6px 16px', borderRadius: '999px', border: '1px solid #6f7f8c',
        background: 'transparent', color: '#e7e9ea', cursor: 'pointer', font: '600 13px system-ui, sans-serif',
      });
      this.stopBtn.addEventListener('click', () => onStop());
      this.el.append(this.text, this.stopBtn);
      document.body.appendChild(this.el);
    }

    scanning(count) {
      this.text.textContent = t('scanningCount', [fmt(count)]);
    }

    resolving(done, total) {
      this.stopBtn.hidden = true;
      this.text.textContent = t('resolvingProgress', [fmt(done), fmt(total)]);
    }

    paused() {
      this.text.textContent = t('scanPaused');
    }

    message(text) {
      this.stopBtn.hidden = true;
      this.text.textContent = text;
    }

    remove() {
      this.el.remove();
    }
  };
})();
