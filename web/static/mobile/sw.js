/*
 * The phone page's service worker, served as /m/sw.js (scope /m/) with VERSION
 * and SHELL (the app shell's URLs) prepended by web/mobile.py.
 *
 * It keeps the app shell (the page, its scripts, styles, icons, Leaflet) so the
 * page opens without signal. It never touches the API: the page itself keeps the
 * person's data in IndexedDB and sends its queue (static/mobile/sync.js), so no
 * answer that holds personal data is cached here.
 */
/* global VERSION, SHELL */
'use strict';

var CACHE = 'gg-m-shell-' + VERSION;

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(SHELL.map(function (url) {
      return new Request(url, {cache: 'reload', credentials: 'omit'});
    }));
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) {
      return k.indexOf('gg-m-shell-') === 0 && k !== CACHE;
    }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function inShell(url) {
  return SHELL.indexOf(url.pathname) >= 0;
}

self.addEventListener('fetch', function (event) {
  var req = event.request;
  if (req.method !== 'GET') { return; }
  var url = new URL(req.url);
  if (url.origin !== self.location.origin || !inShell(url)) { return; }
  // the shell copy first (a new version of any file is a new worker, which
  // caches the shell again at install); the network for what is not cached
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(url.pathname).then(function (hit) {
      return hit || fetch(req).then(function (res) {
        if (res.ok) { cache.put(url.pathname, res.clone()); }
        return res;
      });
    });
  }));
});
