/*
 * The leaders' overview (web/views.py renders `/`, static/overview_map.js
 * draws its map; this script adds to it): a choropleth of the chosen measure at the chosen level under the
 * chosen grid, with its legend and class breaks; the incident heatmap (cells
 * aggregated server side, refetched for the view on every move); Getis-Ord Gi*
 * hot and cold spots; the cameras' fields of view and the blind spots; a side
 * panel with the area's key figures, the grids ranked by the measure, and the
 * click-through (town → villages → grids; a double click on the map drills too);
 * the grids' names on the map where they fit; where to add cameras (the proposed
 * sites, what each adds, the cumulative coverage curve); a spinner while any
 * request takes over 300 ms.
 *
 * Everything comes from the API (rankings, heatmap, hotspots, coverage) with the
 * session cookie, so the page shows what this user may see. No inline handlers
 * (CSP); strings from web/i18n.py via the JSON config, Chinese first.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('overview-config').textContent)
    .leaders;
  var map = window.ggLeaflet.map;         // static/overview_map.js
  var control = window.ggLeaflet.control;
  // the map's box: the panel, the spinner and the legend's hatching go in it
  var body = document.getElementById('overview-body');
  var API = cfg.api;
  var el = gg.el, text = gg.text, clear = gg.clear, q = gg.query;
  var T = gg.strings(cfg.strings), zh = T.zh, both = T.both;

  // ColorBrewer YlOrRd, 5 classes: light to dark, readable in greyscale print
  // (the heatmap's; the choropleth's colours come with its classes); grey for
  // no value (geo/choropleth.py's RAMP and NO_DATA, from the page's config).
  var RAMP = cfg.ramp, NO_DATA = cfg.noData;
  // Gi* classes, the cameras' views, the blind spots: drawn as the HTML export
  // draws them (web/maps.py's HOT, VIEW_STYLE, BLIND_STYLE, in the config).
  var HOT = cfg.styles.hot;
  var MEASURES = cfg.measures;  // [{key, zh, en, kind: count|share|days|change, worse}]
  var HOT_ORDER = cfg.styles.hotOrder;
  // Blind spots: black diagonal hatching over a grey veil, outlined, above the
  // choropleth: unlike any colour of its ramp (the faint dark fill they had
  // vanished on its dark classes). The pattern lives in a hidden SVG of the page;
  // the SVG renderer's paths take it as their fill.
  var BLIND = cfg.styles.blind;
  (function hatch() {
    var NS = 'http://www.w3.org/2000/svg';
    function node(tag, attrs) {
      var n = document.createElementNS(NS, tag);
      Object.keys(attrs).forEach(function (k) { n.setAttribute(k, attrs[k]); });
      return n;
    }
    var defs = node('svg', {width: 0, height: 0, 'aria-hidden': 'true',
                            class: 'gg-defs'});
    var pattern = node('pattern', {id: 'gg-blind-hatch', width: 7, height: 7,
                                   patternUnits: 'userSpaceOnUse',
                                   patternTransform: 'rotate(45)'});
    pattern.appendChild(node('rect', {width: 7, height: 7,
                                      fill: 'rgba(40,40,40,0.28)'}));
    pattern.appendChild(node('line', {x1: 0, y1: 0, x2: 0, y2: 7, stroke: '#000',
                                      'stroke-width': 2.5}));
    defs.appendChild(pattern);
    body.appendChild(defs);
  })();

  // --- requests: a spinner while one takes over 300 ms --------------------------------

  var busy = el('div', {className: 'gg-busy', id: 'gg-busy', role: 'status'},
                [el('span', {className: 'gg-spinner'}), zh('busy')]);
  busy.hidden = true;
  body.appendChild(busy);
  var pending = 0, busyTimer = null;
  function track(promise) {
    pending++;
    if (!busyTimer) {
      busyTimer = setTimeout(function () {
        busyTimer = null;
        if (pending) { busy.hidden = false; }
      }, 300);
    }
    function done() {
      pending--;
      if (!pending) {
        busy.hidden = true;
        if (busyTimer) { clearTimeout(busyTimer); busyTimer = null; }
      }
    }
    return promise.then(function (v) { done(); return v; },
                        function (e) { done(); throw e; });
  }
  function getJSON(url) { return track(gg.getJSON(url)); }

  var state = {root: cfg.root, level: cfg.level, measure: cfg.measure,
               month: cfg.month || '', period: null, items: [], breaks: [],
               classes: {}, colours: [], exact: false,
               trail: [cfg.root]};
  // panelHooks: called with the panel's warnings section each time the panel is
  // drawn (static/overview_warnings.js)
  window.gridgovOverview = {state: state, panelHooks: []};

  // SVG, not the map's canvas (prefer_canvas): paths that print sharply and that
  // carry classes the tests and the print stylesheet can find.
  var SVG = L.svg();
  var choropleth = L.featureGroup();
  var heat = L.featureGroup();
  var hot = L.featureGroup();
  var views = L.featureGroup();
  var blind = L.featureGroup();
  var labels = L.layerGroup();
  var rec = L.featureGroup();
  choropleth.addTo(map);
  labels.addTo(map);
  control.addOverlay(choropleth, zh('ov_choropleth'));
  // what the export draws (static/overview_map.js's exportQuery: the shown ones)
  window.ggLeaflet.layers.choropleth = choropleth;
  control.addOverlay(labels, zh('ov_labels'));
  if (cfg.can.incidents) {
    control.addOverlay(heat, zh('ov_heatmap'));
    control.addOverlay(hot, zh('ov_hotspots'));
  }
  control.addOverlay(views, zh('ov_views'));
  control.addOverlay(blind, zh('ov_blind'));
  window.ggLeaflet.layers.views = views;
  window.ggLeaflet.layers.blind = blind;
  if (cfg.can.incidents) {
    window.ggLeaflet.layers.heatmap = heat;
    window.ggLeaflet.layers.hotspots = hot;
  }
  control.addOverlay(rec, zh('ov_rec_layer'));
  map.doubleClickZoom.disable();  // a double click drills down instead

  // --- the side panel ----------------------------------------------------------------

  // On a phone a bottom sheet (static/gg.js): its handle stays, the content
  // (``panel``) is drawn again on every change.
  var aside = el('aside', {className: 'gg-panel', id: 'gg-panel'});
  var sheet = gg.sheet(aside, state.root.name);
  var panel = el('div', {className: 'gg-panel-body'});
  aside.appendChild(panel);
  body.appendChild(aside);
  L.DomEvent.disableClickPropagation(aside);
  L.DomEvent.disableScrollPropagation(aside);
  var legend = L.control({position: 'bottomleft'});
  legend.onAdd = function () {
    var div = L.DomUtil.create('div', 'gg-legend');
    div.id = 'gg-legend';
    return div;
  };
  legend.addTo(map);

  function measure() {
    return MEASURES.filter(function (m) { return m.key === state.measure; })[0];
  }

  function value(item, key) {
    if (key === 'received_change') { return item.mom ? item.mom.received_change : null; }
    if (key === 'yoy_change') { return item.yoy ? item.yoy.received_change : null; }
    var v = item[key];
    return v === undefined ? null : v;
  }

  function show(v, kind) {
    if (v === null || v === undefined || Number.isNaN(v)) { return '—'; }
    if (kind === 'share') { return (100 * v).toFixed(1) + '%'; }
    if (kind === 'change') { return (v > 0 ? '+' : '') + (100 * v).toFixed(0) + '%'; }
    if (kind === 'days') { return v.toFixed(1); }
    return String(Math.round(v * 100) / 100);
  }

  function select(id, options, current, onChange) {
    var s = el('select', {id: id});
    options.forEach(function (o) {
      s.appendChild(el('option', {value: o[0], selected: String(o[0]) === String(current)},
                       o[1]));
    });
    s.addEventListener('change', function () { onChange(s.value); });
    return s;
  }

  function renderPanel(answer) {
    clear(panel);
    var crumbs = el('nav', {className: 'gg-crumbs', id: 'gg-crumbs'});
    state.trail.forEach(function (g, i) {
      if (i) { crumbs.appendChild(document.createTextNode(' › ')); }
      var b = el('button', {type: 'button', className: 'link'}, g.name);
      b.addEventListener('click', function () { drill(g); });
      crumbs.appendChild(b);
    });
    panel.appendChild(crumbs);
    panel.appendChild(el('h2', {}, state.root.name));

    var levels = [];
    for (var lv = (state.root.level || 0) + 1; lv <= 4; lv++) {
      levels.push([lv, cfg.levels[lv][0]]);
    }
    var form = el('div', {className: 'gg-choose'});
    form.appendChild(el('label', {}, [both('level'),
      select('gg-level', levels, state.level, function (v) {
        state.level = Number(v); load();
      })]));
    form.appendChild(el('label', {}, [both('ov_measure'),
      select('gg-measure', MEASURES.map(function (m) { return [m.key, m.zh]; }),
             state.measure, function (v) { state.measure = v; paint(); })]));
    // up to the month still running (cfg.months: web/rankings.py's months())
    var month = el('input', {type: 'month', id: 'gg-month', value: state.month,
                             max: cfg.months.current});
    month.addEventListener('change', function () { state.month = month.value; load(); });
    form.appendChild(el('label', {}, [both('month'), month]));
    panel.appendChild(form);
    if (state.month === cfg.months.current) {
      panel.appendChild(el('p', {id: 'gg-month-label', className: 'gg-month-label'}, [
        cfg.months.to_date[0] + ' ', el('span', {className: 'en'}, cfg.months.to_date[1])]));
    }
    if (answer.empty) {
      panel.appendChild(el('p', {id: 'gg-no-data', className: 'gg-no-data'},
                           both('month_no_data')));
    }

    var t = answer.total || {};
    var figures = [
      ['ov_received', show(t.received, 'count')],
      ['ov_m_resolution_rate', show(t.resolution_rate, 'share')],
      ['ov_m_timeliness', show(t.timeliness, 'share')],
      ['overdue_open', show(t.overdue, 'count')],
      ['per_100', show(t.per_100_households, 'count')],
      ['ov_visit_rate', show(t.visit_rate, 'share')],
      ['ov_mom', compared(answer, 'mom')],
      ['ov_yoy', compared(answer, 'yoy')]
    ];
    var dl = el('table', {className: 'gg-figures', id: 'gg-figures'});
    figures.forEach(function (f) {
      dl.appendChild(el('tr', {}, [el('th', {}, both(f[0])), el('td', {}, f[1])]));
    });
    panel.appendChild(dl);
    var cov = el('p', {id: 'gg-coverage', className: 'gg-coverage'});
    panel.appendChild(cov);
    getJSON(API + '/coverage?' + q({grid: state.root.code})).then(function (c) {
      var g = c.grid || {};
      cov.appendChild(document.createTextNode(zh('ov_coverage_line', {
        area: show(g.area_share, 'share'), hh: show(g.household_share, 'share'),
        online: g.online_cameras, cameras: g.cameras})));
    }).catch(function () { /* coverage is optional in the panel */ });

    var warned = el('section', {className: 'gg-ew-box', id: 'gg-ew-box'});
    panel.appendChild(warned);
    window.gridgovOverview.panelHooks.forEach(function (hook) { hook(warned); });
    panel.appendChild(recommendSection());
    panel.appendChild(el('h3', {}, [both('ov_children'), ' · ', measure().zh]));
    var list = el('table', {className: 'gg-children', id: 'gg-children'});
    sorted().forEach(function (item) {
      var name = el('span', {}, item.name);
      var row = [el('td', {}, name),
                 el('td', {className: 'num'}, show(value(item, state.measure),
                                                    measure().kind))];
      if (item.level < 4) {
        var b = el('button', {type: 'button', className: 'link drill',
                              data: {code: item.code}}, zh('ov_drill'));
        b.addEventListener('click', function () { drill(item); });
        row.push(el('td', {}, b));
      } else {
        row.push(el('td', {}, ''));
      }
      list.appendChild(el('tr', {}, row));
    });
    panel.appendChild(list);
    panel.appendChild(el('p', {className: 'gg-period'}, zh('ov_period', {
      from: answer.period ? answer.period.from : '', to: answer.period ? answer.period.to : ''})));
    // the folded sheet says the area and its figure of the measure
    var m = measure();
    sheet.label(state.root.name + ' · ' + m.zh + ' ' +
                show(value(t, m.key), m.kind));
  }

  // 环比 / 同比 of the total, or "—" and why there is none (layers/stats.py)
  function compared(answer, key) {
    var why = answer.not_compared && answer.not_compared[key];
    var t = answer.total || {};
    if (!why) { return show(t[key] && t[key].received_change, 'change'); }
    return '— ' + zh(why === 'empty' ? 'month_no_data' : 'month_nc_none_then_' + key);
  }

  function sorted() {
    var m = measure();
    return state.items.slice().sort(function (a, b) {
      var va = value(a, m.key), vb = value(b, m.key);
      if (va === null) { return 1; }
      if (vb === null) { return -1; }
      return m.worse === 'low' ? va - vb : vb - va;  // the worst first
    });
  }

  // --- the choropleth ----------------------------------------------------------------


  // The classes of the measure come with the data: the rankings' answer carries,
  // for every measure, the breaks [min, upper of class 1, …, upper of class k],
  // whether each class is one value (exact: the legend names it, not a range)
  // and each class's colour, computed once on the server (geo/choropleth.py, as
  // the HTML export's). A value is in the first class whose upper bound it does
  // not pass (geo.choropleth.class_of).
  function classOf(v, breaks) {
    if (v === null || v === undefined || Number.isNaN(v)) { return -1; }
    for (var i = 1; i < breaks.length; i++) { if (v <= breaks[i]) { return i - 1; } }
    return breaks.length - 2;
  }

  function colour(cls) {
    return cls < 0 || cls >= state.colours.length ? NO_DATA : state.colours[cls];
  }

  var features = {};

  function paint() {
    var m = measure();
    var c = state.classes[m.key] || {breaks: [], exact: false, colours: []};
    state.breaks = c.breaks;
    state.exact = c.exact;
    state.colours = c.colours;
    var byCode = {};
    state.items.forEach(function (it) { byCode[it.code] = it; });
    state.byCode = byCode;
    if (state.tiled) {
      state.tiled.redraw();  // its style function reads state.byCode and breaks
      renderLegend();
      if (state.answer) { renderPanel(state.answer); }
      return;
    }
    choropleth.eachLayer(function (layer) {
      layer.eachLayer(function (f) {
        var item = byCode[f.feature.properties.code];
        var v = item ? value(item, m.key) : null;
        var cls = classOf(v, state.breaks);
        f.setStyle({fillColor: colour(cls),
                    fillOpacity: 0.75, color: '#444', weight: 1});
        f.setTooltipContent(text(f.feature.properties.name + '：' + m.zh + ' ' +
                                 show(v, m.kind)));
      });
    });
    renderLegend();
    if (state.answer) { renderPanel(state.answer); }
  }

  function renderLegend() {
    var box = document.getElementById('gg-legend');
    if (!box) { return; }
    clear(box);
    var m = measure();
    box.appendChild(el('strong', {}, [m.zh + ' ', el('span', {className: 'en'}, m.en)]));
    var b = state.breaks;
    var ul = el('ul', {});
    for (var i = 0; i + 1 < b.length; i++) {
      var range = state.exact || (i === 0 && b[0] === b[1]) ? show(b[i + 1], m.kind) :
        (i === 0 ? show(b[0], m.kind) : '>' + show(b[i], m.kind)) + ' – ' +
          show(b[i + 1], m.kind);
      ul.appendChild(el('li', {className: 'gg-class'}, [
        el('i', {className: 'sw', style: 'background:' + colour(i)}),
        range]));
    }
    ul.appendChild(el('li', {}, [el('i', {className: 'sw',
      style: 'background:' + NO_DATA}), zh('ov_no_data')]));
    box.appendChild(ul);
    var from = cfg.tileZoom[state.level];
    if (state.tiled && from && map.getZoom() < from) {
      box.appendChild(el('p', {className: 'gg-zoom-hint', id: 'gg-zoom-hint'},
                         zh('ov_zoom_in', {zoom: from})));
    }
    if (map.hasLayer(heat) && state.heatBreaks) {
      box.appendChild(el('strong', {}, both('ov_heatmap_legend')));
      var hl = el('ul', {id: 'gg-heat-legend'});
      var hb = state.heatBreaks;
      for (var j = 0; j + 1 < hb.length; j++) {
        hl.appendChild(el('li', {}, [el('i', {className: 'sw',
          style: 'background:' + RAMP[Math.min(j, RAMP.length - 1)]}),
          hb[j] + ' – ' + hb[j + 1]]));
      }
      box.appendChild(hl);
    }
    if (map.hasLayer(hot)) {
      box.appendChild(el('strong', {}, both('ov_hot_legend')));
      var hotList = el('ul', {id: 'gg-hot-legend'});
      HOT_ORDER.forEach(function (k) {
        hotList.appendChild(el('li', {}, [el('i', {className: 'sw',
          style: 'background:' + HOT[k]}), cfg.hotLabels[k] || k]));
      });
      hotList.appendChild(el('li', {}, [el('i', {className: 'sw sw-outline'}),
                                      cfg.hotLabels.not_significant || '']));
      box.appendChild(hotList);
    }
    if (map.hasLayer(blind)) {
      box.appendChild(el('ul', {id: 'gg-blind-legend'}, el('li', {}, [
        el('i', {className: 'sw sw-blind'}), both('ov_blind_legend')])));
    }
    if (map.hasLayer(rec) && state.rec) {
      box.appendChild(el('ul', {id: 'gg-rec-legend'}, el('li', {}, [
        el('i', {className: 'sw sw-rec'}), both('ov_rec_legend',
          {m: state.rec.range_m})])));
    }
  }

  function load() {
    var params = {grid: state.root.code, level: state.level, month: state.month};
    return getJSON(API + '/rankings?' + q(params)).then(function (answer) {
      state.answer = answer;
      state.items = answer.items || [];
      state.classes = answer.classes || {};
      state.period = answer.period;
      if (!state.month && answer.period && answer.period.month) {
        state.month = answer.period.month;
      }
      return loadShapes().then(function () {
        paint();
        refreshOverlays();
        document.getElementById('gg-panel').dataset.state = 'ready';
      });
    }).catch(function (err) {
      clear(panel);
      panel.appendChild(el('p', {className: 'gg-error'}, zh('failed') + '：' +
        ((err && err.body && err.body.error && err.body.error.message) || '')));
    });
  }

  // More grids than a page should hold (a city's 20,000 micro-grids): the
  // choropleth is drawn on the grid vector tiles, coloured from the same ranking
  // items; a double click drills down through the locate API (the tiles are not
  // interactive: see static/overview_map.js).
  function tiledShapes() {
    choropleth.clearLayers();
    var prefix = state.root.code || '';
    // shifted like a GCJ-02 basemap, redrawn on Baidu's own grid (gg.js)
    state.tiled = gg.vectorTiles(map, cfg.tiles, {
      rendererFactory: L.canvas.tile, interactive: false, pane: 'overlayPane',
      maxNativeZoom: 22, maxZoom: 22,
      vectorTileLayerStyles: {grids: function (p) {
        if (p.level !== state.level || p.code.indexOf(prefix) !== 0) { return []; }
        var m = measure();
        var item = state.byCode && state.byCode[p.code];
        var v = item ? value(item, m.key) : null;
        return {fill: true, fillOpacity: 0.75, color: '#444', weight: 0.5,
                fillColor: colour(classOf(v, state.breaks))};
      }}
    });
    state.tiled.addTo(choropleth);
    document.getElementById('gg-panel').dataset.tiled = 'true';
    if (!state.fit || !state.root.code) { return Promise.resolve(); }
    return getJSON(API + '/grids/' + encodeURIComponent(state.root.code))
      .then(function (f) { map.fitBounds(L.geoJSON(f).getBounds()); });
  }

  map.on('dblclick', function (e) {
    if (!state.tiled || state.level >= 4) { return; }
    getJSON(API + '/locate?' + q({lon: e.latlng.lng.toFixed(7),
                                  lat: e.latlng.lat.toFixed(7)})).then(function (a) {
      var hit = (a.grids || []).filter(function (g) { return g.level === state.level; })[0];
      if (hit && hit.code.indexOf(state.root.code || '') === 0) { drill(hit); }
    }).catch(function () { /* outside every grid: nothing to drill into */ });
  });

  function loadShapes() {
    state.tiled = null;
    state.shapes = null;
    labels.clearLayers();
    if (state.items.length > cfg.embedMax) { return tiledShapes(); }
    document.getElementById('gg-panel').dataset.tiled = 'false';
    var params = state.level === (state.root.level || 0) + 1 && state.root.code ?
      {parent: state.root.code, limit: 5000} :
      {level: state.level, limit: 5000, bbox: state.rootBox || ''};
    return getJSON(API + '/grids?' + q(params)).then(function (fc) {
      choropleth.clearLayers();
      var prefix = state.root.code || '';
      fc.features = fc.features.filter(function (f) {
        return f.properties.code.indexOf(prefix) === 0 && f.properties.level === state.level;
      });
      var layer = L.geoJSON(fc, {
        renderer: SVG,
        style: {color: '#444', weight: 1, fillOpacity: 0.75, fillColor: NO_DATA,
                className: 'gg-choropleth'},
        bubblingMouseEvents: true,
        onEachFeature: function (feature, lyr) {
          lyr.bindTooltip(text(feature.properties.name), {sticky: true});
          lyr.on('dblclick', function (e) {
            L.DomEvent.stop(e);
            if (feature.properties.level < 4) { drill(feature.properties); }
          });
        }
      });
      layer.addTo(choropleth);
      state.shapes = layer;
      renderLabels();
      if (fc.features.length) {
        var bounds = layer.getBounds();
        state.rootBox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(),
                         bounds.getNorth()].map(function (x) { return x.toFixed(6); })
          .join(',');
        if (state.fit) { map.fitBounds(bounds); }  // not on opening: overview_map.js fitted
      }
    });
  }

  // Down to a child, or back up to a grid of the trail (the breadcrumbs).
  function drill(grid) {
    if (grid.code === state.root.code) { return; }
    var root = {code: grid.code || '', name: grid.name, level: grid.level || 0};
    var at = state.trail.map(function (g) { return g.code; }).indexOf(root.code);
    state.trail = at >= 0 ? state.trail.slice(0, at + 1) : state.trail.concat([root]);
    state.root = root;
    state.level = Math.min(root.level + 1, 4);
    state.rootBox = null;
    state.fit = true;
    if (state.rec && state.rec.root !== root.code) { state.rec = null; rec.clearLayers(); }
    load();
  }

  // --- the grids' names ---------------------------------------------------------------

  // The name of each grid of the choropleth's level in view, as a permanent
  // label at its centre, where the grid is wide enough on screen for it: the
  // villages at the town's zoom, a village's micro-grids once zoomed in to it,
  // never ninety micro-grid names over the whole town.
  var LABEL_MAX = 80;
  function renderLabels() {
    labels.clearLayers();
    if (!state.shapes || !map.hasLayer(labels)) { return; }
    var view = map.getBounds(), placed = 0;
    state.shapes.eachLayer(function (f) {
      var b = f.getBounds(), name = f.feature.properties.name || '';
      if (placed >= LABEL_MAX || !view.intersects(b)) { return; }
      var nw = map.latLngToContainerPoint(b.getNorthWest()),
        se = map.latLngToContainerPoint(b.getSouthEast());
      if (se.x - nw.x < Math.max(56, 13 * name.length) || se.y - nw.y < 28) { return; }
      placed++;
      L.tooltip({permanent: true, direction: 'center', interactive: false,
                 className: 'gg-grid-label', opacity: 1})
        .setLatLng(f.getCenter()).setContent(text(name)).addTo(labels);
    });
  }

  // --- where to add cameras (GET /coverage/recommend) ----------------------------------

  var SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, children) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    [].concat(children || []).forEach(function (c) {
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return node;
  }

  // The cumulative household coverage as cameras are added: x the number of
  // new cameras (0 = today), y the share of households seen.
  function curve(answer) {
    var W = 290, H = 130, L0 = 44, R0 = 10, T0 = 10, B0 = 26;
    var hh = answer.households || {};
    var ys = [hh.total ? hh.covered / hh.total : 0].concat(
      answer.picks.map(function (p) { return p.household_share_after || 0; }));
    var lo = Math.floor(ys[0] * 20) / 20, hi = Math.ceil(ys[ys.length - 1] * 20) / 20;
    if (hi <= lo) { hi = lo + 0.05; }
    var n = Math.max(ys.length - 1, 1);
    function x(i) { return L0 + (W - L0 - R0) * i / n; }
    function y(v) { return T0 + (H - T0 - B0) * (1 - (v - lo) / (hi - lo)); }
    var box = svg('svg', {id: 'gg-rec-curve', class: 'gg-rec-curve', width: W,
                          height: H, viewBox: '0 0 ' + W + ' ' + H, role: 'img',
                          'aria-label': zh('ov_rec_curve')});
    box.appendChild(svg('line', {x1: L0, y1: H - B0, x2: W - R0, y2: H - B0,
                                 stroke: '#888'}));
    box.appendChild(svg('line', {x1: L0, y1: T0, x2: L0, y2: H - B0, stroke: '#888'}));
    [lo, hi].forEach(function (v) {
      box.appendChild(svg('text', {x: L0 - 4, y: y(v) + 4, 'text-anchor': 'end',
                                   'font-size': 11}, show(v, 'share')));
    });
    ys.forEach(function (v, i) {
      box.appendChild(svg('text', {x: x(i), y: H - B0 + 14, 'text-anchor': 'middle',
                                   'font-size': 11}, String(i)));
    });
    box.appendChild(svg('text', {x: (L0 + W - R0) / 2, y: H - 1,
                                 'text-anchor': 'middle', 'font-size': 11,
                                 fill: '#555'}, zh('ov_rec_axis')));
    box.appendChild(svg('polyline', {fill: 'none', stroke: '#0072B2',
      'stroke-width': 2, points: ys.map(function (v, i) {
        return x(i).toFixed(1) + ',' + y(v).toFixed(1); }).join(' ')}));
    ys.forEach(function (v, i) {
      box.appendChild(svg('circle', {cx: x(i), cy: y(v), r: 3,
                                     fill: i ? '#D55E00' : '#0072B2',
                                     class: 'gg-rec-point'}));
    });
    return box;
  }

  function drawSites(answer) {
    rec.clearLayers();
    answer.picks.forEach(function (p) {
      L.circle([p.lat, p.lon], {radius: answer.range_m, renderer: SVG,
        interactive: false, color: '#D55E00', weight: 1, dashArray: '4 3',
        fillColor: '#E69F00', fillOpacity: 0.15}).addTo(rec);
      L.circleMarker([p.lat, p.lon], {radius: 7, renderer: SVG, color: '#fff',
        weight: 2, fillColor: '#D55E00', fillOpacity: 1, className: 'gg-rec-site'})
        .bindTooltip(text(String(p.rank)), {permanent: true, direction: 'top',
                                           offset: [0, -6], className: 'gg-rec-label'})
        .addTo(rec);
    });
    if (!map.hasLayer(rec)) { rec.addTo(map); }
    rec.bringToFront();
    if (answer.picks.length) { map.fitBounds(rec.getBounds().pad(0.3), {maxZoom: 16}); }
  }

  function recommendResult(answer) {
    var hh = answer.households || {};
    var box = el('div', {id: 'gg-rec', data: {state: 'ready'}});
    if (!answer.picks.length) {
      box.appendChild(el('p', {className: 'gg-note'}, zh('ov_rec_none')));
      return box;
    }
    box.appendChild(el('p', {className: 'gg-note'}, zh('ov_rec_now', {
      share: show(hh.total ? hh.covered / hh.total : null, 'share'),
      covered: hh.covered, total: hh.total})));
    var table = el('table', {className: 'gg-rec-table', id: 'gg-rec-table'});
    table.appendChild(el('tr', {}, ['ov_rec_rank', 'ov_rec_households',
      'ov_rec_incidents', 'ov_rec_share'].map(function (k) {
        return el('th', {className: k === 'ov_rec_rank' ? '' : 'num'}, zh(k));
      })));
    answer.picks.forEach(function (p) {
      table.appendChild(el('tr', {data: {rank: p.rank}}, [
        el('td', {}, String(p.rank)),
        el('td', {className: 'num'}, '+' + p.households),
        el('td', {className: 'num'}, '+' + p.incidents),
        el('td', {className: 'num'}, show(p.household_share_after, 'share'))]));
    });
    box.appendChild(table);
    box.appendChild(curve(answer));
    return box;
  }

  // In the panel (drawn again with it): how many cameras, the button, and the
  // last answer for this area.
  function recommendSection() {
    var section = el('section', {className: 'gg-rec-box'});
    section.appendChild(el('h3', {}, both('ov_rec_title')));
    var k = el('input', {type: 'number', id: 'gg-rec-k', min: 1, max: 20,
                         value: state.recK || 5});
    var run = el('button', {type: 'button', id: 'gg-rec-run'}, zh('ov_rec_run'));
    var out = el('div', {id: 'gg-rec-out'});
    run.addEventListener('click', function () {
      var n = Math.max(1, Math.min(20, Math.round(Number(k.value) || 5)));
      state.recK = n;
      run.disabled = true;
      clear(out);
      out.appendChild(el('p', {className: 'gg-note', id: 'gg-rec',
                               data: {state: 'loading'}}, zh('busy')));
      var root = state.root.code;
      getJSON(API + '/coverage/recommend?' + q({grid: root, k: n})).then(function (a) {
        a.root = root;
        state.rec = a;
        drawSites(a);
        clear(out);
        out.appendChild(recommendResult(a));
        renderLegend();
      }).catch(function (err) {
        clear(out);
        out.appendChild(el('p', {className: 'gg-error', id: 'gg-rec',
                                 data: {state: 'failed'}}, zh('failed') + '：' +
          ((err && err.body && err.body.error && err.body.error.message) || '')));
      }).then(function () { run.disabled = false; });
    });
    section.appendChild(el('p', {className: 'gg-note'}, zh('ov_rec_hint')));
    section.appendChild(el('div', {className: 'gg-rec-form'}, [
      el('label', {}, [both('ov_rec_k'), k]), run]));
    if (state.rec && state.rec.root === state.root.code) {
      out.appendChild(recommendResult(state.rec));
    }
    section.appendChild(out);
    return section;
  }

  // --- heatmap, hot spots, coverage ----------------------------------------------------

  function period() {
    return state.period ? {from: state.period.from, to: state.period.to} : {};
  }

  function loadHeat() {
    if (!map.hasLayer(heat)) { return; }
    var b = map.getBounds();
    // a kernel density raster (quartic kernel of three cells), not raw counts:
    // a leader reads where incidents concentrate, not which 400 m square won
    var params = Object.assign({format: 'geojson', method: 'kde', zoom: map.getZoom(),
      bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) {
        return x.toFixed(6); }).join(',')}, period());
    getJSON(API + '/heatmap?' + q(params)).then(function (answer) {
      heat.clearLayers();
      state.heatBreaks = answer.breaks;
      L.geoJSON(answer, {interactive: false, renderer: SVG, style: function (f) {
        var cls = f.properties['class'];
        return {stroke: false, fillOpacity: 0.7, className: 'gg-heat-cell',
                fillColor: RAMP[Math.min(Math.max(cls, 0), RAMP.length - 1)]};
      }}).addTo(heat);
      renderLegend();
    }).catch(function () { /* the layer stays empty; the legend says nothing */ });
  }

  function loadHot() {
    if (!map.hasLayer(hot)) { return; }
    var params = Object.assign({level: 4, grid: state.root.code}, period());
    getJSON(API + '/hotspots?' + q(params)).then(function (fc) {
      hot.clearLayers();
      L.geoJSON(fc, {renderer: SVG, style: function (f) {
        var c = HOT[f.properties['class']];
        return c ? {color: '#333', weight: 1, fillColor: c, fillOpacity: 0.8} :
          {color: '#999', weight: 0.5, fill: false};
      }, onEachFeature: function (f, l) {
        l.bindTooltip(text((f.properties.name || f.properties.code || '') + '：' +
                           (cfg.hotLabels[f.properties['class']] || '') + '（z = ' +
                           Number(f.properties.z).toFixed(2) + '）'), {sticky: true});
      }}).addTo(hot);
      renderLegend();
    }).catch(function () { /* optional layer */ });
  }

  function loadCoverage() {
    if (map.hasLayer(views)) {
      getJSON(API + '/coverage/views?' + q({grid: state.root.code})).then(function (fc) {
        views.clearLayers();
        L.geoJSON(fc, {interactive: false, style: cfg.styles.views}).addTo(views);
      }).catch(function () { /* optional layer */ });
    }
    if (map.hasLayer(blind)) {
      getJSON(API + '/coverage/blind-spots?' + q({grid: state.root.code}))
        .then(function (fc) {
          blind.clearLayers();
          L.geoJSON(fc, {interactive: false, renderer: SVG, style: BLIND})
            .addTo(blind);
          blind.bringToFront();
          renderLegend();
        }).catch(function () { /* optional layer */ });
    }
  }

  function refreshOverlays() { loadHeat(); loadHot(); loadCoverage(); }

  map.on('overlayadd', function (e) {
    if (e.layer === heat) { loadHeat(); }
    if (e.layer === hot) { loadHot(); }
    if (e.layer === views || e.layer === blind) { loadCoverage(); }
    if (e.layer === labels) { renderLabels(); }
    if (e.layer === rec) { renderLegend(); }
  });
  map.on('overlayremove', renderLegend);
  map.on('zoomend', function () { if (state.tiled) { renderLegend(); } });
  map.on('moveend', loadHeat);
  map.on('moveend', renderLabels);

  load();
})();
