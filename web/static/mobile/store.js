/*
 * What the phone page keeps on the phone (IndexedDB "gridgov-m"):
 *   kv     token, the person (me), the last-synced tasks, households and grids,
 *          the running patrol;
 *   queue  the work made on the phone and not yet sent (reports, photos, task
 *          actions, visits, patrol batches), one record per request, keyed by its
 *          Idempotency-Key.
 * Photos of tasks shown on the page go to the Cache Storage "gg-m-data".
 * wipe() (logout, or a device the centre revoked) removes all of it but the
 * unsent work, which waits, locked, for its maker's next login.
 */
window.ggStore = (function () {
  'use strict';

  var NAME = 'gridgov-m';
  var DATA_CACHE = 'gg-m-data';
  var db = null;
  var seq = 0;

  // One connection, opened once (concurrent first calls share it); closed when
  // the database is deleted (the wipe) so that the deletion is never blocked.
  function open() {
    if (db) { return db; }
    db = new Promise(function (resolve, reject) {
      var req = indexedDB.open(NAME, 1);
      req.onupgradeneeded = function () {
        var d = req.result;
        if (!d.objectStoreNames.contains('kv')) { d.createObjectStore('kv'); }
        if (!d.objectStoreNames.contains('queue')) {
          d.createObjectStore('queue', {keyPath: 'id'});
        }
      };
      req.onsuccess = function () {
        var conn = req.result;
        conn.onversionchange = function () { conn.close(); db = null; };
        resolve(conn);
      };
      req.onerror = function () { db = null; reject(req.error); };
      req.onblocked = function () { db = null; reject(new Error(window.ggM.text('m_store_blocked'))); };
    });
    return db;
  }

  // Run fn(objectStore) in a transaction; resolves with the last request's result
  // once the transaction has committed.
  function tx(store, mode, fn) {
    return open().then(function (d) {
      return new Promise(function (resolve, reject) {
        var t = d.transaction(store, mode);
        var req = fn(t.objectStore(store));
        t.oncomplete = function () { resolve(req ? req.result : undefined); };
        t.onerror = t.onabort = function () { reject(t.error); };
      });
    });
  }

  function get(key) { return tx('kv', 'readonly', function (s) { return s.get(key); }); }
  function set(key, value) {
    return tx('kv', 'readwrite', function (s) { return s.put(value, key); });
  }
  function del(key) { return tx('kv', 'readwrite', function (s) { return s.delete(key); }); }

  function queue() {
    return tx('queue', 'readonly', function (s) { return s.getAll(); }).then(
      function (items) { return items.sort(function (a, b) { return a.seq - b.seq; }); });
  }
  function put(item) {
    return tx('queue', 'readwrite', function (s) { return s.put(item); });
  }
  function drop(id) {
    return tx('queue', 'readwrite', function (s) { return s.delete(id); });
  }

  // A version-4 UUID; crypto.randomUUID exists only on secure pages, the
  // random bytes everywhere.
  function uuid() {
    if (window.crypto && crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' +
      h.slice(16, 20) + '-' + h.slice(20);
  }

  // A new queue record: its id is the Idempotency-Key of every (re)send.
  function item(fields) {
    seq += 1;
    var it = {id: uuid(), seq: Date.now() * 1000 + (seq % 1000), state: 'waiting',
              created_at: new Date().toISOString(), message: '', result: null,
              attempts: 0};
    Object.keys(fields).forEach(function (k) { it[k] = fields[k]; });
    return it;
  }

  // Logout, or a device the centre revoked: everything cached goes at once (the
  // token, the person, tasks, households, grids, photos) and so do the items
  // already sent; the unsent work stays, locked to the person who made it (state
  // 'login': sent after their next login on this phone, never with another's
  // token). Nothing left: the database itself goes.
  function wipe() {
    var caches_ = window.caches ? caches.delete(DATA_CACHE) : Promise.resolve();
    var kept = tx('kv', 'readwrite', function (s) { return s.clear(); })
      .then(queue).then(function (all) {
        return Promise.all(all.map(function (it) {
          if (it.state === 'sent') { return drop(it.id); }
          if (it.state === 'waiting' || it.state === 'sending') {
            it.state = 'login';
            return put(it);
          }
        })).then(function () {
          return all.some(function (it) { return it.state !== 'sent'; });
        });
      });
    return Promise.all([caches_, kept]).then(function (r) {
      return r[1] ? undefined : removeDatabase();
    });
  }

  function removeDatabase() {
    var closing = db ? db.then(function (conn) { conn.close(); }, function () {}) :
      Promise.resolve();
    db = null;
    return closing.then(function () {
      return new Promise(function (resolve) {
        var req = indexedDB.deleteDatabase(NAME);
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      });
    });
  }

  // The unsent items on this phone, by the person who made them: {owner: n}.
  function unsentByOwner() {
    return queue().then(function (all) {
      var by = {};
      all.forEach(function (it) {
        if (it.state !== 'sent') { by[it.owner || ''] = (by[it.owner || ''] || 0) + 1; }
      });
      return by;
    });
  }

  // Every item (sent or not) of the people other than ``owner``.
  function dropOthers(owner) {
    return queue().then(function (all) {
      return Promise.all(all.filter(function (it) {
        return it.owner && it.owner !== owner;
      }).map(function (it) { return drop(it.id); }));
    });
  }

  return {get: get, set: set, del: del, queue: queue, put: put, drop: drop,
          item: item, uuid: uuid, wipe: wipe, unsentByOwner: unsentByOwner,
          dropOthers: dropOthers, DATA_CACHE: DATA_CACHE};
}());
