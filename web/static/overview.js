/*
 * The leaders' overview (web/views.py renders the folium map of `/`; this script
 * adds to it): a choropleth of the chosen measure at the chosen level under the
 * chosen grid, with its legend and class breaks; the incident heatmap (cells
 * aggregated server side, refetched for the view on every move); Getis-Ord Gi*
 * hot and cold spots; the cameras' fields of view and the blind spots; a side
 * panel with the area's key figures, the grids ranked by the measure, and the
 * click-through (town → villages → grids; a double click on the map drills too).
 *
 * Everything comes from the API (rankings, heatmap, hotspots, coverage) with the
 * session cookie, so the page shows what this user may see. No inline handlers
 * (CSP); strings from web/i18n.py via the JSON config, Chinese first.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('gg-overview-config').textContent);
  var map = window.ggLeaflet.map;         // web/maps.py's _Expose
  var control = window.ggLeaflet.control;
  var API = cfg.api;
  var el = gg.el, text = gg.text, clear = gg.clear, getJSON = gg.getJSON,
    q = gg.query;
  var T = gg.strings(cfg.strings), zh = T.zh, both = T.both;

  // ColorBrewer YlOrRd, 5 classes: light to dark, readable in greyscale print.
  var RAMP = ['#ffffb2', '#fecc5c', '#fd8d3c', '#f03b20', '#bd0026'];
  var HOT = {hot_99: '#b2182b', hot_95: '#ef8a62', hot_90: '#fddbc7',
             cold_90: '#d1e5f0', cold_95: '#67a9cf', cold_99: '#2166ac'};
  var MEASURES = cfg.measures;  // [{key, zh, en, kind: count|share|days|change, worse}]

  var state = {root: cfg.root, level: cfg.level, measure: cfg.measure,
               month: cfg.month || '', period: null, items: [], breaks: [],
               trail: [cfg.root]};
  window.gridgovOverview = {state: state};

  // SVG, not the map's canvas (prefer_canvas): paths that print sharply and that
  // carry classes the tests and the print stylesheet can find.
  var SVG = L.svg();
  var choropleth = L.featureGroup();
  var heat = L.featureGroup();
  var hot = L.featureGroup();
  var views = L.featureGroup();
  var blind = L.featureGroup();
  choropleth.addTo(map);
  control.addOverlay(choropleth, zh('ov_choropleth'));
  if (cfg.can.incidents) {
    control.addOverlay(heat, zh('ov_heatmap'));
    control.addOverlay(hot, zh('ov_hotspots'));
  }
  control.addOverlay(views, zh('ov_views'));
  control.addOverlay(blind, zh('ov_blind'));
  map.doubleClickZoom.disable();  // a double click drills down instead

  // --- the side panel ----------------------------------------------------------------

  // On a phone a bottom sheet (static/gg.js): its handle stays, the content
  // (``panel``) is drawn again on every change.
  var aside = el('aside', {className: 'gg-panel', id: 'gg-panel'});
  var sheet = gg.sheet(aside, state.root.name);
  var panel = el('div', {className: 'gg-panel-body'});
  aside.appendChild(panel);
  document.body.appendChild(aside);
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
    form.appendChild(el('label', {}, [both('ov_level'),
      select('gg-level', levels, state.level, function (v) {
        state.level = Number(v); load();
      })]));
    form.appendChild(el('label', {}, [both('ov_measure'),
      select('gg-measure', MEASURES.map(function (m) { return [m.key, m.zh]; }),
             state.measure, function (v) { state.measure = v; paint(); })]));
    var month = el('input', {type: 'month', id: 'gg-month', value: state.month});
    month.addEventListener('change', function () { state.month = month.value; load(); });
    form.appendChild(el('label', {}, [both('ov_month'), month]));
    panel.appendChild(form);

    var t = answer.total || {};
    var figures = [
      ['ov_received', show(t.received, 'count')],
      ['ov_resolution_rate', show(t.resolution_rate, 'share')],
      ['ov_timeliness', show(t.timeliness, 'share')],
      ['ov_overdue', show(t.overdue, 'count')],
      ['ov_per_100', show(t.per_100_households, 'count')],
      ['ov_visit_rate', show(t.visit_rate, 'share')],
      ['ov_mom', show(t.mom && t.mom.received_change, 'change')],
      ['ov_yoy', show(t.yoy && t.yoy.received_change, 'change')]
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


  // Quantile class breaks of the values (5 classes, fewer when values repeat).
  function quantileBreaks(values) {
    var v = values.filter(function (x) { return x !== null && !Number.isNaN(x); })
      .sort(function (a, b) { return a - b; });
    if (!v.length) { return []; }
    var out = [v[0]];
    for (var i = 1; i <= 5; i++) {
      var b = v[Math.min(v.length - 1, Math.ceil(i * v.length / 5) - 1)];
      if (b > out[out.length - 1]) { out.push(b); }
    }
    if (out.length === 1) { out.push(v[0]); }
    return out;
  }

  function classOf(v, breaks) {
    if (v === null || v === undefined || Number.isNaN(v)) { return -1; }
    for (var i = 1; i < breaks.length; i++) { if (v <= breaks[i]) { return i - 1; } }
    return breaks.length - 2;
  }

  function colour(cls, n, worse) {
    if (cls < 0) { return '#dddddd'; }
    var steps = Math.max(n - 1, 1);
    var idx = Math.round(cls * (RAMP.length - 1) / Math.max(steps - 1, 1));
    if (steps === 1) { idx = RAMP.length - 1; }
    return RAMP[worse === 'low' ? RAMP.length - 1 - idx : idx];
  }

  var features = {};

  function paint() {
    var m = measure();
    state.breaks = quantileBreaks(state.items.map(function (it) {
      return value(it, m.key);
    }));
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
        f.setStyle({fillColor: colour(cls, state.breaks.length, m.worse),
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
      ul.appendChild(el('li', {}, [
        el('i', {className: 'sw', style: 'background:' + colour(i, b.length, m.worse)}),
        (i === 0 ? show(b[0], m.kind) : '>' + show(b[i], m.kind)) + ' – ' +
          show(b[i + 1], m.kind)]));
    }
    ul.appendChild(el('li', {}, [el('i', {className: 'sw',
      style: 'background:#dddddd'}), zh('ov_no_data')]));
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
  }

  function load() {
    var params = {grid: state.root.code, level: state.level, month: state.month};
    return getJSON(API + '/rankings?' + q(params)).then(function (answer) {
      state.answer = answer;
      state.items = answer.items || [];
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
  // interactive: see web/maps.py's _TiledLayers).
  function tiledShapes() {
    choropleth.clearLayers();
    var prefix = state.root.code || '';
    state.tiled = L.vectorGrid.protobuf(cfg.tiles, {
      rendererFactory: L.canvas.tile, interactive: false, pane: 'overlayPane',
      maxNativeZoom: 22, maxZoom: 22,
      vectorTileLayerStyles: {grids: function (p) {
        if (p.level !== state.level || p.code.indexOf(prefix) !== 0) { return []; }
        var m = measure();
        var item = state.byCode && state.byCode[p.code];
        var v = item ? value(item, m.key) : null;
        return {fill: true, fillOpacity: 0.75, color: '#444', weight: 0.5,
                fillColor: colour(classOf(v, state.breaks), state.breaks.length,
                                  m.worse)};
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
        style: {color: '#444', weight: 1, fillOpacity: 0.75, fillColor: '#dddddd',
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
      if (fc.features.length) {
        var bounds = layer.getBounds();
        state.rootBox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(),
                         bounds.getNorth()].map(function (x) { return x.toFixed(6); })
          .join(',');
        if (state.fit) { map.fitBounds(bounds); }  // not on opening: folium fitted
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
    load();
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
    }).catch(function () { /* optional layer */ });
  }

  function loadCoverage() {
    if (map.hasLayer(views)) {
      getJSON(API + '/coverage/views?' + q({grid: state.root.code})).then(function (fc) {
        views.clearLayers();
        L.geoJSON(fc, {interactive: false, style: {color: '#0072B2', weight: 1,
          fillColor: '#56B4E9', fillOpacity: 0.3}}).addTo(views);
      }).catch(function () { /* optional layer */ });
    }
    if (map.hasLayer(blind)) {
      getJSON(API + '/coverage/blind-spots?' + q({grid: state.root.code}))
        .then(function (fc) {
          blind.clearLayers();
          L.geoJSON(fc, {interactive: false, style: {color: '#7a0000', weight: 1,
            fillColor: '#000000', fillOpacity: 0.35, dashArray: '3 3'}}).addTo(blind);
        }).catch(function () { /* optional layer */ });
    }
  }

  function refreshOverlays() { loadHeat(); loadHot(); loadCoverage(); }

  map.on('overlayadd', function (e) {
    if (e.layer === heat) { loadHeat(); }
    if (e.layer === hot) { loadHot(); }
    if (e.layer === views || e.layer === blind) { loadCoverage(); }
  });
  map.on('overlayremove', renderLegend);
  map.on('zoomend', function () { if (state.tiled) { renderLegend(); } });
  map.on('moveend', loadHeat);

  load();
})();
