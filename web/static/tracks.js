/*
 * The patrol tracks page /tracks (web/tracks.py, templates/tracks.html).
 *
 * Pick a grid worker of the jurisdiction who has tracks and a range of days
 * (by default the last week with tracks); the map draws each day's legs in a
 * colour of their own with start (○) and end (●) markers, the worker's own
 * micro-grids outlined and those entered filled; the panel lists per day the
 * distance, duration, moving time and micro-grids entered, and per week the
 * 巡查覆盖率 (share of the worker's micro-grids visited, from the summary API).
 * 轨迹回放: a day's legs replayed with a time slider, a marker moving along the
 * track at the time shown (China time, from the API's ISO times with offset).
 *
 * All data comes from the API with the session cookie, so the page shows what
 * this user may see. No inline script or handler (the CSP forbids them); strings
 * come from web/i18n.py, Chinese first.
 */
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var cfg = JSON.parse($('tracks-config').textContent);
  var API = cfg.urls.api;
  var el = gg.el, text = gg.text, clear = gg.clear, getJSON = gg.getJSON,
    query = gg.query;
  var T = gg.strings(cfg.strings), zh = T.zh, both = T.both;
  var root = $('tracks');

  // Okabe-Ito colours, one per day (yellow left out: unreadable on light maps);
  // a range of more than seven days reuses them in order.
  var COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9',
                 '#000000'];
  var STYLE = {
    own: {color: '#555', weight: 2, dashArray: '5 4', fill: false},
    visited: {color: '#009E73', weight: 2, fillColor: '#009E73', fillOpacity: 0.22}
  };

  function setState(name) { root.dataset.state = name; }

  function msg(kind, key, args) {
    var box = $('tracks-msg');
    clear(box);
    box.className = 'tracks-msg ' + (kind || '');
    if (key) { box.appendChild(both(key, args)); }
  }

  function fail(err) {
    var e = err && err.body && err.body.error;
    var box = $('tracks-msg');
    msg('error', 'tracks_failed');
    box.appendChild(document.createTextNode('：' + ((e && e.message) ||
      (err && err.status ? 'HTTP ' + err.status : String(err)))));
    setState('failed');
  }

  // --- days as 'YYYY-MM-DD', computed in UTC so no local offset shifts them -----

  function parseDay(iso) {
    var p = iso.split('-');
    return new Date(Date.UTC(+p[0], +p[1] - 1, +p[2]));
  }
  function isoDay(date) { return date.toISOString().slice(0, 10); }
  function addDays(iso, n) {
    var d = parseDay(iso);
    d.setUTCDate(d.getUTCDate() + n);
    return isoDay(d);
  }
  function monday(iso) { return addDays(iso, -((parseDay(iso).getUTCDay() + 6) % 7)); }
  function span(a, b) { return Math.round((parseDay(b) - parseDay(a)) / 864e5) + 1; }

  function hm(seconds) {
    var m = Math.round(seconds / 60);
    var mm = String(m % 60);
    return Math.floor(m / 60) + ':' + (mm.length < 2 ? '0' + mm : mm);
  }
  function km(metres) { return (metres / 1000).toFixed(2); }

  // --- the map ------------------------------------------------------------------

  var map = gg.newMap('tracks-map', {zoomControl: true, maxZoom: 19}, cfg.basemap);
  L.control.scale({imperial: false}).addTo(map);
  var gridsLayer = L.featureGroup().addTo(map);
  var linesLayer = L.featureGroup().addTo(map);
  var state = {workers: [], answer: null, weeks: []};
  window.gridgovTracks = {map: map, state: state, lines: linesLayer};
  map.setView([31.25, 119.75], 12);

  function colourOf(days) {
    var colour = {};
    days.forEach(function (d, i) { colour[d] = COLOURS[i % COLOURS.length]; });
    return colour;
  }

  function draw(fc, colour) {
    gridsLayer.clearLayers();
    linesLayer.clearLayers();
    L.geoJSON(fc.grids, {
      style: function (f) { return f.properties.visited ? STYLE.visited : STYLE.own; },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(text(f.properties.name + '（' + f.properties.code + '）'));
      }
    }).addTo(gridsLayer);
    fc.features.forEach(function (f) {
      var p = f.properties, c = colour[p.day];
      L.geoJSON(f, {style: {color: c, weight: 3, opacity: 0.9,
                            className: 'tracks-line'}})
        .bindTooltip(text(zh('tracks_leg', {day: p.day, leg: p.leg,
                                            km: km(p.distance_m)})))
        .addTo(linesLayer);
      var xy = f.geometry.coordinates, a = xy[0], b = xy[xy.length - 1];
      L.circleMarker([a[1], a[0]], {radius: 5, color: c, weight: 2, fillColor: '#fff',
                                    fillOpacity: 1, className: 'tracks-start'})
        .bindTooltip(text(zh('tracks_start', {time: p.start ? gg.time(p.start) : p.day})))
        .addTo(linesLayer);
      L.circleMarker([b[1], b[0]], {radius: 5, color: '#fff', weight: 1.5,
                                    fillColor: c, fillOpacity: 1,
                                    className: 'tracks-end'})
        .bindTooltip(text(zh('tracks_end', {time: p.end ? gg.time(p.end) : p.day})))
        .addTo(linesLayer);
    });
    var bounds = linesLayer.getLayers().length ? linesLayer.getBounds() :
      gridsLayer.getBounds();
    fit(bounds);
  }

  // The view jumps to the tracks without Leaflet's zoom animation: animated
  // from the opening view (several zoom levels away), Chromium left the lower
  // part of the map unpainted, over-zoomed, until the map was panned. The size
  // is measured again first: the bar above may have wrapped since the map was made.
  function fit(bounds) {
    if (!bounds.isValid()) { return; }
    map.invalidateSize({animate: false, pan: false});
    map.fitBounds(bounds.pad(0.05), {animate: false});
  }

  // --- the panel ----------------------------------------------------------------

  function gridLabels(fc) {
    var names = {};
    fc.grids.features.forEach(function (f) { names[f.properties.code] = f.properties.name; });
    return names;
  }

  function distinct(codes) {
    var seen = {}, out = [];
    codes.forEach(function (c) { if (!seen[c]) { seen[c] = true; out.push(c); } });
    return out;
  }

  function th(key) { return el('th', {}, both(key)); }

  function dot(colour) {
    var node = el('span', {className: 'dot'});
    node.style.background = colour;
    return node;
  }

  function renderTable(fc, colour) {
    var table = $('tracks-table');
    clear(table);
    if (!fc.days.length) { return; }
    var names = gridLabels(fc);
    table.appendChild(el('thead', {}, el('tr', {}, [
      th('tracks_day'), th('tracks_distance'), th('tracks_duration'),
      th('tracks_moving'), th('tracks_entered'), th('tracks_dropped')])));
    var body = el('tbody'), sum = {d: 0, t: 0, m: 0, x: 0};
    fc.days.forEach(function (d) {
      var codes = distinct(d.entered);
      // "黄岗村3网格-2微网格" → "2微网格": the worker's grid is in the heading
      var labels = codes.map(function (c) {
        return names[c] ? names[c].split('-').pop() : c;
      });
      body.appendChild(el('tr', {data: {day: d.day}}, [
        el('td', {className: 'day'}, [dot(colour[d.day]), d.day]),
        el('td', {className: 'num distance'}, km(d.distance_m)),
        el('td', {className: 'num'}, hm(d.duration_s)),
        el('td', {className: 'num'}, hm(d.moving_s)),
        el('td', {className: 'grids',
                  title: codes.map(function (c) { return names[c] || c; }).join('、')},
           codes.length + '：' + labels.join('、')),
        el('td', {className: 'num'}, String(d.dropped))]));
      sum.d += d.distance_m; sum.t += d.duration_s; sum.m += d.moving_s;
      sum.x += d.dropped;
    });
    var all = distinct([].concat.apply([], fc.days.map(function (d) { return d.entered; })));
    body.appendChild(el('tr', {className: 'total'}, [
      el('td', {}, both('total')), el('td', {className: 'num'}, km(sum.d)),
      el('td', {className: 'num'}, hm(sum.t)), el('td', {className: 'num'}, hm(sum.m)),
      el('td', {className: 'grids'}, String(all.length)),
      el('td', {className: 'num'}, String(sum.x))]));
    table.appendChild(body);
  }

  function renderCoverage(weeks) {
    var box = $('tracks-coverage');
    clear(box);
    weeks.forEach(function (w) {
      var c = w.coverage;
      var head = el('div', {}, both('tracks_week', {from: w.from, to: w.to}));
      if (!c.own) {
        box.appendChild(el('div', {className: 'tracks-week'},
                           [head, both('tracks_no_grids')]));
        return;
      }
      var share = el('span', {className: 'share' + (c.share < 0.5 ? ' low' : '')},
                     Math.round(c.share * 100) + '%');
      var parts = [head, share, ' ', both('tracks_visited', c)];
      if (c.not_visited.length) {
        parts.push(el('div', {className: 'missing'}, both('tracks_not_visited',
          {codes: c.not_visited.join('、')})));
      }
      box.appendChild(el('div', {className: 'tracks-week', data: {week: w.from}},
                         parts));
    });
  }

  // On a phone the panel is a bottom sheet (static/gg.js): folded, it says the
  // days' total distance, "合计里程（公里） 12.34".
  function sheetLabel(fc) {
    var metres = fc.days.reduce(function (sum, d) { return sum + d.distance_m; }, 0);
    gg.sheet(document.querySelector('.tracks-panel')).label(
      zh('total') + zh('tracks_distance') + ' ' + km(metres));
  }

  // --- 轨迹回放: replay of a day ------------------------------------------------------

  // Each leg's vertices carry their seconds after the leg's start (the API's
  // vertex_s); the marker stands at the slider's time, interpolated between the
  // two vertices around it, and at the end of the last leg during a break.
  var replay = {legs: [], t0: 0, span: 0, offset: 480, timer: null, marker: null};
  window.gridgovTracks.replay = replay;
  var SPEEDS = [60, 300, 900];  // seconds of the day per second of replay

  function epoch(iso) { return Date.parse(iso) / 1000; }

  // minutes east of UTC of an ISO time's offset ("+08:00" → 480)
  function offsetOf(iso) {
    var m = /([+-])(\d\d):(\d\d)$/.exec(iso || '');
    return m ? (m[1] === '-' ? -1 : 1) * (60 * Number(m[2]) + Number(m[3])) : 0;
  }

  // "2026-10-27 09:13:05" of an epoch second, in the zone of the API's times
  function wallClock(t) {
    return new Date((t + 60 * replay.offset) * 1000).toISOString()
      .slice(0, 19).replace('T', ' ');
  }

  function at(t) {
    var legs = replay.legs, leg = legs[0];
    for (var k = 0; k < legs.length && legs[k].t[0] <= t; k++) { leg = legs[k]; }
    var ts = leg.t, xy = leg.xy, last = ts.length - 1;
    if (t <= ts[0]) { return {latlng: [xy[0][1], xy[0][0]], moving: t >= ts[0]}; }
    if (t >= ts[last]) { return {latlng: [xy[last][1], xy[last][0]], moving: false}; }
    var lo = 0, hi = last;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (ts[mid] <= t) { lo = mid; } else { hi = mid; }
    }
    var f = ts[hi] > ts[lo] ? (t - ts[lo]) / (ts[hi] - ts[lo]) : 0;
    return {latlng: [xy[lo][1] + f * (xy[hi][1] - xy[lo][1]),
                     xy[lo][0] + f * (xy[hi][0] - xy[lo][0])], moving: true};
  }

  function seek(seconds) {
    if (!replay.legs.length) { return; }
    var s = Math.max(0, Math.min(replay.span, seconds));
    $('replay-slider').value = String(Math.round(s));
    var t = replay.t0 + s, spot = at(t), clock = wallClock(t);
    replay.seconds = s;
    replay.marker.setLatLng(spot.latlng);
    replay.marker.setTooltipContent(text(clock.slice(11)));
    var label = $('replay-time');
    clear(label);
    label.appendChild(document.createTextNode(
      gg.time(new Date(t * 1000).toISOString(), {seconds: true})));
    if (!spot.moving) {
      label.appendChild(el('span', {className: 'rest'}, ' · ' + zh('tracks_replay_rest')));
    }
    label.dataset.time = clock;
  }

  function pause() {
    if (replay.timer) { clearInterval(replay.timer); }
    replay.timer = null;
    var b = $('replay-play');
    clear(b);
    b.appendChild(both('tracks_replay_play'));
    b.setAttribute('aria-pressed', 'false');
  }

  function play() {
    if (replay.timer) { pause(); return; }
    if (replay.seconds >= replay.span) { seek(0); }
    var b = $('replay-play');
    clear(b);
    b.appendChild(both('tracks_replay_pause'));
    b.setAttribute('aria-pressed', 'true');
    var tick = 100;  // ms
    replay.timer = setInterval(function () {
      seek(replay.seconds + Number($('replay-speed').value) * tick / 1000);
      if (replay.seconds >= replay.span) { pause(); }
    }, tick);
  }

  function replayDay(fc, day, colour) {
    pause();
    replay.legs = fc.features.filter(function (f) {
      return f.properties.day === day && f.properties.vertex_s;
    }).map(function (f) {
      var start = epoch(f.properties.start);
      replay.offset = offsetOf(f.properties.start);
      return {xy: f.geometry.coordinates,
              t: f.properties.vertex_s.map(function (s) { return start + s; })};
    });
    if (replay.marker) { replay.marker.remove(); replay.marker = null; }
    if (!replay.legs.length) { return; }
    var last = replay.legs[replay.legs.length - 1].t;
    replay.t0 = replay.legs[0].t[0];
    replay.span = Math.max(0, last[last.length - 1] - replay.t0);
    $('replay-slider').max = String(Math.ceil(replay.span));
    replay.marker = L.circleMarker([0, 0], {
      radius: 8, weight: 3, color: '#fff', fillColor: colour[day], fillOpacity: 1,
      className: 'tracks-replay', interactive: false
    }).bindTooltip(text(''), {permanent: true, direction: 'top', offset: [0, -8],
                              className: 'tracks-replay-tip'}).addTo(map);
    seek(0);
  }

  function setupReplay(fc, colour) {
    var box = $('tracks-replay'), select = $('replay-day');
    pause();
    clear(select);
    var days = fc.days.filter(function (d) { return d.legs > 0; });
    box.hidden = !days.length;
    days.forEach(function (d) {
      select.appendChild(el('option', {value: d.day}, d.day));
    });
    state.colour = colour;
    if (days.length) { replayDay(fc, days[0].day, colour); }
    root.dataset.replay = days.length ? days[0].day : '';
  }

  SPEEDS.forEach(function (v, i) {
    $('replay-speed').appendChild(el('option', {value: String(v), selected: i === 1},
                                     zh('tracks_replay_speed_x', {n: v / 60})));
  });
  $('replay-day').addEventListener('change', function () {
    replayDay(state.answer, this.value, state.colour);
    root.dataset.replay = this.value;
  });
  $('replay-slider').addEventListener('input', function () {
    seek(Number(this.value));
  });
  $('replay-play').addEventListener('click', play);
  pause();

  // --- loading --------------------------------------------------------------------

  function weeksOf(from, to) {
    var out = [];
    for (var m = monday(from); m <= to; m = addDays(m, 7)) { out.push(m); }
    return out;
  }

  function show() {
    var worker = $('tracks-worker').value, from = $('tracks-from').value,
      to = $('tracks-to').value;
    if (!worker) { return; }
    if (!from || !to || from > to || span(from, to) > cfg.max_days) {
      msg('error', 'tracks_bad_window', {days: cfg.max_days});
      return;
    }
    setState('loading');
    msg('info', 'busy');
    var lines = getJSON(API + '/tracks?' + query({worker: worker, from: from, to: to}));
    var weeks = Promise.all(weeksOf(from, to).map(function (m) {
      return getJSON(API + '/tracks/summary?' + query({staff: worker, from: m,
                                                      to: addDays(m, 6), lines: 0}));
    }));
    return Promise.all([lines, weeks]).then(function (got) {
      var fc = got[0];
      state.answer = fc;
      state.weeks = got[1];
      var colour = colourOf(fc.days.map(function (d) { return d.day; }));
      draw(fc, colour);
      renderTable(fc, colour);
      renderCoverage(got[1]);
      setupReplay(fc, colour);
      sheetLabel(fc);
      if (fc.features.length) { msg('', null); } else { msg('info', 'tracks_empty'); }
      root.dataset.features = String(fc.features.length);
      root.dataset.range = fc.worker.id + ':' + fc.from + '/' + fc.to;
      setState('loaded');
    }).catch(fail);
  }

  function lastWeek(worker) {
    var first = monday(worker.last_day);
    $('tracks-from').value = first;
    $('tracks-to').value = addDays(first, 6);
  }

  function workerById(id) {
    return state.workers.filter(function (w) { return String(w.id) === String(id); })[0];
  }

  function roleLabel(code) { return (cfg.roles[code] || [code])[0]; }

  $('tracks-hint').appendChild(both('tracks_hint', {days: cfg.max_days}));

  $('tracks-form').addEventListener('submit', function (e) {
    e.preventDefault();
    show();
  });

  $('tracks-worker').addEventListener('change', function () {
    var w = workerById(this.value);
    if (w) { lastWeek(w); }
    show();
  });

  getJSON(API + '/tracks/workers').then(function (answer) {
    state.workers = answer.workers;
    var select = $('tracks-worker');
    answer.workers.forEach(function (w) {
      select.appendChild(el('option', {value: String(w.id)},
        w.name + ' · ' + (w.grid_name || w.grid_code) + ' · ' + roleLabel(w.role)));
    });
    if (!answer.workers.length) {
      msg('info', 'tracks_none');
      setState('ready');
      return;
    }
    var first = workerById(cfg.initial.worker) || answer.workers[0];
    select.value = String(first.id);
    lastWeek(first);
    if (cfg.initial.from) { $('tracks-from').value = cfg.initial.from; }
    if (cfg.initial.to) { $('tracks-to').value = cfg.initial.to; }
    setState('ready');
    return show();
  }).catch(fail);
})();
