/*
 * The dispatchers' page /dispatch (web/dispatch.py, templates/dispatch.html).
 *
 * Locate a spot (map click, coordinates typed in any Chinese CRS, decimal or
 * degrees-minutes-seconds, or a place / address / head of household from the local
 * gazetteer), show what bears on it (grid chain, staff, the cameras that see it as
 * their view sectors, the nearest cameras, open incidents within 200 m, households
 * within 100 m), register an incident there after a duplicate check, and follow the
 * queues of each level's desk down to one incident's timeline and actions.
 *
 * All data comes from the API with the session cookie (and the CSRF token on
 * POST), so the page shows exactly what this user may see. No inline script or
 * handler (the CSP forbids them); strings come from web/i18n.py, Chinese first.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('dispatch-config').textContent);
  var V = cfg.vocab;
  var API = cfg.urls.api;
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var $ = function (id) { return document.getElementById(id); };
  var el = gg.el, text = gg.text, clear = gg.clear, getJSON = gg.getJSON,
    query = gg.query;
  var T = gg.strings(cfg.strings), zh = T.zh, both = T.both;

  // Okabe-Ito colours: the spot vermilion, sectors that see it blue, other
  // cameras grey, open incidents reddish purple, the located micro-grid green.
  var STYLE = {
    outline: {1: {color: '#000000', weight: 3, fill: false},
              2: {color: '#D55E00', weight: 2, fill: false},
              3: {color: '#0072B2', weight: 1, fill: false, dashArray: '4 3'}},
    micro: {color: '#009E73', weight: 3, fillColor: '#009E73', fillOpacity: 0.12},
    spot: {radius: 8, color: '#000', weight: 2, fillColor: '#D55E00', fillOpacity: 1},
    sector: {color: '#0072B2', weight: 2, fillColor: '#56B4E9', fillOpacity: 0.35,
             className: 'dispatch-sector'},
    camera: {radius: 5, color: '#0072B2', weight: 2, fillColor: '#fff', fillOpacity: 1},
    otherCamera: {radius: 4, color: '#777', weight: 1, fillColor: '#ccc',
                  fillOpacity: 1},
    incident: {radius: 6, color: '#000', weight: 1, fillColor: '#CC79A7',
               fillOpacity: 0.9}
  };

  // {category: [中文, English]} from the categories with their subtypes
  var CATS = {};
  Object.keys(V.categories).forEach(function (k) { CATS[k] = V.categories[k].label; });

  function label(table, code) {
    var pair = table[code];
    return pair ? pair[0] + ' ' + pair[1] : code;
  }

  function labelNode(table, code) {
    var pair = table[code] || [code, ''];
    return el('span', {}, [pair[0] + ' ', el('span', {className: 'en'}, pair[1])]);
  }

  function heading(key, args) { return el('h3', {}, both(key, args)); }

  function msg(kind, content) {
    var box = $('dispatch-msg');
    clear(box);
    box.className = 'dispatch-msg ' + (kind || '');
    if (content) {
      box.appendChild(typeof content === 'string' ? document.createTextNode(content) :
        content);
    }
  }

  function errorText(err) {
    var body = err && err.body;
    var e = body && body.error;
    return (e && e.message) || (err && err.status ? 'HTTP ' + err.status : String(err));
  }

  function fail(err) {
    msg('error', zh('failed') + '：' + errorText(err));
    panel.open();
  }


  // The API's times are ISO 8601 in China time (+08:00): "2026-12-07 19:30".
  function when(iso) {
    if (!iso) { return '—'; }
    return gg.time(iso);  // "2026-12-07 19:30 北京时间"
  }

  // Is this chain (the located spot's) inside the user's jurisdiction? Outside
  // it, locate answers the ancestors the two share only (the town).
  function mine(chain) {
    return !cfg.root.code || chain.some(function (g) {
      return g.code.indexOf(cfg.root.code) === 0;
    });
  }

  // --- the map ---------------------------------------------------------------------

  // the side panel, a bottom sheet on a phone (static/gg.js, fullwindow.css)
  var panel = gg.sheet(document.querySelector('.dispatch-panel'));
  var map = gg.newMap('dispatch-map', {zoomControl: true, maxZoom: 19}, cfg.basemap);
  // typed coordinates are read off the map people see: its system by default
  $('dispatch-crs').value = gg.mapCrs(map);
  L.control.scale({imperial: false}).addTo(map);
  var outlines = L.featureGroup().addTo(map);
  var found = L.featureGroup().addTo(map);
  var picked = L.featureGroup().addTo(map);  // the incident on the card
  var state = {point: null, answer: null, micro: null, scope: cfg.root,
               queue: null, queueLabels: {}, incident: null};
  window.gridgovDispatch = {map: map, state: state, found: found};

  function loadOutlines() {
    var levels = [1, 2, 3];
    return Promise.all(levels.map(function (lv) {
      return getJSON(API + '/grids?' + query({level: lv, limit: 5000}));
    })).then(function (collections) {
      collections.forEach(function (fc, i) {
        L.geoJSON(fc, {style: STYLE.outline[levels[i]], interactive: false})
          .addTo(outlines);
      });
      if (outlines.getLayers().length && outlines.getBounds().isValid()) {
        map.fitBounds(outlines.getBounds());
      } else {
        map.setView([31.57, 120.27], 12);
      }
    }).catch(function (err) { map.setView([31.57, 120.27], 12); fail(err); });
  }

  map.on('click', function (e) {
    locate({crs: 'wgs84', lon: e.latlng.lng.toFixed(7), lat: e.latlng.lat.toFixed(7)});
  });

  // --- locating --------------------------------------------------------------------

  $('dispatch-coords').addEventListener('submit', function (e) {
    e.preventDefault();
    var crs = $('dispatch-crs').value;
    var a = $('dispatch-lon').value.trim(), b = $('dispatch-lat').value.trim();
    var gk = crs.indexOf('EPSG:') === 0;
    locate(gk ? {crs: crs, x: a, y: b} : {crs: crs, lon: a, lat: b});
  });

  $('dispatch-find').addEventListener('submit', function (e) {
    e.preventDefault();
    var q = $('dispatch-q').value.trim();
    if (!q) { return; }
    getJSON(API + '/places?' + query({q: q})).then(showHits, fail);
  });

  function showHits(hits) {
    var box = $('dispatch-hits');
    clear(box);
    panel.open();
    var all = [].concat(hits.grids || [], hits.households || [], hits.cameras || []);
    if (!all.length) { box.appendChild(el('p', {}, both('dispatch_no_hits'))); return; }
    var list = el('ul', {className: 'dispatch-hits'});
    all.forEach(function (hit) {
      var kind = hit.kind === 'grid' ? label(V.levels, hit.level).split(' ')[0] :
        zh('dispatch_kind_' + hit.kind);
      var line = hit.label + (hit.detail && hit.kind === 'household' ?
        '（' + hit.detail + '）' : '');
      var button = el('button', {type: 'button', className: 'link'}, [
        el('span', {className: 'kind'}, kind), ' ', line]);
      button.addEventListener('click', function () {
        clear(box);
        locate({crs: 'wgs84', lon: hit.lon.toFixed(7), lat: hit.lat.toFixed(7)});
      });
      list.appendChild(el('li', {}, button));
    });
    box.appendChild(list);
  }

  function locate(params) {
    msg('info', zh('loading'));
    params.nearby = 1;  // the panel's whole answer in one request
    return getJSON(API + '/locate?' + query(params)).then(function (answer) {
      msg('', '');
      show(answer, answer.nearby);
    }).catch(fail);
  }

  function show(answer, near) {
    state.point = answer.point;
    state.answer = answer;
    var chain = answer.grids || [];
    state.micro = chain.length && chain[chain.length - 1].level === 4 ?
      chain[chain.length - 1] : null;
    found.clearLayers();
    var here = L.latLng(answer.point.lat, answer.point.lon);
    L.circleMarker(here, STYLE.spot).addTo(found)
      .bindTooltip(text(zh('dispatch_point', {lon: answer.point.lon.toFixed(6),
                                              lat: answer.point.lat.toFixed(6)})));
    (answer.cameras || []).forEach(function (cam) {
      if (cam.view) {
        L.geoJSON(cam.view, {style: STYLE.sector, interactive: false}).addTo(found);
      }
      L.circleMarker([cam.lat, cam.lon], STYLE.camera).addTo(found)
        .bindTooltip(text(cam.name));
    });
    var seeing = {};
    (answer.cameras || []).forEach(function (c) { seeing[c.code] = true; });
    (near.incidents || []).forEach(function (inc) {
      if (inc.lon !== undefined) {
        L.circleMarker([inc.lat, inc.lon], STYLE.incident).addTo(found)
          .bindTooltip(text(inc.code));
      }
    });
    if (state.micro) {
      getJSON(API + '/grids/' + encodeURIComponent(state.micro.code)).then(function (f) {
        L.geoJSON(f, {style: STYLE.micro, interactive: false}).addTo(found);
      }).catch(function () { /* the outline is a nicety; the panel says it all */ });
    }
    var zoom = !map.getBounds().contains(here) || map.getZoom() < 15 ?
      Math.max(map.getZoom(), 16) : null;
    renderResult(answer, near, seeing);
    // on a phone the bottom sheet unfolds on what was found, named after the
    // grid, and the spot moves into the part of the map it leaves in sight
    if (chain.length) {
      panel.label(mine(chain) ? chain[chain.length - 1].name :
        zh('dispatch_outside_mine'));
    }
    panel.open();
    keepInSight(here, zoom);
    var reg = $('dispatch-register');
    if (reg) {
      reg.hidden = !state.micro;
      clear($('dispatch-preview'));
    }
  }

  // Centre the map on the spot (at ``zoom``; null: the view stays unless the spot
  // is out of sight). On a phone the map's lower part may lie under the unfolded
  // bottom sheet: the spot goes to the middle of the part that shows.
  function keepInSight(latlng, zoom) {
    var covered = gg.narrow() ? document.querySelector('.dispatch-panel').offsetHeight
      : 0;
    if (zoom !== null) {
      var centre = map.project(latlng, zoom).add([0, covered / 2]);
      map.setView(map.unproject(centre, zoom), zoom);
      return;
    }
    var free = map.getSize().y - covered;
    var y = map.latLngToContainerPoint(latlng).y;
    if (covered && (y > free - 30 || y < 10)) { map.panBy([0, y - free / 2]); }
  }

  function renderResult(answer, near, seeing) {
    var box = $('dispatch-result');
    clear(box);
    var p = answer.point;
    box.appendChild(el('p', {className: 'dispatch-point', id: 'dispatch-point'},
      zh('dispatch_point', {lon: p.lon.toFixed(6), lat: p.lat.toFixed(6)})));
    box.appendChild(heading('grid_chain'));
    var chain = answer.grids || [];
    if (!chain.length) {
      box.appendChild(el('p', {className: 'warn'}, both('outside')));
      return;
    }
    var outside = !mine(chain);
    if (outside) {  // a neighbour's land: say so, not only the shared town
      box.appendChild(el('p', {className: 'warn', id: 'dispatch-outside'},
                         both('dispatch_outside_mine')));
    }
    var ol = el('ol', {id: 'dispatch-chain', className: 'dispatch-chain'});
    chain.forEach(function (g) {
      ol.appendChild(el('li', {data: {level: g.level, code: g.code}}, [
        el('span', {className: 'lv'}, label(V.levels, g.level).split(' ')[0]), ' ',
        el('strong', {}, g.name), ' ', el('code', {}, g.code)]));
    });
    box.appendChild(ol);
    if (outside) { return; }
    if (cfg.can['incidents:read'] && state.micro) {
      box.appendChild(warningsHere(state.micro.code));
    }

    box.appendChild(heading('staff'));
    box.appendChild(table(answer.staff || [], function (s) {
      return [s.name, labelNode(V.roles, s.role), gg.phone(s.phone), s.grid_code];
    }, 'dispatch-staff'));

    box.appendChild(heading('cameras_seeing'));
    box.appendChild(table(answer.cameras || [], function (c) {
      return [c.name, labelNode(V.camera_kinds, c.kind),
              Math.round(c.distance_m) + ' ' + zh('metres'),
              labelNode(V.camera_statuses, c.status)];
    }, 'dispatch-seeing'));

    box.appendChild(heading('dispatch_nearest'));
    box.appendChild(table((near.cameras_nearest || []).filter(function (c) {
      return !seeing[c.code];
    }), function (c) {
      return [c.name, labelNode(V.camera_kinds, c.kind),
              Math.round(c.distance_m) + ' ' + zh('metres'),
              labelNode(V.camera_statuses, c.status)];
    }, 'dispatch-nearest'));

    if (near.incidents) {
      box.appendChild(heading('dispatch_near_incidents'));
      box.appendChild(table(near.incidents, function (i) {
        return [incidentButton(i.code), labelNode(CATS, i.category),
          labelNode(V.statuses, i.status),
          Math.round(i.distance_m) + ' ' + zh('metres')];
      }, 'dispatch-near-incidents'));
    }
    if (near.households) {
      box.appendChild(heading('dispatch_near_households'));
      var h = near.households;
      var line = [zh('households_n', {n: h.households})];
      if (h.tags) {
        Object.keys(h.tags).forEach(function (tag) {
          line.push(label(V.tags, tag).split(' ')[0] + ' ' + h.tags[tag]);
        });
      }
      box.appendChild(el('p', {id: 'dispatch-households'}, line.join('；')));
    }
  }

  // The early warnings (预警) of the spot's grid and every grid above it: is
  // something already rising here? Filled when the answer comes; empty: nothing.
  function warningsHere(code) {
    var box = el('div', {id: 'dispatch-warnings', className: 'dispatch-warnings'});
    getJSON(API + '/warnings?at=' + encodeURIComponent(code)).then(function (r) {
      if (!r.items.length) { return; }
      box.appendChild(heading('dispatch_warnings'));
      var ul = el('ul', {className: 'warn'});
      r.items.forEach(function (w) {
        ul.appendChild(el('li', {data: {id: w.id}}, zh('dispatch_warning_line', {
          grid: w.grid_name || w.grid_code,
          category: w.kind === 'cluster' ? zh('dispatch_warning_cluster') :
            w.category_label,
          days: w.window_days, observed: w.observed, expected: w.expected,
          since: w.since})));
      });
      box.appendChild(ul);
    }).catch(function () { /* a nicety: the rest of the panel stands */ });
    return box;
  }

  function table(rows, cells, id) {
    if (!rows.length) { return el('p', {className: 'none', id: id}, both('none')); }
    var t = el('table', {className: 'dispatch-table', id: id});
    rows.forEach(function (r) {
      t.appendChild(el('tr', {}, cells(r).map(function (c) { return el('td', {}, c); })));
    });
    return el('div', {className: 'scroll-x'}, t);  // scrolls in itself on a phone
  }

  // --- registering -----------------------------------------------------------------

  function fillSelect(select, table, keep) {
    clear(select);
    Object.keys(table).forEach(function (code) {
      var pair = Array.isArray(table[code]) ? table[code] : table[code].label;
      select.appendChild(el('option', {value: code}, pair[0] + ' ' + pair[1]));
    });
    if (keep && table[keep]) { select.value = keep; }
  }

  if ($('dispatch-form')) {
    fillSelect($('dispatch-category'), V.categories);
    fillSelect($('dispatch-source'), V.sources, 'hotline');
    var subtypes = function () {
      fillSelect($('dispatch-subtype'), V.categories[$('dispatch-category').value].subtypes);
    };
    subtypes();
    $('dispatch-category').addEventListener('change', subtypes);
    $('dispatch-form').addEventListener('submit', function (e) {
      e.preventDefault();
      checkAndPreview();
    });
  }

  // Whom the incident concerns: a household found in the gazetteer (/places,
  // households only, within the jurisdiction), or an address typed, and the
  // parties' names one per line (personal data: the API masks and audits them).
  var concern = {household: null, timer: null};

  function showPicked() {
    var box = $('dispatch-household');
    if (!box) { return; }
    clear(box);
    box.hidden = !concern.household;
    if (!concern.household) { return; }
    var drop = el('button', {type: 'button', className: 'link',
                             id: 'dispatch-household-clear'},
                  both('dispatch_household_clear'));
    drop.addEventListener('click', function () {
      concern.household = null;
      showPicked();
    });
    box.appendChild(el('span', {}, concern.household.line));
    box.appendChild(document.createTextNode(' '));
    box.appendChild(drop);
  }

  function findHouseholds() {
    var q = $('dispatch-household-q').value.trim();
    var hits = $('dispatch-household-hits');
    if (!q) { clear(hits); return; }
    getJSON(API + '/places?' + query({q: q})).then(function (found) {
      clear(hits);
      var homes = found.households || [];
      if (!homes.length) {
        hits.appendChild(el('p', {className: 'none'}, both('dispatch_household_none')));
        return;
      }
      var list = el('ul', {className: 'dispatch-hits', id: 'dispatch-household-list'});
      homes.forEach(function (h) {
        var line = h.label + (h.detail ? '（' + h.detail + '）' : '');
        var b = el('button', {type: 'button', className: 'link',
                              data: {id: h.code}}, line);
        b.addEventListener('click', function () {
          concern.household = {id: Number(h.code), line: line};
          clear(hits);
          $('dispatch-household-q').value = '';
          showPicked();
        });
        list.appendChild(el('li', {}, b));
      });
      hits.appendChild(list);
    }, fail);
  }

  if ($('dispatch-household-q')) {
    $('dispatch-household-q').addEventListener('input', function () {
      clearTimeout(concern.timer);
      concern.timer = setTimeout(findHouseholds, 300);
    });
    $('dispatch-household-q').addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {  // a search, not the form's submit
        e.preventDefault();
        clearTimeout(concern.timer);
        findHouseholds();
      }
    });
  }

  function parties() {
    return $('dispatch-parties').value.split('\n').map(function (n) {
      return n.trim();
    }).filter(function (n) { return n; });
  }

  function report() {
    var body = {category: $('dispatch-category').value,
                subtype: $('dispatch-subtype').value || null,
                source: $('dispatch-source').value,
                reporter: $('dispatch-reporter').value.trim() || null,
                description: $('dispatch-description').value.trim() || null,
                lon: state.point.lon, lat: state.point.lat};
    if (concern.household) { body.household_id = concern.household.id; }
    var address = $('dispatch-address').value.trim();
    if (address) { body.address = address; }
    var names = parties();
    if (names.length) { body.parties = names; }
    return body;
  }

  function checkAndPreview() {
    if (!state.point) { msg('error', zh('dispatch_need_point')); return; }
    var body = report();
    gg.send('POST', API + '/incidents/preview', body, CSRF).then(function (r) {
      if (!r.ok) { fail(r); return; }
      var box = $('dispatch-preview');
      clear(box);
      var pv = r.body;
      box.appendChild(el('p', {}, zh('dispatch_goes_to', {
        grid: (state.micro ? state.micro.name + ' ' : '') + pv.grid_code,
        deadline: when(pv.deadline), n: pv.deadline_workdays})));
      if (pv.duplicates && pv.duplicates.length) {
        box.appendChild(el('p', {className: 'warn'}, zh('dispatch_duplicates',
                                                       {m: 50, d: 7})));
        // each with what was reported and when, to judge whether it is the same
        var dups = el('ul', {className: 'dispatch-dups', id: 'dispatch-duplicates'});
        pv.duplicates.forEach(function (d) {
          var link = el('button', {type: 'button', className: 'link-dup'},
                        both('dispatch_link'));
          link.addEventListener('click', function () { submit(body, d.code); });
          dups.appendChild(el('li', {data: {code: d.code}}, [
            el('div', {}, [el('strong', {}, d.code), ' ',
              labelNode(V.statuses, d.status), ' · ',
              Math.round(d.distance_m) + ' ' + zh('metres')]),
            el('div', {className: 'when'}, [el('time', {}, when(d.created_at))]),
            el('p', {className: 'desc'}, d.description || '—'),
            link]));
        });
        box.appendChild(dups);
      } else {
        box.appendChild(el('p', {}, both('dispatch_no_duplicates')));
      }
      var confirm = el('button', {type: 'button', id: 'dispatch-confirm',
                                  className: 'primary-action'}, both('dispatch_confirm'));
      confirm.addEventListener('click', function () { submit(body, null); });
      box.appendChild(confirm);
    });
  }

  function submit(body, linkTo) {
    if (linkTo) { body = Object.assign({}, body, {link_to: linkTo}); }
    gg.send('POST', API + '/incidents', body, CSRF).then(function (r) {
      if (!r.ok) { fail(r); return; }
      clear($('dispatch-preview'));
      concern.household = null;  // the next registration starts afresh
      showPicked();
      $('dispatch-address').value = '';
      $('dispatch-parties').value = '';
      var incident = linkTo ? r.body.incident : r.body;
      msg('ok', linkTo ? zh('dispatch_linked', {code: linkTo}) :
        zh('dispatch_registered', {code: incident.code, grid: incident.grid_code}));
      // Straight to the micro-grid's queues, where the new report waits for triage.
      if (state.micro) {
        setScope({code: state.micro.code, name: state.micro.name});
        openQueue(incident.escalation_level || 4, 'to_triage');
      }
      showIncident(incident.code);
    });
  }

  // --- queues ----------------------------------------------------------------------

  var QUEUE_PARAMS = {
    to_triage: {status: 'registered'},
    in_hand: {status: 'dispatched,handling'},
    overdue: {overdue: 'true'},
    awaiting_evaluation: {status: 'closed'}
  };

  function setScope(scope) {
    state.scope = scope;
    loadQueues();
  }

  function loadQueues() {
    var box = $('dispatch-queue-table');
    if (!box) { return Promise.resolve(); }
    var scopeLine = $('dispatch-scope');
    clear(scopeLine);
    scopeLine.appendChild(both('dispatch_scope', {name: state.scope.name}));
    if (state.scope.code !== cfg.root.code) {
      var mine = el('button', {type: 'button', className: 'link'},
                    both('dispatch_scope_mine'));
      mine.addEventListener('click', function () { setScope(cfg.root); });
      scopeLine.appendChild(mine);
    }
    if (state.micro && state.scope.code !== state.micro.code) {
      var micro = el('button', {type: 'button', className: 'link',
                                id: 'dispatch-scope-micro'}, both('dispatch_scope_micro'));
      micro.addEventListener('click', function () {
        setScope({code: state.micro.code, name: state.micro.name});
      });
      scopeLine.appendChild(micro);
    }
    return getJSON(API + '/incidents/queues?' + query({grid: state.scope.code}))
      .then(function (answer) {
        clear(box);
        state.queueLabels = answer.labels;
        var names = Object.keys(QUEUE_PARAMS);  // the loop's order, not the JSON's
        box.appendChild(el('tr', {}, [el('th', {}, both('level'))].concat(
          names.map(function (q) {
            return el('th', {}, [answer.labels[q][0], ' ',
                                 el('span', {className: 'en'}, answer.labels[q][1])]);
          }))));
        answer.queues.forEach(function (row) {
          var cells = [el('th', {}, label(V.levels, row.level).split(' ')[0])];
          names.forEach(function (q) {
            var b = el('button', {type: 'button', className: 'count' +
                                  (q === 'overdue' && row[q] ? ' hot' : ''),
                                  data: {level: row.level, queue: q}}, String(row[q]));
            b.addEventListener('click', function () { openQueue(row.level, q); });
            cells.push(el('td', {}, b));
          });
          box.appendChild(el('tr', {}, cells));
        });
      }).catch(fail);
  }

  function openQueue(level, queue) {
    state.queue = {level: level, queue: queue};
    var params = Object.assign({level: level, grid: state.scope.code, limit: 50},
                               QUEUE_PARAMS[queue]);
    return getJSON(API + '/incidents?' + query(params)).then(function (page) {
      var box = $('dispatch-list');
      clear(box);
      box.dataset.level = level;
      box.dataset.queue = queue;
      box.appendChild(el('h3', {}, [label(V.levels, level).split(' ')[0], ' · ',
                                    queueLabel(queue), ' (' + page.total + ')']));
      if (!page.items.length) {
        box.appendChild(el('p', {}, both('dispatch_list_empty')));
        return;
      }
      box.appendChild(table(page.items, function (i) {
        return [incidentButton(i.code),
                label(CATS, i.category).split(' ')[0],
                labelNode(V.statuses, i.status),
                el('span', {className: i.overdue ? 'hot' : ''},
                   when(i.deadline) +
                   (i.overdue ? ' ' + zh('overdue') : ''))];
      }, 'dispatch-queue-list'));
    }).catch(fail);
  }

  function queueLabel(queue) {
    var pair = state.queueLabels[queue] || [queue, ''];
    return pair[0] + ' ' + pair[1];
  }

  function incidentButton(code) {
    var b = el('button', {type: 'button', className: 'link incident-code'}, code);
    b.addEventListener('click', function () { showIncident(code, true); });
    return b;
  }

  // --- one incident: its timeline and its actions ------------------------------------

  // The incident's card; ``zoom``: the map goes to it (chosen from a list).
  function showIncident(code, zoom) {
    return getJSON(API + '/incidents/' + encodeURIComponent(code)).then(function (inc) {
      state.incident = inc;
      var box = $('dispatch-incident');
      if (!box) { return; }
      clear(box);
      box.dataset.code = inc.code;
      box.appendChild(el('h3', {}, [inc.code, ' · ',
        label(CATS, inc.category).split(' ')[0], ' · ',
        labelNode(V.statuses, inc.status)]));
      box.appendChild(facts(inc));
      if (zoom) { panel.label(inc.code); }
      if (inc.photos && inc.photos.length) {  // from the grid worker's phone
        box.appendChild(el('h3', {}, both('dispatch_photos')));
        box.appendChild(el('div', {className: 'dispatch-photos'},
          inc.photos.map(function (p) {
            return el('a', {href: p.url, target: '_blank', rel: 'noopener'},
              [el('img', {src: p.url, alt: zh('dispatch_photos'), loading: 'lazy'})]);
          })));
      }
      box.appendChild(el('h3', {}, both('dispatch_timeline')));
      var ol = el('ol', {className: 'dispatch-timeline', id: 'dispatch-timeline'});
      var entries = (inc.events || []).map(function (ev) {
        return {at: ev.at, li: el('li', {}, [el('time', {}, when(ev.at)), ' ',
          el('strong', {}, label(V.actions, ev.action).split(' ')[0]), ' ',
          ev.actor || '', ev.note ? '：' + ev.note : '',
          ev.action === 'feedback' && ev.details && ev.details.outcome ?
            '（' + zh('proposed_outcome') + '：' +
            label(V.outcomes, ev.details.outcome).split(' ')[0] + '）' : ''])};
      });
      // each photo from the phone at the time it came, with who sent it
      (inc.photos || []).forEach(function (p) {
        entries.push({at: p.created_at, li: el('li', {className: 'dispatch-photo-event'}, [
          el('time', {}, when(p.created_at)), ' ',
          el('strong', {}, zh('dispatch_photos')), ' ', p.created_by || '', ' ',
          el('a', {href: p.url, target: '_blank', rel: 'noopener'},
            [el('img', {src: p.url, alt: zh('dispatch_photos'), loading: 'lazy',
                        className: 'dispatch-timeline-photo'})])])});
      });
      entries.sort(function (a, b) { return Date.parse(a.at) - Date.parse(b.at); });
      entries.forEach(function (e) { ol.appendChild(e.li); });
      box.appendChild(ol);
      if (cfg.can['incidents:edit'] && inc.actions && inc.actions.length) {
        box.appendChild(actionForm(inc));
      }
      showOnMap(inc, zoom);
    }).catch(fail);
  }

  // The household an incident concerns, as the API gives it (masked per role).
  function concernHousehold(c) {
    var h = c && c.household;
    if (!h) { return c && c.household_id ? '#' + c.household_id : '—'; }
    return [h.address, h.head_name, h.phone].filter(function (v) {
      return v;
    }).join(' · ');
  }

  // What the dispatcher judges by, one row each (data-fact names the row).
  function facts(inc) {
    var chain = inc.grid_chain || [];
    var rows = [
      ['grid', zh('grid_chain'), chain.length ? [chain.map(function (g) {
        return g.name;
      }).join(' › '), ' ', el('code', {}, inc.grid_code)] : inc.grid_code],
      ['source', zh('dispatch_source'), labelNode(V.sources, inc.source)],
      ['reporter', zh('dispatch_reporter'), inc.reporter || '—'],
      ['household', zh('dispatch_household'), concernHousehold(inc.concern)],
      ['address', zh('dispatch_address_fact'),
       (inc.concern && inc.concern.address) || '—'],
      ['parties', zh('parties'),
       (inc.concern && inc.concern.parties.length) ?
         inc.concern.parties.join('、') : '—'],
      ['received', zh('dispatch_received'), when(inc.created_at)],
      ['deadline', zh('dispatch_deadline'), when(inc.deadline) +
        (inc.overdue ? ' ' + zh('overdue') : '')],
      ['assignee', zh('dispatch_assignee'), inc.assignee_name || inc.department || '—'],
      ['description', zh('dispatch_description'), inc.description || '—']
    ];
    if (inc.proposed_outcome) {  // from the grid worker's 处置反馈
      rows.push(['proposed_outcome', both('proposed_outcome'),
                 labelNode(V.outcomes, inc.proposed_outcome)]);
    }
    if (inc.outcome) {
      rows.push(['outcome', zh('dispatch_outcome'), labelNode(V.outcomes, inc.outcome)]);
    }
    if (inc.satisfaction) {
      rows.push(['satisfaction', zh('dispatch_satisfaction'),
                 labelNode(V.satisfaction, inc.satisfaction)]);
    }
    var t = el('table', {className: 'dispatch-table dispatch-facts',
                         id: 'dispatch-facts'});
    rows.forEach(function (r) {
      t.appendChild(el('tr', {data: {fact: r[0]}},
                       [el('td', {}, r[1]), el('td', {}, r[2])]));
    });
    return t;
  }

  // The incident's spot and micro-grid on the map; zoomed to when chosen.
  function showOnMap(inc, zoom) {
    picked.clearLayers();
    var here = L.latLng(inc.lat, inc.lon);
    L.circleMarker(here, STYLE.incident).addTo(picked).bindTooltip(text(inc.code));
    if (zoom) {  // on a phone the sheet unfolds on the card, the spot above it
      panel.open();
      keepInSight(here, Math.max(map.getZoom(), 17));
    }
    getJSON(API + '/grids/' + encodeURIComponent(inc.grid_code)).then(function (f) {
      if (state.incident && state.incident.code === inc.code) {
        L.geoJSON(f, {style: STYLE.micro, interactive: false}).addTo(picked);
      }
    }).catch(function () { /* the outline is a nicety */ });
  }

  function actionForm(inc) {
    var form = el('form', {className: 'dispatch-actions', id: 'dispatch-actions'});
    var note = el('input', {type: 'text', maxLength: 2000, id: 'dispatch-note',
                            placeholder: zh('dispatch_note')});
    form.appendChild(el('label', {}, [both('dispatch_note'), note]));
    var extra = {};
    if (inc.actions.indexOf('triage') >= 0) {
      // the staff of the incident's own grid chain, the micro-grid's first
      var staff = el('select', {id: 'dispatch-assignee'});
      staff.appendChild(el('option', {value: ''}, '—'));
      (inc.staff || []).forEach(function (s) {
        var grid = (inc.grid_chain || []).filter(function (g) {
          return g.code === s.grid_code;
        })[0];
        staff.appendChild(el('option', {value: s.id, data: {level: s.level}},
          s.name + '（' + label(V.roles, s.role).split(' ')[0] + ' · ' +
          (grid ? grid.name : label(V.levels, s.level).split(' ')[0]) + '）'));
      });
      var dept = el('input', {type: 'text', maxLength: 100, id: 'dispatch-dept'});
      form.appendChild(el('label', {}, [both('dispatch_to_staff'), staff]));
      form.appendChild(el('label', {}, [both('dispatch_department'), dept]));
      extra.triage = function () {
        return {assignee_id: staff.value ? Number(staff.value) : null,
                department: dept.value.trim() || null};
      };
    }
    if (inc.actions.indexOf('close') >= 0) {
      var outcome = el('select', {id: 'dispatch-outcome'});
      var fits = {};  // only the outcomes that close this category
      (V.outcomes_by_category[inc.category] || Object.keys(V.outcomes))
        .forEach(function (code) { fits[code] = V.outcomes[code]; });
      fillSelect(outcome, fits, inc.proposed_outcome);  // as the worker proposed
      form.appendChild(el('label', {}, [both('dispatch_outcome'), outcome]));
      extra.close = function () { return {outcome: outcome.value}; };
    }
    if (inc.actions.indexOf('evaluate') >= 0) {
      var sat = el('select', {id: 'dispatch-satisfaction'});
      Object.keys(V.satisfaction).sort().reverse().forEach(function (n) {  // 满意 first
        sat.appendChild(el('option', {value: n}, label(V.satisfaction, n)));
      });
      form.appendChild(el('label', {}, [both('dispatch_satisfaction'), sat]));
      extra.evaluate = function () { return {satisfaction: Number(sat.value)}; };
    }
    var bar = el('div', {className: 'buttons'});
    inc.actions.forEach(function (action) {
      var b = el('button', {type: 'button', data: {action: action}},
                 labelNode(V.actions, action));
      b.addEventListener('click', function () {
        var body = Object.assign({action: action, note: note.value.trim() || null},
                                 extra[action] ? extra[action]() : {});
        gg.send('POST', API + '/incidents/' + encodeURIComponent(inc.code) +
                '/transitions', body, CSRF).then(function (r) {
          if (!r.ok) { fail(r); return; }
          msg('ok', zh('dispatch_done', {action: label(V.actions, action).split(' ')[0]}));
          showIncident(inc.code);
          loadQueues();
          if (state.queue) { openQueue(state.queue.level, state.queue.queue); }
        });
      });
      bar.appendChild(b);
    });
    form.appendChild(bar);
    return form;
  }

  // data-state="ready" once the outlines and queues are in (for the browser tests).
  // /dispatch?incident=CODE opens that incident (a link from a list, a reminder).
  Promise.all([loadOutlines(), loadQueues()]).then(function () {
    var wanted = new URLSearchParams(window.location.search).get('incident');
    return wanted ? showIncident(wanted, true) : null;
  }).then(function () {
    $('dispatch').dataset.state = 'ready';
  });
})();
