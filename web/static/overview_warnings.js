/*
 * The overview's early warnings (预警, issue 19; static/overview.js draws the
 * rest of the leaders' page, this script its warnings): the live warnings of the
 * area shown (GET /api/v1/warnings?grid=<root>: open, acknowledged, assessing;
 * the newest rise first, then the most significant) in the side panel -- and so
 * in the phone's bottom sheet -- each with its grid, category, observed against
 * expected, since when and status; the warned grids outlined on the map in red
 * dashes in a pane of their own above the choropleth (an outline, not a fill:
 * the choropleth's colours stay readable under it); a click on a warning zooms
 * to its grid and lists the incidents behind it (GET /api/v1/incidents, audited
 * there); acknowledge, send to 研判 or dismiss with a reason for a user with
 * warnings:handle (POST /api/v1/warnings/<id>, audited there).
 *
 * overview.js gives the panel a section (#gg-ew-box) each time it draws it and
 * calls the hooks of window.gridgovOverview.panelHooks with it. Strings from
 * the catalogue (cfg.strings, ov_ew_*), inserted as text; no inline handlers.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('overview-config').textContent)
    .leaders;
  var O = window.gridgovOverview, map = window.ggLeaflet.map;
  var el = gg.el, clear = gg.clear, q = gg.query;
  var T = gg.strings(cfg.strings), zh = T.zh, both = T.both;
  var API = cfg.api, W = cfg.warnings;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = meta ? meta.getAttribute('content') : '';

  // above the choropleth (overlayPane, 400) and under the grid outlines of
  // levels 1-3; the mouse goes through to the map (a click still locates)
  var pane = map.createPane('gg-ew');
  pane.style.zIndex = 402;
  pane.style.pointerEvents = 'none';
  var renderer = L.svg({pane: 'gg-ew'});
  var outlines = L.featureGroup().addTo(map);
  window.ggLeaflet.control.addOverlay(outlines, zh('ov_ew_layer'));

  var ew = {root: null, items: [], open: null, shapes: {}, incidents: {},
            message: null, section: null, loading: null};
  O.warnings = ew;

  // --- the warned grids on the map ---------------------------------------------------

  // A grid's geometry from the levels embedded in the page, or null.
  function embedded(code) {
    var hit = null, layers = window.ggLeaflet.layers;
    Object.keys(layers).forEach(function (key) {
      if (hit || key.indexOf('level') !== 0) { return; }
      layers[key].eachLayer(function (gj) {
        if (hit || !gj.eachLayer) { return; }
        gj.eachLayer(function (f) {
          if (!hit && f.feature && f.feature.properties.code === code) {
            hit = f.feature.geometry;
          }
        });
      });
    });
    return hit;
  }

  // The outline of a warning: a cluster's square, else its grid's boundary
  // (embedded, or asked of /grids when that level came as vector tiles).
  function shapeOf(w) {
    if (w.geometry) { return Promise.resolve(w.geometry); }
    var found = embedded(w.grid_code);
    if (found) { return Promise.resolve(found); }
    return gg.getJSON(API + '/grids/' + encodeURIComponent(w.grid_code))
      .then(function (f) { return f.geometry; }, function () { return null; });
  }

  function draw(w) {
    return shapeOf(w).then(function (geometry) {
      if (!geometry || ew.items.indexOf(w) < 0) { return null; }
      var layer = L.geoJSON(geometry, {
        renderer: renderer, pane: 'gg-ew', interactive: false,
        style: L.Util.extend({}, W.style, {className: 'gg-ew gg-ew-' + w.kind})
      });
      layer.addTo(outlines);
      ew.shapes[w.id] = layer;
      return layer;
    });
  }

  // --- the list ----------------------------------------------------------------------

  function load(root) {
    ew.root = root;
    ew.items = [];
    ew.open = null;
    ew.shapes = {};
    outlines.clearLayers();
    var asked = root;
    ew.loading = gg.getJSON(API + '/warnings?' + q({grid: root, limit: 100}))
      .then(function (answer) {
        if (ew.root !== asked) { return; }
        ew.items = answer.items || [];
        ew.loading = null;
        return Promise.all(ew.items.map(draw));
      }, function () {
        ew.loading = null;
      }).then(function () { render(); });
    render();
  }

  function line(w) {
    var parts = [zh('ov_ew_figures', {observed: w.observed,
                                      expected: Number(w.expected).toFixed(1)})];
    if (w.q !== null && w.q !== undefined) {
      parts.push('q = ' + Number(w.q).toPrecision(2));
    }
    parts.push(zh('ov_ew_since', {since: w.since}));
    parts.push(zh('ov_ew_status_' + w.status));
    return parts.join(' · ');
  }

  function title(w) {
    return (w.grid_name || w.grid_code) + ' · ' +
      (w.kind === 'cluster' ? zh('ov_ew_cluster') : w.category_label);
  }

  function render() {
    var box = ew.section;
    if (!box || !document.body.contains(box)) { return; }
    clear(box);
    box.dataset.state = ew.loading ? 'loading' : 'ready';
    box.appendChild(el('h3', {}, [both('ov_ew_title'),
                                  ew.loading ? '' : '（' + ew.items.length + '）']));
    box.appendChild(el('p', {className: 'gg-note gg-ew-key'}, [
      el('i', {className: 'sw-ew'}), both('ov_ew_legend')]));
    if (ew.message) {
      box.appendChild(el('p', {className: ew.message.ok ? 'gg-note' : 'gg-error',
                               id: 'gg-ew-message'}, ew.message.text));
    }
    if (ew.loading) { return; }
    if (!ew.items.length) {
      box.appendChild(el('p', {className: 'gg-note', id: 'gg-ew-none'},
                         both('ov_ew_none')));
      return;
    }
    var list = el('ul', {className: 'gg-ew-list', id: 'gg-ew-list'});
    ew.items.forEach(function (w) {
      var open = el('button', {type: 'button', className: 'link gg-ew-open'},
                    title(w));
      open.addEventListener('click', function () { choose(w); });
      var item = el('li', {className: 'gg-ew-item' + (ew.open === w.id ? ' gg-ew-on' : ''),
                           data: {id: w.id, status: w.status, code: w.grid_code}},
                    [open, el('p', {className: 'gg-ew-line'}, line(w))]);
      if (ew.open === w.id) { item.appendChild(detail(w)); }
      list.appendChild(item);
    });
    box.appendChild(list);
  }

  // --- one warning: its grid, its incidents, what to do --------------------------------

  function nextDay(day) {
    var d = new Date(day + 'T00:00:00Z');
    d.setUTCDate(d.getUTCDate() + 1);
    return d.toISOString().slice(0, 10);
  }

  function choose(w) {
    ew.open = ew.open === w.id ? null : w.id;
    ew.message = null;
    outlines.eachLayer(function (layer) {
      layer.setStyle({weight: W.style.weight});
    });
    if (ew.open !== null) {
      var shape = ew.shapes[w.id];
      (shape ? Promise.resolve(shape) : draw(w)).then(function (layer) {
        if (!layer) { return; }
        layer.setStyle({weight: W.style.weight + 2});
        map.fitBounds(layer.getBounds(), {maxZoom: 17, padding: [20, 20]});
      });
      if (!ew.incidents[w.id]) { incidents(w); }
    }
    render();
  }

  // The incidents behind a warning: those it names (w.incidents, newest first),
  // read from the list of its grid (and category) since the rise began.
  function incidents(w) {
    ew.incidents[w.id] = {state: 'loading', items: []};
    var params = {since: w.since, until: nextDay(w.last_day), limit: 1000,
                  grid: w.kind === 'grid' ? w.grid_code : (O.state.root.code || ''),
                  category: w.kind === 'grid' ? w.category : ''};
    gg.getJSON(API + '/incidents?' + q(params)).then(function (page) {
      var byCode = {};
      (page.items || []).forEach(function (i) { byCode[i.code] = i; });
      ew.incidents[w.id] = {state: 'ready', items: w.incidents.map(function (code) {
        return byCode[code] || {code: code};
      })};
    }, function () {
      ew.incidents[w.id] = {state: 'ready', items: w.incidents.map(function (code) {
        return {code: code};
      })};
    }).then(render);
  }

  function detail(w) {
    var box = el('div', {className: 'gg-ew-detail', id: 'gg-ew-detail',
                         data: {id: w.id}});
    var found = ew.incidents[w.id] || {state: 'loading', items: []};
    box.appendChild(el('p', {className: 'gg-note'},
                       zh('ov_ew_incidents', {n: w.incidents.length})));
    var ul = el('ul', {className: 'gg-ew-incidents', id: 'gg-ew-incidents',
                       data: {state: found.state}});
    found.items.forEach(function (i) {
      var link = el('a', {href: W.dispatch + '?' + q({incident: i.code})}, i.code);
      var when = i.created_at ? ' ' + gg.time(i.created_at) : '';
      var what = i.description ? ' ' + String(i.description).slice(0, 40) : '';
      ul.appendChild(el('li', {data: {code: i.code}}, [link, when + what]));
    });
    box.appendChild(ul);
    if (W.canHandle) { box.appendChild(actions(w)); }
    return box;
  }

  function actions(w) {
    var form = el('div', {className: 'gg-ew-actions'});
    var reason = el('input', {type: 'text', id: 'gg-ew-reason', maxLength: 500,
                              placeholder: zh('ov_ew_reason')});
    reason.setAttribute('aria-label', zh('ov_ew_reason'));
    ['acknowledge', 'assess', 'dismiss'].forEach(function (action) {
      var b = el('button', {type: 'button', className: 'gg-ew-act',
                            data: {action: action}}, zh('ov_ew_' + action));
      b.addEventListener('click', function () { act(w, action, reason.value, b); });
      form.appendChild(b);
    });
    form.appendChild(el('label', {}, [both('ov_ew_reason'), reason]));
    return form;
  }

  function act(w, action, reason, button) {
    button.disabled = true;
    gg.send('POST', API + '/warnings/' + encodeURIComponent(w.id),
            {action: action, reason: reason.trim() || null}, CSRF).then(function (r) {
      if (!r.ok) {
        var e = r.body && r.body.error;
        ew.message = {ok: false, text: zh('failed') + '：' + (e ? e.message : r.status)};
      } else {
        ew.message = {ok: true, text: zh('ov_ew_done', {
          status: zh('ov_ew_status_' + r.body.status)})};
        var at = ew.items.indexOf(w);
        if (r.body.status === 'dismissed') {   // no longer live: off the list
          ew.items.splice(at, 1);
          if (ew.shapes[w.id]) { outlines.removeLayer(ew.shapes[w.id]); }
          delete ew.shapes[w.id];
          ew.open = null;
        } else if (at >= 0) {
          ew.items[at] = L.Util.extend(w, r.body);
        }
      }
      render();
    });
  }

  // --- wired to the panel --------------------------------------------------------

  function hook(section) {
    ew.section = section;
    var root = O.state.root.code || '';
    if (ew.root !== root) { load(root); } else { render(); }
  }
  O.panelHooks.push(hook);
  var now = document.getElementById('gg-ew-box');
  if (now) { hook(now); }
})();
