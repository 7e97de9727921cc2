/*
 * The phone page's link to the API: requests with the device token, and the queue
 * of work made on the phone (ggStore) sent in order, each item exactly once:
 * - every item carries the Idempotency-Key made when it was created, the same on
 *   every resend (the server answers a resend with its first answer);
 * - no network, a 5xx, a 429 or a 409 idempotency_in_progress: the item waits
 *   and is tried again later;
 * - 401: the item waits, locked to the person who made it ("log in again"),
 *   and the page asks for a login; it goes after that person's next login;
 * - any other 4xx (409, 422 …): the item is marked failed with the server's
 *   message and kept, for the worker to fix or discard — never dropped;
 * - a photo waits for its report (whose answer gives the incident code).
 */
window.ggSync = (function () {
  'use strict';

  var store = window.ggStore;
  var state = {api: '', token: null, owner: null, running: null, timer: null};
  var hooks = {authLost: function () {}, changed: function () {},
               reached: function () {}};
  var RETRY_MS = 20000;

  function init(apiRoot, h) {
    state.api = apiRoot;
    Object.keys(h || {}).forEach(function (k) { hooks[k] = h[k]; });
  }

  function setToken(token, owner) { state.token = token; state.owner = owner; }

  function errorText(res) {
    var e = res.body && res.body.error;
    if (e && e.message) { return e.message; }
    return res.status ? 'HTTP ' + res.status : '';
  }

  // fetch with the token; resolves {ok, status, body}, status 0 without network.
  function request(method, path, body, key) {
    var headers = {Accept: 'application/json'};
    if (state.token) { headers.Authorization = 'Bearer ' + state.token; }
    if (key) { headers['Idempotency-Key'] = key; }
    var payload = body;
    if (body !== undefined && !(body instanceof FormData)) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    var token = state.token;
    return fetch(state.api + path, {method: method, headers: headers, body: payload,
                                    credentials: 'omit', cache: 'no-store'})
      .then(function (res) {
        hooks.reached(true);
        return res.json().catch(function () { return null; }).then(function (b) {
          if (state.token !== token) {
            // logged out or revoked meanwhile: the answer is not kept (no
            // personal data cached after the wipe); an item waits, locked
            return {ok: false, status: 401, body: null, stale: true};
          }
          var out = {ok: res.ok, status: res.status, body: b};
          if (res.status === 401 && state.token) {
            hooks.authLost(b && b.error && b.error.code === 'device_revoked');
          }
          return out;
        });
      }, function () {
        hooks.reached(false);  // no answer: offline, whatever navigator.onLine says
        return {ok: false, status: 0, body: null};
      });
  }

  // Queue work: a list of items put together, then sent. An item's `parent` may
  // be the index of an earlier item of the list (a report's photos).
  function add(list) {
    var made = [];
    [].concat(list).forEach(function (fields) {
      var it = store.item(fields);
      it.owner = state.owner;
      if (typeof it.parent === 'number') { it.parent = made[it.parent].id; }
      made.push(it);
    });
    return made.reduce(function (p, it) {
      return p.then(function () { return store.put(it); });
    }, Promise.resolve()).then(function () {
      hooks.changed();
      return run().then(function () { return made; });
    });
  }

  // Worth sending again later: no network, the server busy or down, or the same
  // request still running there (409 idempotency_in_progress).
  function transient(res) {
    var s = res.status;
    return s === 0 || s === 429 || s >= 500 || (s === 409 && res.body && res.body.error &&
                                                res.body.error.code === 'idempotency_in_progress');
  }

  function sendOne(it, all) {
    var path = it.path;
    if (it.parent) {
      var parent = all.filter(function (p) { return p.id === it.parent; })[0];
      if (!parent) {
        it.state = 'failed';
        it.message = window.ggM.text('m_parent_discarded');
        return store.put(it).then(function () { return 'next'; });
      }
      if (parent.state !== 'sent') { return Promise.resolve('next'); }
      path = path.replace('{code}', encodeURIComponent(parent.result.code));
    }
    var body = it.body;
    if (it.photo) {
      body = new FormData();
      body.append('file', it.photo, 'photo.jpg');
    }
    it.state = 'sending';
    it.attempts += 1;
    return store.put(it).then(function () {
      hooks.changed();
      return request(it.method, path, body, it.id);
    }).then(function (res) {
      if (res.ok) {
        var b = res.body || {};
        it.state = 'sent';
        it.message = '';
        it.sent_at = new Date().toISOString();
        it.result = {status: res.status,
                     code: b.code || b.linked_to || (it.code || null),
                     distance_m: b.distance_m, stored: b.stored};
        delete it.photo;  // sent: no second copy of the picture on the phone
      } else if (res.status === 401) {
        it.state = 'login';
        it.message = errorText(res);
      } else if (transient(res)) {
        it.state = 'waiting';
        it.message = errorText(res);
      } else {
        it.state = 'failed';
        it.message = errorText(res);
      }
      return store.put(it).then(function () {
        if (res.ok) { return 'next'; }
        return res.status === 401 || transient(res) ? 'stop' : 'next';
      });
    });
  }

  // Send what waits, oldest first; one run at a time.
  function run() {
    if (state.running) {
      return state.running.then(function () { return run(); });
    }
    if (!state.token) { return Promise.resolve(); }
    state.running = store.queue().then(function (all) {
      var todo = all.filter(function (it) {
        return (it.state === 'waiting' || it.state === 'sending') &&
          (!it.owner || it.owner === state.owner);
      });
      var i = 0;
      function step() {
        if (i >= todo.length) { return Promise.resolve(); }
        var it = todo[i++];
        return sendOne(it, all).then(function (next) {
          hooks.changed();
          return next === 'stop' ? schedule() : step();
        });
      }
      return step();
    }).then(tidy).catch(function (e) {
      console.warn('queue', e);
    }).then(function () {
      state.running = null;
      hooks.changed();
    });
    return state.running;
  }

  function schedule() {
    clearTimeout(state.timer);
    state.timer = setTimeout(run, RETRY_MS);
  }

  // Sent items are kept a day (the worker sees them go), unless a waiting photo
  // still needs its report's code.
  function tidy() {
    return store.queue().then(function (all) {
      var needed = {};
      all.forEach(function (it) { if (it.parent && it.state !== 'sent') { needed[it.parent] = 1; } });
      var old = Date.now() - 24 * 3600 * 1000;
      return Promise.all(all.filter(function (it) {
        return it.state === 'sent' && !needed[it.id] && Date.parse(it.sent_at) < old;
      }).map(function (it) { return store.drop(it.id); }));
    });
  }

  // After a login: what the same person left waiting (locked) goes again.
  function resume() {
    return store.queue().then(function (all) {
      return Promise.all(all.filter(function (it) {
        return it.state === 'login' && (!it.owner || it.owner === state.owner);
      })
        .map(function (it) { it.state = 'waiting'; return store.put(it); }));
    }).then(run);
  }

  // A failed item, fixed or not, tried again: a new key, since the refused
  // request created nothing.
  function retry(it) {
    it.id_before = it.id;
    return store.drop(it.id).then(function () {
      var fresh = store.item({});
      it.id = fresh.id;
      it.state = 'waiting';
      it.message = '';
      return store.put(it);
    }).then(function () {
      // its photos follow the new id
      return store.queue();
    }).then(function (all) {
      return Promise.all(all.filter(function (c) { return c.parent === it.id_before; })
        .map(function (c) {
          c.parent = it.id;
          if (c.state === 'failed') { c.state = 'waiting'; c.message = ''; }
          return store.put(c);
        }));
    }).then(function () { hooks.changed(); return run(); });
  }

  // Discard an item and the photos that wait for it.
  function discard(it) {
    return store.queue().then(function (all) {
      return Promise.all(all.filter(function (c) {
        return c.id === it.id || c.parent === it.id;
      }).map(function (c) { return store.drop(c.id); }));
    }).then(function () { hooks.changed(); });
  }

  window.addEventListener('online', function () { run(); });

  return {init: init, setToken: setToken, request: request, add: add, run: run,
          resume: resume, retry: retry, discard: discard, errorText: errorText,
          state: state};
}());
