// Shared by the extension pages: the API namespace, translations, number formatting.
'use strict';

const api = globalThis.browser || globalThis.chrome;
const t = (key, subs) => api.i18n.getMessage(key, subs) || key;
const fmt = (n) => Number(n).toLocaleString(api.i18n.getUILanguage());

// Elements with data-i18n get their text (data-i18n-placeholder, -title, -aria-label: those
// attributes) translated.
function translatePage() {
  document.documentElement.lang = api.i18n.getUILanguage().split('-')[0];
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  }
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of document.querySelectorAll('[data-i18n-aria-label]')) {
    el.setAttribute('aria-label', t(el.dataset.i18nAriaLabel));
  }
}

// An element with attributes and children; text is always set as text, never parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

// Only http(s) links are rendered as links: a javascript: URL from a profile stays text.
function safeUrl(url) {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : null;
  } catch (_) {
    return null;
  }
}

// RFC 3492 (Punycode) decoding of one label: `xn--colo-9oa` → `écolo`. Browsers keep host
// names in their ASCII form and offer no decoder; people should read their server's name.
function punycodeLabel(label) {
  if (!/^xn--/i.test(label)) return label;
  const input = label.slice(4).toLowerCase();
  const base = 36;
  const tMin = 1;
  const tMax = 26;
  const skew = 38;
  const damp = 700;
  const cut = input.lastIndexOf('-');
  const out = cut > 0 ? [...input.slice(0, cut)].map((c) => c.codePointAt(0)) : [];
  let n = 128;
  let i = 0;
  let bias = 72;
  const adapt = (delta, points, first) => {
    let d = first ? Math.floor(delta / damp) : delta >> 1;
    d += Math.floor(d / points);
    let k = 0;
    while (d > ((base - tMin) * tMax) >> 1) {
      d = Math.floor(d / (base - tMin));
      k += base;
    }
    return k + Math.floor(((base - tMin + 1) * d) / (d + skew));
  };
  for (let pos = cut > 0 ? cut + 1 : 0; pos < input.length;) {
    const oldi = i;
    let w = 1;
    for (let k = base; ; k += base) {
      if (pos >= input.length) return label; // malformed: show it as it is
      const c = input.charCodeAt(pos++);
      const digit = c - 48 < 10 ? c - 22 : c - 97 < 26 ? c - 97 : base;
      if (digit >= base) return label;
      i += digit * w;
      const t = k <= bias ? tMin : k >= bias + tMax ? tMax : k - bias;
      if (digit < t) break;
      w *= base - t;
    }
    bias = adapt(i - oldi, out.length + 1, oldi === 0);
    n += Math.floor(i / (out.length + 1));
    i %= out.length + 1;
    if (n > 0x10ffff) return label;
    out.splice(i++, 0, n);
  }
  return String.fromCodePoint(...out);
}

// An address as people read it: `alice@xn--colo-9oa.social` → `alice@écolo.social`.
function readableAddress(address) {
  const at = address.lastIndexOf('@');
  const user = at >= 0 ? address.slice(0, at + 1) : '';
  const host = at >= 0 ? address.slice(at + 1) : address;
  return user + host.split('.').map(punycodeLabel).join('.');
}
