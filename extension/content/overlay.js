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
      Object.assign(this.el.style, {
        position: 'fixed', top: '12px', right: '12px', zIndex: '2147483647',
        background: '#0f1419', color: '#fff', padding: '12px 16px', borderRadius: '12px',
        font: '14px/1.4 system-ui, sans-serif', boxShadow: '0 4px 16px rgba(0,0,0,.3)',
        maxWidth: '320px',
      });
      this.text = document.createElement('div');
      this.text.setAttribute('data-testid', 'passerelle-overlay-text');
      this.stopBtn = document.createElement('button');
      this.stopBtn.type = 'button';
      this.stopBtn.setAttribute('data-testid', 'passerelle-stop');
      this.stopBtn.textContent = t('stop');
      Object.assign(this.stopBtn.style, {
        marginTop: '8px', padding: '4px 12px', borderRadius: '999px', border: '1px solid #fff',
        background: 'transparent', color: '#fff', cursor: 'pointer',
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
