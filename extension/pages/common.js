// Shared by the extension pages: the API namespace, translations, number formatting.
'use strict';

const api = globalThis.browser || globalThis.chrome;
const t = (key, subs) => api.i18n.getMessage(key, subs) || key;
const fmt = (n) => Number(n).toLocaleString(api.i18n.getUILanguage());

// Elements with data-i18n get their text (data-i18n-placeholder: their placeholder) translated.
function translatePage() {
  document.documentElement.lang = api.i18n.getUILanguage().split('-')[0];
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-placeholder]')) {
    el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  }
  for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
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
