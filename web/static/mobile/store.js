/*
 * What the phone page keeps on the phone (IndexedDB "gridgov-m"):
 *   kv     token, the person (me), the last-synced tasks, households and grids,
 *          the running patrol;
 *   queue  the work made on the phone and not yet sent (reports, photos, task
 *          actions, visits, patrol batches), one record per request, keyed by its
 *          Idempotency-Key.
 * Photos of tasks shown on the page go to the Cache Storage "gg-m-data".
 * wipe() removes all of it (logout, or a device the centre revoked).
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
      req.onblocked = function () { db = null; reject(new Error('IndexedDB blocked')); };
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

  // Everything but the queue (a revoked device: the person's unsent work waits
  // for their next login), or everything (logout).
  function wipe(keepQueue) {
    var caches_ = window.caches ? caches.delete(DATA_CACHE) : Promise.resolve();
    if (keepQueue) {
      return Promise.all([caches_, tx('kv', 'readwrite', function (s) {
        return s.clear();
      })]);
    }
    var closing = db ? db.then(function (conn) { conn.close(); }, function () {}) :
      Promise.resolve();
    db = null;
    return Promise.all([caches_, closing.then(function () {
      return new Promise(function (resolve) {
        var req = indexedDB.deleteDatabase(NAME);
        req.onsuccess = req.onerror = req.onblocked = function () { resolve(); };
      });
    })]);
  }

  return {get: get, set: set, del: del, queue: queue, put: put, drop: drop,
          item: item, uuid: uuid, wipe: wipe, DATA_CACHE: DATA_CACHE};
}());
