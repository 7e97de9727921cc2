/*
 * 我的待办 (GET /me/tasks: accept, report back), 入户走访 (GET /me/households kept on
 * the phone; record a visit) and 巡查 (positions every few seconds with the screen
 * kept on, sent in batches to /patrols/points). What the worker does goes through
 * the queue; what the server sent is kept in IndexedDB and shown offline.
 */
(function (M) {
  'use strict';

  var $ = M.$;
  var V = M.cfg.vocab;

  function pending(kind, code) {
    return (M.queued || []).filter(function (it) {
      return it.kind === kind && it.code === code && it.state !== 'sent';
    }).length > 0;
  }

  function synced(id, at) {
    $(id).textContent = at ? M.zh('m_synced_at', {time: M.time(at)}) :
      M.zh('m_never_synced');
  }

  // ---- tasks -------------------------------------------------------------
  // The tasks, and the visits due for the recurring disputes of the worker's
  // micro-grids (GET /me/visits-due: household, address, last incident), kept
  // together on the phone.
  M.refreshTasks = function () {
    return Promise.all([M.sync.request('GET', '/me/tasks'),
                        M.sync.request('GET', '/me/visits-due')]).then(function (got) {
      var res = got[0], due = got[1];
      if (!res.ok || !res.body) { return; }
      var data = {items: res.body.items || [], at: new Date().toISOString(),
                  due: due.ok && due.body ? due.body.items || [] :
                    ((M.data.tasks && M.data.tasks.due) || []),
                  rule: due.ok && due.body ? due.body.rule :
                    (M.data.tasks && M.data.tasks.rule)};
      M.data.tasks = data;
      return M.store.set('tasks', data).then(function () {
        return M.store.get('tasks_seen');
      }).then(function (seen) {
        seen = seen || [];
        var fresh = data.items.filter(function (t) { return seen.indexOf(t.code) < 0; });
        if (fresh.length && M.tab !== 'tasks' && seen.length) {
          M.msg('m_new_tasks', {n: fresh.length});
        }
        M.newTasks = fresh.length;
        if (M.tab === 'tasks') { M.markTasksSeen(); }
        renderTasks();
      });
    });
  };

  M.markTasksSeen = function () {
    var items = (M.data.tasks && M.data.tasks.items) || [];
    M.newTasks = 0;
    M.badges();
    return M.store.set('tasks_seen', items.map(function (t) { return t.code; }));
  };

  function renderTasks() {
    var ul = $('m-tasks');
    M.clear(ul);
    var data = M.data.tasks;
    synced('m-tasks-synced', data && data.at);
    var items = ((data && data.items) || []).slice().sort(function (a, b) {
      return (b.overdue ? 1 : 0) - (a.overdue ? 1 : 0) ||
        String(a.deadline || '~').localeCompare(String(b.deadline || '~'));
    });
    var due = (data && data.due) || [];
    if (!items.length && !due.length) {
      ul.appendChild(M.el('li', {className: 'm-empty'}, M.both('m_tasks_empty')));
    }
    if (due.length) {
      ul.appendChild(M.el('li', {className: 'm-head', id: 'm-visits-due'},
                          M.both('m_visits_due')));
      due.forEach(function (d) { ul.appendChild(visitDue(d, data.rule)); });
    }
    items.forEach(function (t) { ul.appendChild(task(t)); });
    M.badges();
  }
  M.renderTasks = renderTasks;

  // A recurring dispute whose household is due a visit: where, whom, the last
  // incident, a phone number to tap (when the role sees it whole) and the
  // existing visit form; the server clears the task once the visit is in.
  function visitDue(d, rule) {
    var h = d.household;
    var li = M.el('li', {className: 'm-card m-card-visit', data: {key: d.key}});
    li.appendChild(M.el('div', {className: 'm-row'}, [
      M.el('strong', {}, M.zh('m_visit_due')),
      M.el('span', {className: 'm-status'},
           M.zh('m_due_count', {n: d.count, days: (rule && rule.days) || 90}))]));
    li.appendChild(M.el('p', {className: 'm-addr'}, (h && h.address) || d.address || ''));
    if (h && h.head_name) {
      li.appendChild(M.el('p', {className: 'm-hint'}, h.head_name));
    }
    if (h && h.phone) {
      li.appendChild(h.phone.indexOf('*') < 0 ?
        M.el('a', {className: 'm-phone', href: 'tel:' + h.phone},
             M.zh('m_call', {phone: h.phone})) :
        M.el('p', {className: 'm-hint'}, h.phone));
    }
    if (d.parties && d.parties.length) {
      li.appendChild(M.el('p', {className: 'm-hint'}, d.parties.join('、')));
    }
    var last = d.last_incident || {};
    li.appendChild(M.el('p', {className: 'm-desc'}, [
      M.zh('m_last_dispute', {code: last.code || '', date: M.day(last.created_at)}),
      last.subtype_label ? ' · ' + last.subtype_label : '',
      last.status_label ? ' · ' + last.status_label : '']));
    var may = M.me && (M.me.permissions || []).indexOf('visits:record') >= 0;
    if (h && may) {
      if (pending('visit', h.id)) {
        li.appendChild(M.el('span', {className: 'm-queued'}, M.both('m_queued')));
        return li;
      }
      var known = ((M.data.households && M.data.households.items) || [])
        .filter(function (x) { return x.id === h.id; })[0] || h;
      var go = M.el('button', {type: 'button', className: 'm-secondary m-visit'},
                    M.both('m_visit'));
      go.addEventListener('click', function () {
        go.hidden = true;
        li.appendChild(visitForm(known, function () { go.hidden = false; },
                                 renderTasks));
      });
      li.appendChild(go);
    }
    return li;
  }

  function subtypeLabel(t) {
    var c = V.categories[t.category];
    var s = c && t.subtype && c.subtypes[t.subtype];
    return s ? s[0] : '';
  }

  function task(t) {
    var li = M.el('li', {className: 'm-card' + (t.overdue ? ' m-card-overdue' : ''),
                         data: {code: t.code}});
    li.appendChild(M.el('div', {className: 'm-row'}, [
      M.el('strong', {}, t.code),
      M.el('span', {className: 'm-status'}, t.status_label || t.status)]));
    li.appendChild(M.el('p', {className: 'm-cat'},
      [t.category_label || t.category, subtypeLabel(t) ? ' · ' + subtypeLabel(t) : '']));
    li.appendChild(M.el('p', {className: 'm-desc'}, t.description || ''));
    var due = M.el('p', {className: 'm-due'},
                   t.deadline ? M.zh('m_deadline', {time: M.time(t.deadline)}) : '');
    if (t.overdue) {
      due.appendChild(M.el('span', {className: 'm-overdue'}, M.zh('overdue')));
    }
    li.appendChild(due);
    if (t.grid_name || t.grid_code) {
      li.appendChild(M.el('p', {className: 'm-hint'}, t.grid_name || t.grid_code));
    }
    var photos = (t.photos || []).slice(0, 3);
    if (photos.length) {
      li.appendChild(M.el('div', {className: 'm-photos'}, photos.map(function (p) {
        return M.tokenImage(p.url);
      })));
    }
    var actions = t.actions || [];
    var row = M.el('div', {className: 'm-actions'});
    if (pending('accept', t.code) || pending('feedback', t.code)) {
      row.appendChild(M.el('span', {className: 'm-queued'}, M.both('m_queued')));
    } else {
      if (actions.indexOf('accept') >= 0) {
        var acc = M.el('button', {type: 'button', className: 'm-primary m-accept'},
                       M.both('m_accept'));
        acc.addEventListener('click', function () {
          acc.disabled = true;
          M.sync.add({kind: 'accept', method: 'POST', code: t.code, body: {},
                      path: '/incidents/' + encodeURIComponent(t.code) + '/accept',
                      summary: t.code}).then(M.refreshTasks);
          renderTasks();
        });
        row.appendChild(acc);
      }
      if (actions.indexOf('feedback') >= 0) {
        var fb = M.el('button', {type: 'button', className: 'm-primary m-feedback'},
                      M.both('m_feedback'));
        fb.addEventListener('click', function () {
          row.hidden = true;
          li.appendChild(feedbackForm(t, function () { row.hidden = false; }));
        });
        row.appendChild(fb);
      }
    }
    li.appendChild(row);
    return li;
  }

  function field(key, input) {
    return M.el('label', {}, [M.both(key), input]);
  }

  function feedbackForm(t, closed) {
    var note = M.el('textarea', {rows: 3, maxLength: 2000, className: 'm-note'});
    var outcome = M.el('select', {className: 'm-outcome'});
    outcome.appendChild(M.option('', '—'));
    (V.outcomes_by_category[t.category] || Object.keys(V.outcomes)).forEach(function (o) {
      outcome.appendChild(M.option(o, V.outcomes[o].join(' ')));
    });
    var file = M.el('input', {type: 'file', accept: 'image/*'});
    file.setAttribute('capture', 'environment');
    var thumbs = M.el('div', {className: 'm-photos'});
    var fileLabel = M.el('label', {className: 'm-file'},
                         [file, M.el('span', {}, M.both('m_add_photo'))]);
    var form = M.el('form', {className: 'm-subform'}, [
      field('m_note', note), field('proposed_outcome', outcome), thumbs, fileLabel,
      M.el('button', {type: 'submit', className: 'm-primary'}, M.both('m_send_feedback'))]);
    var picker = M.photoPicker(file, thumbs);
    var cancel = M.el('button', {type: 'button', className: 'm-secondary'},
                      M.both('cancel'));
    cancel.addEventListener('click', function () { form.remove(); closed(); });
    form.appendChild(cancel);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (!note.value.trim()) { note.focus(); return M.msg('m_need_text', null, 'warn'); }
      // the proposed outcome (建议结果): the desk's card shows it and its close
      // form starts from it
      var body = {note: note.value.trim()};
      if (outcome.value) { body.outcome = outcome.value; }
      var items = [{kind: 'feedback', method: 'POST', code: t.code, body: body,
                    path: '/incidents/' + encodeURIComponent(t.code) + '/feedback',
                    summary: t.code + '：' + body.note.slice(0, 40)}]
        .concat(M.photoItems(picker.photos, t.code, null));
      M.sync.add(items).then(M.refreshTasks);
      M.msg('m_queued');
      renderTasks();
    });
    return form;
  }

  // ---- households and visits ----------------------------------------------
  var SHOWN = 50;

  M.refreshHouseholds = function () {
    return M.sync.request('GET', '/me/households').then(function (res) {
      if (!res.ok || !res.body) { return; }
      M.data.households = {items: res.body.items || [], at: new Date().toISOString()};
      renderHouseholds();
      return M.store.set('households', M.data.households);
    });
  };

  function renderHouseholds() {
    var ul = $('m-households');
    M.clear(ul);
    var data = M.data.households;
    synced('m-households-synced', data && data.at);
    var q = $('m-search').value.trim();
    var items = ((data && data.items) || []).filter(function (h) {
      return !q || String(h.address || '').indexOf(q) >= 0 ||
        String(h.head_name || '').indexOf(q) >= 0;
    }).sort(function (a, b) {  // never visited first, then the longest ago
      return String(a.last_visit_at || '').localeCompare(String(b.last_visit_at || ''));
    });
    if (!items.length) {
      ul.appendChild(M.el('li', {className: 'm-empty'}, M.both('m_households_empty')));
    }
    items.slice(0, SHOWN).forEach(function (h) { ul.appendChild(household(h)); });
    if (items.length > SHOWN) {
      ul.appendChild(M.el('li', {className: 'm-empty'},
                          M.both('m_more', {n: items.length - SHOWN})));
    }
  }
  M.renderHouseholds = renderHouseholds;

  function household(h) {
    var li = M.el('li', {className: 'm-card', data: {id: h.id}});
    li.appendChild(M.el('p', {className: 'm-addr'}, h.address || ''));
    li.appendChild(M.el('p', {className: 'm-hint'}, [
      h.head_name || '', h.size ? ' · ' + M.zh('m_people', {n: h.size}) : '']));
    li.appendChild(M.el('p', {className: h.last_visit_at ? 'm-hint' : 'm-bad'},
      h.last_visit_at ? M.zh('m_last_visit', {date: M.day(h.last_visit_at)}) :
        M.zh('m_never_visited')));
    if (pending('visit', h.id)) {
      li.appendChild(M.el('span', {className: 'm-queued'}, M.both('m_queued')));
      return li;
    }
    var go = M.el('button', {type: 'button', className: 'm-secondary m-visit'},
                  M.both('m_visit'));
    go.addEventListener('click', function () {
      go.hidden = true;
      li.appendChild(visitForm(h, function () { go.hidden = false; }));
    });
    li.appendChild(go);
    return li;
  }

  function visitForm(h, closed, done) {
    var pos = null;
    var note = M.el('textarea', {rows: 3, maxLength: 2000, className: 'm-note'});
    var size = M.el('input', {type: 'number', min: 0, max: 50, inputMode: 'numeric',
                              className: 'm-size'});
    var where = M.el('p', {className: 'm-hint'}, M.zh('m_locating'));
    var form = M.el('form', {className: 'm-subform'},
                    [field('m_visit_note', note), field('m_size_seen', size)]);
    var tag = null;
    if (M.me && (M.me.permissions || []).indexOf('households:tags') >= 0) {
      tag = M.el('select', {className: 'm-tag'});
      tag.appendChild(M.option('', M.text('m_tag_none')));
      Object.keys(V.tags).forEach(function (k) {
        tag.appendChild(M.option(k, V.tags[k].join(' ')));
      });
      form.appendChild(field('m_tag', tag));
    }
    form.appendChild(where);
    form.appendChild(M.el('button', {type: 'submit', className: 'm-primary'},
                          M.both('m_save_visit')));
    var cancel = M.el('button', {type: 'button', className: 'm-secondary'},
                      M.both('cancel'));
    cancel.addEventListener('click', function () { form.remove(); closed(); });
    form.appendChild(cancel);
    if (navigator.geolocation) {
      navigator.geolocation.getCurrentPosition(function (p) {
        pos = p.coords;
        M.clear(where);
        var txt = M.zh('m_accuracy', {m: Math.round(pos.accuracy)});
        if (h.lon != null && h.lat != null) {
          txt = M.zh('m_visit_distance', {m: Math.round(M.distance(
            pos.longitude, pos.latitude, h.lon, h.lat))}) + '，' + txt;
        }
        where.textContent = txt;
      }, function (e) {
        where.textContent = M.zh('m_no_gps', {msg: e.message || e.code});
      }, {enableHighAccuracy: true, maximumAge: 30000, timeout: 30000});
    }
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var body = {household_id: h.id, note: note.value.trim(),
                  visited_at: new Date().toISOString()};
      if (size.value !== '') { body.size_seen = parseInt(size.value, 10); }
      if (tag && tag.value) { body.tag_proposed = tag.value; }
      if (pos) {
        body.lon = +pos.longitude.toFixed(7);
        body.lat = +pos.latitude.toFixed(7);
        body.accuracy_m = Math.round(pos.accuracy * 10) / 10;
      }
      h.last_visit_at = body.visited_at;  // shown at once; the server's on the next sync
      M.store.set('households', M.data.households);
      M.sync.add({kind: 'visit', method: 'POST', path: '/visits', body: body,
                  code: h.id, summary: h.address || String(h.id)});
      M.msg('m_queued');
      renderHouseholds();
      if (done) { done(); }
    });
    return form;
  }

  // ---- patrol ---------------------------------------------------------------
  var P = {run: null, watch: null, wake: null, timer: null, last: 0};
  var EVERY_MS = 5000;
  var BATCH = 120;
  M.patrol = P;

  function wake() {
    if (!P.run || document.visibilityState !== 'visible') { return; }
    if (!('wakeLock' in navigator)) { return renderPatrol(); }
    if (P.wake && !P.wake.released) { return; }
    navigator.wakeLock.request('screen').then(function (lock) {
      P.wake = lock;
      lock.addEventListener('release', renderPatrol);
      renderPatrol();
    }, function () { P.wake = null; renderPatrol(); });
  }

  function point(p) {
    var c = p.coords;
    var now = p.timestamp || Date.now();
    if (!P.run || now - P.last < EVERY_MS - 500) { return; }
    P.last = now;
    P.run.points.push({lon: +c.longitude.toFixed(7), lat: +c.latitude.toFixed(7),
                       time: new Date(now).toISOString(),
                       accuracy_m: Math.round(c.accuracy * 10) / 10});
    P.run.count += 1;
    if (P.run.points.length >= BATCH) { flush(); } else { M.store.set('patrol', P.run); }
    renderPatrol();
  }

  // The points so far become one queue item (a batch with its own key).
  function flush() {
    if (!P.run || !P.run.points.length) { return Promise.resolve(); }
    var points = P.run.points;
    P.run.points = [];
    return M.store.set('patrol', P.run).then(function () {
      return M.sync.add({kind: 'patrol', method: 'POST', path: '/patrols/points',
                         body: {patrol_id: P.run ? P.run.id : null, points: points},
                         summary: M.zh('m_points', {n: points.length})});
    });
  }

  function watch() {
    if (!navigator.geolocation) { return; }
    P.watch = navigator.geolocation.watchPosition(point, function () {}, {
      enableHighAccuracy: true, maximumAge: 0, timeout: 60000});
    P.timer = setInterval(flush, 60000);
    wake();
  }

  M.startPatrol = function (resumed) {
    P.run = resumed || {id: M.store.uuid(), started_at: new Date().toISOString(),
                        points: [], count: 0};
    P.last = 0;
    return M.store.set('patrol', P.run).then(function () {
      watch();
      renderPatrol();
    });
  };

  // Stop: the last points queued; keepRecord false drops nothing but the timer.
  M.stopPatrol = function () {
    if (P.watch !== null && navigator.geolocation) {
      navigator.geolocation.clearWatch(P.watch);
    }
    clearInterval(P.timer);
    P.watch = null;
    if (P.wake) { P.wake.release().catch(function () {}); P.wake = null; }
    if (!P.run) { return Promise.resolve(); }
    var n = P.run.count;
    return flush().then(function () {
      P.run = null;
      renderPatrol();
      M.msg('m_patrol_done', {n: n});
      return M.store.del('patrol');
    });
  };

  function renderPatrol() {
    var btn = $('m-patrol-toggle');
    M.clear(btn);
    btn.appendChild(M.both(P.run ? 'm_patrol_stop' : 'm_patrol_start'));
    btn.classList.toggle('m-stop', !!P.run);
    var status = $('m-patrol-status');
    M.clear(status);
    status.appendChild(P.run ? M.both('m_patrol_status', {
      n: P.run.count,
      min: Math.round((Date.now() - Date.parse(P.run.started_at)) / 60000)}) :
      M.both('m_patrol_idle'));
    var w = $('m-wake');
    M.clear(w);
    if (P.run) {
      w.appendChild(M.both(P.wake && !P.wake.released ? 'm_wake_on' : 'm_wake_off'));
    }
    M.$('m-tab-patrol').classList.toggle('m-live', !!P.run);
  }
  M.renderPatrol = renderPatrol;

  document.addEventListener('visibilitychange', wake);
  $('m-patrol-toggle').addEventListener('click', function () {
    return P.run ? M.stopPatrol() : M.startPatrol();
  });
  $('m-tasks-refresh').addEventListener('click', M.refreshTasks);
  $('m-households-refresh').addEventListener('click', M.refreshHouseholds);
  $('m-search').addEventListener('input', renderHouseholds);
}(window.ggM));
