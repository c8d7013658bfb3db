// The toolbar popup: where things stand, scan the current page, open the results.
'use strict';

const LIST_PAGE = /^https:\/\/(x|twitter)\.com\/(([A-Za-z0-9_]{1,15})\/(following|followers|verified_followers|followers_you_follow)|i\/lists\/\d+\/members)\/?$/;

async function init() {
  translatePage();
  const status = document.getElementById('status');
  const { current } = await api.storage.local.get('current');
  if (current) {
    const got = await api.storage.local.get([`scan:${current}`, `job:${current}`]);
    const scan = got[`scan:${current}`];
    const job = got[`job:${current}`];
    status.textContent = t('popupLastList', [fmt(scan ? scan.order.length : 0), fmt(job ? job.done : 0)]);
  } else {
    status.textContent = t('popupStatusIdle');
  }
  const [tab] = await api.tabs.query({ active: true, currentWindow: true });
  const scan = document.getElementById('scan');
  if (tab && tab.url && LIST_PAGE.test(tab.url.split(/[?#]/)[0])) {
    scan.disabled = false;
    scan.addEventListener('click', async () => {
      await api.tabs.sendMessage(tab.id, { type: 'scan-this-page' });
      window.close();
    });
  }
  document.getElementById('open').addEventListener('click', async () => {
    const url = api.runtime.getURL('pages/results.html' + (current ? `?list=${encodeURIComponent(current)}` : ''));
    await api.tabs.create({ url });
    window.close();
  });
}

init();
