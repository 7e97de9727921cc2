/*
 * The phone page's frame: login (POST /devices, the token kept in IndexedDB for
 * its 30 days), logout and revocation (what is cached wiped at once, the unsent
 * work kept locked for the same person's next login), the tabs,
 * the outbox (待发送) with each item's state, the network mark, the service
 * worker, and the minute's poll for new tasks while the page is open.
 */
(function (M) {
  'use strict';

  var $ = M.$;
  var root = $('m');
  var POLL_MS = 60000;
  var poll = null;
  M.tab = 'report';
  M.queued = [];
  window.gridgovMobile = M;  // for the browser tests

  function registerWorker() {
    if (!('serviceWorker' in navigator)) { return; }
    navigator.serviceWorker.register(M.cfg.urls.sw, {scope: M.cfg.urls.scope})
      .then(function () { root.dataset.sw = 'registered'; },
            function (e) { root.dataset.sw = 'failed'; console.warn('sw', e); });
    navigator.serviceWorker.ready.then(function () { root.dataset.sw = 'active'; });
  }

  var reachable = true;
  function net() {
    var on = navigator.onLine && reachable;
    var mark = $('m-net');
    mark.textContent = M.zh(on ? 'm_online' : 'm_offline');
    mark.className = 'm-net ' + (on ? 'm-on' : 'm-off');
  }

  // ---- login / logout -----------------------------------------------------
  function showLogin(key, kind) {
    stopPolling();
    root.dataset.state = 'login';
    $('m-main').hidden = true;
    $('m-tabs').hidden = true;
    $('m-logout').hidden = true;
    $('m-who').textContent = '';
    $('m-login').hidden = false;
    if (key) { M.msg(key, null, kind || 'warn'); }
    return M.store.unsentByOwner().then(function (by) {
      var p = $('m-login-pending');
      M.clear(p);
      var owners = Object.keys(by);
      p.hidden = !owners.length;
      owners.forEach(function (owner) {  // locked: sent after that person logs in
        var line = M.both('m_waiting_login', {n: by[owner], user: owner || '—'});
        p.appendChild(M.el('span', {className: 'm-line'}, line));
      });
    }).catch(function () {});
  }

  function deviceLabel() {
    var ua = navigator.userAgent;
    var kind = /wxwork/i.test(ua) ? '企业微信' : /DingTalk/i.test(ua) ? '钉钉' :
      /MicroMessenger/i.test(ua) ? '微信' : '';
    return (M.zh('m_app_short') + ' ' + kind + ' ' +
            (ua.match(/\(([^)]*)\)/) || ['', ''])[1]).slice(0, 100);
  }

  function login(e) {
    e.preventDefault();
    var username = $('m-username').value.trim();
    var password = $('m-password').value;
    var go = $('m-login-go');
    go.disabled = true;
    M.sync.setToken(null, null);
    M.sync.request('POST', '/devices', {username: username, password: password,
                                        label: deviceLabel()})
      .then(function (res) {
        go.disabled = false;
        if (!res.ok || !res.body || !res.body.token) {
          return M.msg('m_login_failed', {msg: M.sync.errorText(res) ||
                                                M.zh('m_net_error')}, 'err');
        }
        return othersWork(res.body.me.username).then(function (ok) {
          if (!ok) {  // the other person's work stays; this login is undone
            M.sync.setToken(res.body.token, null);
            return M.sync.request('DELETE', '/devices/current').then(function () {
              M.sync.setToken(null, null);
              return showLogin('m_other_kept', 'warn');
            });
          }
          $('m-password').value = '';
          M.me = res.body.me;
          return Promise.all([M.store.set('token', res.body.token),
                              M.store.set('expires_at', res.body.expires_at),
                              M.store.set('me', res.body.me)]).then(function () {
            M.sync.setToken(res.body.token, M.me.username);
            enter();
            return M.sync.resume();
          });
        });
      });
  }

  // Unsent work of another person on this phone: the page says how many items of
  // whom would be discarded and asks; yes discards them (and that person's sent
  // ones), no keeps them and undoes this login. Resolves true to go on.
  function othersWork(username) {
    return M.store.unsentByOwner().then(function (by) {
      var owners = Object.keys(by).filter(function (o) { return o && o !== username; });
      if (!owners.length) { return true; }
      var n = owners.reduce(function (sum, o) { return sum + by[o]; }, 0);
      return ask(M.both('m_other_user', {n: n, user: owners.join('、'),
                                         me: username}))
        .then(function (yes) {
          return yes ? M.store.dropOthers(username).then(function () { return true; })
            : false;
        });
    });
  }

  // A question in the login panel with 丢弃并登录 / 取消 (no window.confirm: some
  // webviews suppress it); resolves true or false.
  function ask(text) {
    var box = $('m-other');
    if (box) { box.remove(); }
    return new Promise(function (resolve) {
      function answer(yes) {
        box.remove();
        resolve(yes);
      }
      var yes = M.el('button', {type: 'button', id: 'm-other-discard',
                                className: 'm-primary m-danger'},
                     M.both('m_other_discard'));
      var no = M.el('button', {type: 'button', id: 'm-other-keep',
                               className: 'm-secondary'}, M.both('m_other_keep'));
      yes.addEventListener('click', function () { answer(true); });
      no.addEventListener('click', function () { answer(false); });
      box = M.el('div', {id: 'm-other', className: 'm-card m-warn', role: 'alertdialog'},
                 [M.el('p', {}, text), M.el('div', {className: 'm-actions'}, [yes, no])]);
      $('m-login').appendChild(box);
      yes.focus();
    });
  }

  var losing = false;
  // The server refused the token (revoked, expired, or unknown: docs/phone-api.md
  // asks to wipe on every one), or logout: what is cached goes at once, from
  // memory, the page and the phone's storage; the unsent work stays, locked to
  // the person who made it, for their next login on this phone.
  function endLogin() {
    var owner = (M.me && M.me.username) || M.sync.state.owner;
    M.sync.setToken(null, owner);  // nothing more is sent; the patrol's last
    forget();                      // points still become an item of theirs
    return M.stopPatrol().catch(function () {}).then(function () {
      M.sync.setToken(null, null);
      return M.store.wipe();
    }).catch(function (e) { console.warn('wipe', e); }).then(function () {
      return renderQueue();
    });
  }

  function authLost(revoked) {
    if (losing) { return; }
    losing = true;
    endLogin().then(function () {
      return showLogin(revoked ? 'm_revoked' : 'm_login_again',
                       revoked ? 'err' : 'warn');
    }).then(function () { losing = false; });
  }

  // What the server sent, out of memory and off the page.
  function forget() {
    M.me = null;
    M.data.tasks = M.data.households = M.data.grids = null;
    M.renderTasks();
    M.renderHouseholds();
    if (M.hooks.gridsChanged) { M.hooks.gridsChanged(); }
    $('m-who').textContent = '';
  }

  function logout() {
    M.store.unsentByOwner().then(function (by) {
      var n = by[(M.me && M.me.username) || ''] || 0;
      if (n && !window.confirm(M.text('m_logout_confirm', {n: n}))) { return; }
      // the token ends on the server while the phone wipes (never waiting more
      // than a few seconds for a poor signal)
      var ended = M.sync.request('DELETE', '/devices/current');
      return Promise.all([endLogin(), Promise.race([ended, new Promise(function (ok) {
        setTimeout(ok, 3000);
      })])]).then(function () { return showLogin('m_logged_out', 'ok'); });
    });
  }

  // ---- the app -------------------------------------------------------------
  function enter() {
    root.dataset.state = 'ready';
    $('m-login').hidden = true;
    $('m-main').hidden = false;
    $('m-tabs').hidden = false;
    $('m-logout').hidden = false;
    M.hideMsg();
    $('m-who').textContent = M.me ? (M.me.display_name || M.me.username) : '';
    return Promise.all(['tasks', 'households', 'grids', 'patrol'].map(M.store.get))
      .then(function (r) {
        M.data.tasks = r[0] || null;
        M.data.households = r[1] || null;
        M.data.grids = r[2] || null;
        M.renderTasks();
        M.renderHouseholds();
        M.renderPatrol();
        renderQueue();
        if (r[3] && !M.patrol.run) { M.startPatrol(r[3]); }
        show(M.tab);
        allowedTabs();
        refresh();
        startPolling();
      });
  }

  // The person, their grids' outlines, tasks and households, from the server.
  function refresh() {
    return M.sync.request('GET', '/me').then(function (res) {
      if (!res.ok || !res.body) { return; }
      M.me = res.body;
      $('m-who').textContent = M.me.display_name || M.me.username;
      allowedTabs();
      return M.store.set('me', M.me).then(syncGrids);
    }).then(function () {
      return Promise.all([M.refreshTasks(), M.refreshHouseholds()]);
    }).then(function () { return M.sync.run(); }).catch(function (e) {
      console.warn('refresh', e);
    });
  }

  function syncGrids() {
    var codes = (M.me.grids || []).map(function (g) { return g.code; }).slice(0, 50);
    return Promise.all(codes.map(function (code) {
      return M.sync.request('GET', '/grids/' + encodeURIComponent(code))
        .then(function (res) { return res.ok ? res.body : null; });
    })).then(function (features) {
      var got = features.filter(Boolean);
      if (!got.length) { return; }
      M.data.grids = {type: 'FeatureCollection', features: got};
      M.hooks.gridsChanged();
      return M.store.set('grids', M.data.grids);
    });
  }

  function startPolling() {
    stopPolling();
    poll = setInterval(function () {
      if (document.visibilityState !== 'visible') { return; }
      M.refreshTasks();
      M.sync.run();
    }, POLL_MS);
  }
  function stopPolling() { clearInterval(poll); poll = null; }

  // The tabs this person may use (<me>.permissions, docs/phone-api.md §10).
  var NEEDS = {report: 'incidents:report', tasks: 'incidents:read',
               visits: 'visits:record', patrol: 'patrols:record'};
  function allowedTabs() {
    var perms = (M.me && M.me.permissions) || null;
    Object.keys(NEEDS).forEach(function (tab) {
      $('m-tab-' + tab).hidden = !!perms && perms.indexOf(NEEDS[tab]) < 0;
    });
    if ($('m-tab-' + M.tab).hidden) {
      show(['report', 'tasks', 'visits', 'patrol', 'queue'].filter(function (t) {
        return !$('m-tab-' + t).hidden;
      })[0]);
    }
  }

  function show(tab) {
    if (M.tab === 'report' && tab !== 'report' && M.hooks.reportStop) {
      M.hooks.reportStop();
    }
    M.tab = tab;
    Array.prototype.forEach.call(document.querySelectorAll('.m-tab'), function (s) {
      s.hidden = s.dataset.tab !== tab;
    });
    Array.prototype.forEach.call(document.querySelectorAll('#m-tabs button'),
      function (b) {
        var on = b.dataset.tab === tab;
        b.classList.toggle('m-on', on);
        b.setAttribute('aria-current', on ? 'page' : 'false');
      });
    if (tab === 'report' && M.hooks.reportShown) { M.hooks.reportShown(); }
    if (tab === 'tasks') { M.markTasksSeen(); }
    window.scrollTo(0, 0);
  }

  // Counts on the tabs: tasks to act on (new ones marked), items not yet sent.
  M.badges = function () {
    var tasks = ((M.data.tasks && M.data.tasks.items) || []).filter(function (t) {
      return (t.actions || []).some(function (a) {
        return a === 'accept' || a === 'feedback';
      });
    }).length + ((M.data.tasks && M.data.tasks.due) || []).length;
    badge('tasks', tasks, M.newTasks > 0);
    badge('queue', M.queued.filter(function (it) { return it.state !== 'sent'; }).length,
          M.queued.some(function (it) { return it.state === 'failed'; }));
  };

  function badge(tab, n, hot) {
    var b = document.querySelector('#m-tab-' + tab + ' .m-badge');
    b.textContent = String(n);
    b.hidden = !n;
    b.classList.toggle('m-hot', !!hot);
  }

  // ---- the outbox -----------------------------------------------------------
  var queueTimer = null;
  function renderQueueSoon() {
    clearTimeout(queueTimer);
    queueTimer = setTimeout(renderQueue, 50);
  }

  function renderQueue() {
    return M.store.queue().then(function (all) {
      M.queued = all;
      var ul = $('m-queue');
      M.clear(ul);
      var waiting = all.filter(function (it) { return it.state !== 'sent'; }).length;
      $('m-queue-count').textContent = M.zh('m_queue_count', {n: waiting});
      if (!all.length) {
        ul.appendChild(M.el('li', {className: 'm-empty'}, M.both('m_queue_empty')));
      }
      all.slice().reverse().forEach(function (it) { ul.appendChild(queueItem(it)); });
      M.badges();
      if (M.tab === 'tasks') { M.renderTasks(); }
    }).catch(function () {});
  }

  function queueItem(it) {
    var li = M.el('li', {className: 'm-card m-q m-q-' + it.state,
                         data: {id: it.id, kind: it.kind, state: it.state}});
    li.appendChild(M.el('div', {className: 'm-row'}, [
      M.el('strong', {}, M.zh('m_kind_' + it.kind)),
      M.el('span', {className: 'm-state'}, M.zh('m_state_' + it.state))]));
    if (it.thumb) { li.appendChild(M.el('img', {className: 'm-thumb', src: it.thumb, alt: ''})); }
    li.appendChild(M.el('p', {className: 'm-desc'}, it.summary || ''));
    var r = it.result || {};
    li.appendChild(M.el('p', {className: 'm-hint'}, [M.time(it.created_at),
      r.code && it.kind !== 'visit' ? ' · ' + r.code : '',
      r.distance_m != null ? ' · ' + M.zh('m_visit_distance', {m: Math.round(
        r.distance_m)}) : '']));
    if (it.message) { li.appendChild(M.el('p', {className: 'm-bad m-why'}, it.message)); }
    if (it.state === 'sent') { return li; }
    var text = null;
    var key = it.body && ('description' in it.body ? 'description' :
                          'note' in it.body ? 'note' : null);
    if (it.state === 'failed' && key) {
      text = M.el('textarea', {rows: 2, maxLength: 2000, value: it.body[key]});
      li.appendChild(text);
    }
    var row = M.el('div', {className: 'm-actions'});
    if (it.state === 'failed') {
      var again = M.el('button', {type: 'button', className: 'm-secondary m-retry'},
                       M.both('m_send_now'));
      again.addEventListener('click', function () {
        if (text) { it.body[key] = text.value.trim(); }
        M.sync.retry(it);
      });
      row.appendChild(again);
    }
    var drop = M.el('button', {type: 'button', className: 'm-secondary m-discard'},
                    M.both('m_discard'));
    drop.addEventListener('click', function () {
      if (window.confirm(M.text('m_discard_confirm'))) { M.sync.discard(it); }
    });
    row.appendChild(drop);
    li.appendChild(row);
    return li;
  }

  // ---- start ---------------------------------------------------------------
  function start() {
    registerWorker();
    net();
    window.addEventListener('online', function () { reachable = true; net(); });
    window.addEventListener('offline', net);
    M.sync.init(M.cfg.urls.api, {authLost: authLost, changed: renderQueueSoon,
                                 reached: function (ok) { reachable = ok; net(); }});
    $('m-login-form').addEventListener('submit', login);
    $('m-logout').addEventListener('click', logout);
    $('m-send-now').addEventListener('click', function () { M.sync.run(); });
    Array.prototype.forEach.call(document.querySelectorAll('#m-tabs button'),
      function (b) { b.addEventListener('click', function () { show(b.dataset.tab); }); });
    Promise.all([M.store.get('token'), M.store.get('me'), M.store.get('expires_at')])
      .then(function (r) {
        var alive = r[0] && (!r[2] || Date.parse(r[2]) > Date.now());
        if (!alive) { return showLogin(); }
        M.me = r[1] || null;
        M.sync.setToken(r[0], M.me && M.me.username);
        return enter();
      }).catch(function (e) { console.warn('start', e); showLogin(); });
  }

  start();
}(window.ggM));
