/*
 * The planners' page /plan (web/plan.py, templates/plan.html).
 *
 * Draws the children of one parent grid and the households under it, and lets a
 * planner redraw a child's boundary (topological editing with snapping and undo:
 * plan_edit.js, on Leaflet-Geoman),
 * split a grid along a drawn line (Leaflet.draw's polyline) or merge grids picked
 * with clicks, at every level: above the micro-grids the grids below keep their
 * boundaries, and the preview lists those that get new codes (re-coded under a
 * new parent) with what follows them. Every change is previewed through the grid-edit
 * API (POST .../preview: the changed boundaries, gaps and households that would
 * move), then saved (PUT / POST) with the version the planner started from; a
 * stale version (409) asks for a reload. Requests carry the CSRF token of the
 * page's <meta name="csrf-token">.
 *
 * Geometries stay at full precision both ways (toGeoJSON(false)): the untouched
 * vertices of a redrawn boundary must be exactly those of its neighbours.
 * No inline script or handler (the CSP forbids them); every string comes from
 * web/i18n.py through the page's JSON config, Chinese first, English second.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('plan-config').textContent);
  var S = cfg.strings;
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var API = cfg.urls.api;
  var root = document.getElementById('plan');
  var $ = function (id) { return document.getElementById(id); };

  // Okabe-Ito colours, distinguishable for the colour-blind; the map's current
  // boundaries blue, the selection orange, the preview reddish purple, gaps red.
  var STYLE = {
    child: {color: '#0072B2', weight: 2, fillColor: '#0072B2', fillOpacity: 0.06},
    selected: {color: '#E69F00', weight: 4, fillColor: '#E69F00', fillOpacity: 0.18},
    parent: {color: '#000000', weight: 3, fill: false, interactive: false},
    preview: {color: '#CC79A7', weight: 4, dashArray: '8 5', fillColor: '#CC79A7',
              fillOpacity: 0.12, interactive: false},
    gap: {color: '#C00000', weight: 2, fillColor: '#FF0000', fillOpacity: 0.6,
          interactive: false},
    problem: {color: '#C00000', weight: 3, dashArray: '2 4', fillOpacity: 0.15,
              interactive: false},
    problemPoint: {radius: 9, color: '#C00000', weight: 3, fill: false,
                   interactive: false},
    line: {color: '#CC79A7', weight: 4, interactive: false},
    household: {radius: 2.5, stroke: false, fillColor: '#7A5200', fillOpacity: 0.85,
                interactive: false},
    moved: {radius: 5.5, color: '#000000', weight: 1.5, fillColor: '#F0E442',
            fillOpacity: 1, interactive: false, className: 'plan-moved'}
  };
  var MAX_ROWS = 200;  // move rows listed in the table; the counts say the rest

  // --- strings and DOM helpers ---------------------------------------------------

  var fmt = gg.fmt, el = gg.el, clear = gg.clear;  // web/static/gg.js
  var T = gg.strings(S), zh = T.zh, both = T.both;

  function m2(value) {
    return value === null || value === undefined ? '—' :
      Math.round(value).toLocaleString('zh-CN');
  }

  function setMsg(kind, parts) {
    var box = $('plan-msg');
    clear(box);
    box.className = 'plan-msg' + (kind ? ' ' + kind : '');
    [].concat(parts || []).forEach(function (p) {
      box.appendChild(typeof p === 'string' ? document.createTextNode(p) : p);
    });
  }

  // --- the map -------------------------------------------------------------------

  // pmIgnore false: Leaflet-Geoman edits on this map (plan_edit.js, opt-in)
  var map = gg.newMap('plan-map', {maxZoom: 20, zoomSnap: 0.5, boxZoom: false,
                                  pmIgnore: false}, cfg.basemap);
  L.control.scale({imperial: false}).addTo(map);
  // Panes above the grids that let clicks through to them (the grids take clicks).
  [['parent', 410], ['preview', 430], ['gaps', 440], ['households', 450],
   ['moved', 460]].forEach(function (p) {
    var pane = map.createPane(p[0]);
    pane.style.zIndex = p[1];
    pane.style.pointerEvents = 'none';
  });
  var householdRenderer = L.canvas({pane: 'households', padding: 0.3});
  var parentLayer = L.layerGroup().addTo(map);
  var childLayer = L.layerGroup().addTo(map);
  var householdLayer = L.layerGroup().addTo(map);
  var previewLayer = L.layerGroup().addTo(map);
  var lineLayer = L.layerGroup().addTo(map);

  // Leaflet.draw 1.0.4 calls Leaflet 1.9's deprecated L.Polyline._flat, which warns
  // on every call: point it at the function that replaced it.
  L.Polyline._flat = L.LineUtil.isFlat;
  L.drawLocal.draw.handlers.polyline.tooltip = {
    start: zh('plan_line_start'), cont: zh('plan_line_cont'), end: zh('plan_line_end')
  };
  L.drawLocal.draw.handlers.polyline.error = zh('plan_line_error');

  var state = {
    parent: null,        // the parent grid's Feature
    children: {},        // code -> {feature, layer}
    level: null,         // the children's level
    households: {},      // id -> [lat, lon]
    selected: null,      // code
    mode: null,          // 'redraw' | 'split' | 'merge' | null
    merging: [],         // codes, the kept one first
    edited: false,       // a vertex was moved (redraw)
    line: null,          // the drawn split line (L.Polyline)
    drawer: null,        // Leaflet.draw's polyline handler while drawing
    request: null,       // what was previewed: {url, save, method, body}
    preview: null,       // the preview's answer
    busy: false,
    fitted: false
  };
  // For the browser tests and the curious: the map and the page's state.
  window.gridgovPlan = {map: map, state: state};
  // Hooks of plan_tools.js (create, delete, proposals, lineage, warnings): more
  // modes by name ({enter, ready, request, reset}), and calls once the buttons,
  // the selected grid's panel, a load or a save are drawn.
  var hooks = window.gridgovPlan.hooks = {modes: {}};
  function hook(name, a, b) { if (hooks[name]) { hooks[name](a, b); } }

  // Topological editing in the redraw mode (shared vertices move in every grid,
  // snapping, handing a gap to a neighbour, undo): web/static/plan_edit.js.
  var topo = window.gridgovPlanEdit({
    map: map, state: state, parentLayer: parentLayer, root: root, el: el, both: both,
    preview: preview, changed: function () { invalidate(); updateButtons(); }});
  window.gridgovPlan.edit = topo;

  function setState(name) { root.dataset.state = name; }

  // --- loading -------------------------------------------------------------------

  var getJSON = gg.getJSON;
  function send(method, url, body) { return gg.send(method, url, body, CSRF); }

  // Leaflet lat/lng arrays of a (Multi)Polygon, the coordinates kept as they are.
  function latLngs(geometry) {
    var polys = geometry.type === 'Polygon' ? [geometry.coordinates] :
      geometry.coordinates;
    var out = polys.map(function (rings) {
      return rings.map(function (ring) {
        return ring.map(function (c) { return L.latLng(c[1], c[0]); });
      });
    });
    return out.length === 1 ? out[0] : out;
  }

  function parts(feature) {
    return feature.geometry.type === 'Polygon' ? 1 : feature.geometry.coordinates.length;
  }

  function makeChild(feature) {
    var layer = L.polygon(latLngs(feature.geometry), L.extend({}, STYLE.child));
    layer.feature = feature;
    layer.bindTooltip(gg.text(feature.properties.name),
                      {permanent: true, direction: 'center', className: 'plan-label'});
    layer.on('click', onGridClick);
    return layer;
  }

  function load(keepMessage) {
    setState('loading');
    state.busy = true;
    updateButtons();
    if (!keepMessage) { setMsg('info', both('plan_loading')); }
    var url = cfg.urls.grids + '?parent=' + encodeURIComponent(cfg.parent);
    return getJSON(url).then(function (data) {
      state.parent = data.parent;
      state.children = {};
      parentLayer.clearLayers();
      childLayer.clearLayers();
      var outline = L.polygon(latLngs(data.parent.geometry),
                              L.extend({pane: 'parent'}, STYLE.parent));
      parentLayer.addLayer(outline);
      state.level = null;
      data.children.features.forEach(function (f) {
        var layer = makeChild(f);
        state.children[f.properties.code] = {feature: f, layer: layer};
        state.level = f.properties.level;
        childLayer.addLayer(layer);
      });
      if (!state.fitted) {
        map.fitBounds(outline.getBounds(), {padding: [12, 12]});
        state.fitted = true;
      }
      if (state.selected && !state.children[state.selected]) { state.selected = null; }
      return cfg.households ? loadHouseholds() : null;
    }).then(function () {
      state.busy = false;
      if (!keepMessage) { setMsg(null); }
      restyle();
      renderSelection();
      updateButtons();
      setState('ready');
      hook('loaded');
    }, function (err) {
      state.busy = false;
      updateButtons();
      showError(err);
      setState('error');
    });
  }

  function loadHouseholds() {
    householdLayer.clearLayers();
    state.households = {};
    function page(offset) {
      var url = API + '/households?grid=' + encodeURIComponent(cfg.parent) +
        '&limit=1000&offset=' + offset;
      return getJSON(url).then(function (data) {
        data.items.forEach(function (h) {
          state.households[h.id] = [h.lat, h.lon];
          householdLayer.addLayer(L.circleMarker(
            [h.lat, h.lon], L.extend({renderer: householdRenderer}, STYLE.household)));
        });
        var next = offset + data.items.length;
        return data.items.length && next < data.total ? page(next) : null;
      });
    }
    return page(0);
  }

  // --- selection and modes ---------------------------------------------------------

  function onGridClick(e) {
    var code = e.target.feature.properties.code;
    if (state.busy) { return; }
    if (state.mode === 'merge') {
      var i = state.merging.indexOf(code);
      if (i >= 0) { state.merging.splice(i, 1); } else { state.merging.push(code); }
      invalidate();
    } else if (state.mode === null) {
      state.selected = state.selected === code ? null : code;
    } else {
      return;  // redrawing or splitting: the selection stays
    }
    restyle();
    renderSelection();
    updateButtons();
  }

  function restyle() {
    Object.keys(state.children).forEach(function (code) {
      var layer = state.children[code].layer;
      var on = state.mode === 'merge' ? state.merging.indexOf(code) >= 0 :
        code === state.selected;
      layer.setStyle(on ? STYLE.selected : STYLE.child);
    });
  }

  function setMode(mode) {
    if (state.busy) { return; }
    var again = state.mode === mode;
    reset();
    if (again) { return; }  // pressing the active mode again leaves it
    var sel = state.selected && state.children[state.selected];
    if (mode === 'redraw' || mode === 'split') {
      if (!sel) { setMsg('error', both('plan_select_first')); return; }
    }
    if (mode === 'redraw') {
      if (parts(sel.feature) > 1) { setMsg('error', both('plan_multipart')); return; }
      topo.start(sel.layer, state.selected);
    } else if (mode === 'split') {
      state.drawer = new L.Draw.Polyline(map, {
        shapeOptions: STYLE.line, allowIntersection: false, showLength: true,
        metric: true, guidelineDistance: 12});
      state.drawer.enable();
    } else if (mode === 'merge') {
      state.merging = state.selected ? [state.selected] : [];
    } else if (hooks.modes[mode] && hooks.modes[mode].enter() === false) {
      return;
    }
    state.mode = mode;
    setMsg(null);
    restyle();
    renderSelection();
    updateButtons();
  }

  map.on(L.Draw.Event.DRAWVERTEX, function () { updateButtons(); });
  map.on(L.Draw.Event.CREATED, function (e) {
    if (state.mode !== 'split') { return; }
    state.line = L.polyline(e.layer.getLatLngs(), STYLE.line);
    lineLayer.addLayer(state.line);
    invalidate();
    updateButtons();
  });
  map.on(L.Draw.Event.DRAWSTOP, function () {
    state.drawer = null;
    // stopped (Esc) without a line: leave the split mode
    if (state.mode === 'split' && !state.line) { reset(); }
    updateButtons();
  });

  // Back to no mode: the edited boundary restored, the line and preview dropped.
  function reset() {
    if (hooks.modes[state.mode]) { hooks.modes[state.mode].reset(); }
    if (state.mode === 'redraw' && state.selected) {
      var child = state.children[state.selected];
      topo.stop();
      childLayer.removeLayer(child.layer);
      child.layer = makeChild(child.feature);
      childLayer.addLayer(child.layer);
    }
    var drawer = state.drawer;
    state.drawer = null;
    state.mode = null;
    if (drawer) { drawer.disable(); }
    state.line = null;
    lineLayer.clearLayers();
    state.merging = [];
    state.edited = false;
    invalidate();
    restyle();
    renderSelection();
    updateButtons();
  }

  // An edit after a preview makes that preview stale: it is dropped.
  function invalidate() {
    state.request = null;
    state.preview = null;
    previewLayer.clearLayers();
    clear($('plan-result'));
  }

  function drawing() {
    return state.drawer && state.drawer._markers && state.drawer._markers.length >= 2;
  }

  function canPreview() {
    if (hooks.modes[state.mode]) { return hooks.modes[state.mode].ready(); }
    if (state.mode === 'redraw') { return state.edited; }
    if (state.mode === 'split') { return !!state.line || drawing(); }
    if (state.mode === 'merge') { return state.merging.length >= 2; }
    return false;
  }

  function updateButtons() {
    var buttons = root.querySelectorAll('.plan-mode');
    Array.prototype.forEach.call(buttons, function (b) {
      var mode = b.dataset.mode;
      b.setAttribute('aria-pressed', String(state.mode === mode));
      b.disabled = state.busy || state.level === null;  // no grid to edit
    });
    $('plan-preview').disabled = state.busy || !canPreview();
    $('plan-save').disabled = state.busy || !(state.preview && state.preview.can_save);
    $('plan-cancel').disabled = state.busy || state.mode === null;
    $('plan-name-label').hidden = state.mode !== 'split';
    var hint = $('plan-hint');
    clear(hint);
    hint.appendChild(both(state.mode ? 'plan_hint_' + state.mode : 'plan_hint'));
    if ((state.mode === 'split' || state.mode === 'merge') && state.level < 4) {
      hint.appendChild(el('br'));
      hint.appendChild(both('plan_hint_upper'));
    }
    hook('buttons');
  }

  function gridName(code) {
    var child = state.children[code];
    if (child) { return child.feature.properties.name; }
    var found = state.preview && state.preview.grids.features.filter(function (f) {
      return f.properties.code === code;
    })[0];
    return found ? found.properties.name : code;
  }

  function gridCell(code) {
    return el('td', {}, [gridName(code), ' ', el('code', {}, code)]);
  }

  function renderSelection() {
    var box = $('plan-selection');
    clear(box);
    if (state.mode === 'merge') {
      if (!state.merging.length) { return; }
      box.appendChild(el('h3', {}, both('plan_merge')));
      var list = el('ol', {className: 'plan-merging'});
      state.merging.forEach(function (code, i) {
        list.appendChild(el('li', {data: {code: code}}, [
          gridName(code), ' ', el('code', {}, code),
          i === 0 ? el('em', {}, [' · ', both('plan_merge_into')]) : null]));
      });
      box.appendChild(list);
      return;
    }
    var child = state.selected && state.children[state.selected];
    if (!child) { return; }
    var p = child.feature.properties;
    box.appendChild(el('h3', {}, both('plan_selected')));
    var rows = [['name', p.name], ['code', p.code], ['plan_version', p.version],
                ['household_count', p.households], ['plan_area', m2(p.area_m2)],
                ['notice_hours', p.service_hours || '—']];
    var table = el('table', {className: 'plan-info', id: 'plan-info'});
    rows.forEach(function (r) {
      table.appendChild(el('tr', {}, [el('th', {}, both(r[0])), el('td', {}, r[1])]));
    });
    box.appendChild(table);
    if (p.level >= 3) { box.appendChild(noticePanel(p)); }
    hook('selection', box, child.feature);
  }

  // --- 网格公示牌: service hours, each person's 公示电话, the printed notice ------

  function noticePanel(p) {
    var base = API + '/grids/' + encodeURIComponent(p.code);
    var panel = el('div', {className: 'plan-notice', id: 'plan-notice'});
    var hours = el('textarea', {id: 'plan-hours', rows: 2, maxLength: 200,
                                value: p.service_hours || ''});
    var saveHours = el('button', {type: 'button', id: 'plan-hours-save'},
                       both('notice_hours_save'));
    saveHours.addEventListener('click', function () {
      send('PATCH', base, {service_hours: hours.value, version: p.version})
        .then(function (r) {
          if (!r.ok) { showError(r); return; }
          setMsg('notice', both('notice_saved'));
          load(true);
        });
    });
    panel.appendChild(el('label', {htmlFor: 'plan-hours'}, both('notice_hours')));
    panel.appendChild(hours);
    panel.appendChild(saveHours);
    var people = el('table', {className: 'plan-info', id: 'plan-notice-people'});
    panel.appendChild(el('h3', {}, both('notice_phone')));
    panel.appendChild(people);
    getJSON(base + '/notice?format=json').then(function (found) {
      found.staff.forEach(function (s) { people.appendChild(personRow(s)); });
    });
    panel.appendChild(el('a', {id: 'plan-notice-print', className: 'plan-notice-print',
                               href: base + '/notice?format=pdf', download: ''},
                          both('notice_print')));
    return panel;
  }

  // A person of the notice: the 公示电话 choice and, for another number, its field.
  function personRow(s) {
    var choice = el('select', {data: {staff: s.id}});
    ['work', 'other', 'none'].forEach(function (c) {
      choice.appendChild(el('option', {value: c, selected: s.notice_phone_choice === c},
                            zh('notice_phone_' + c)));
    });
    var other = el('input', {type: 'tel', maxLength: 20, value: s.notice_phone || '',
                             hidden: s.notice_phone_choice !== 'other'});
    function save() {
      other.hidden = choice.value !== 'other';
      if (choice.value === 'other' && !other.value.trim()) { return; }
      send('PATCH', API + '/staff/' + s.id,
           {notice_phone_choice: choice.value, notice_phone: other.value})
        .then(function (r) {
          if (!r.ok) { showError(r); return; }
          setMsg('notice', both('notice_saved'));
        });
    }
    choice.addEventListener('change', save);
    other.addEventListener('change', save);
    return el('tr', {data: {staff: s.id}}, [el('th', {}, s.name),
                                           el('td', {}, [choice, other])]);
  }

  // --- preview and save ------------------------------------------------------------

  function buildRequest() {
    if (hooks.modes[state.mode]) { return hooks.modes[state.mode].request(); }
    var code = state.selected;
    var child = code && state.children[code];
    if (state.mode === 'redraw' && child && state.edited) {
      return {
        url: API + '/grids/' + encodeURIComponent(code) + '/preview',
        save: API + '/grids/' + encodeURIComponent(code), method: 'PUT',
        body: L.extend({geometry: child.layer.toGeoJSON(false).geometry,
                        version: child.feature.properties.version}, topo.body())};
    }
    if (state.mode === 'split' && child && state.line) {
      var body = {line: state.line.toGeoJSON(false).geometry,
                  version: child.feature.properties.version};
      var name = $('plan-name').value.trim();
      if (name) { body.name = name; }
      var base = API + '/grids/' + encodeURIComponent(code) + '/split';
      return {url: base + '/preview', save: base, method: 'POST', body: body};
    }
    if (state.mode === 'merge' && state.merging.length >= 2) {
      var versions = {};
      state.merging.forEach(function (c) {
        versions[c] = state.children[c].feature.properties.version;
      });
      return {url: API + '/grids/merge/preview', save: API + '/grids/merge',
              method: 'POST', body: {codes: state.merging.slice(), versions: versions,
                                     keep: state.merging[0]}};
    }
    return null;
  }

  function preview() {
    if (state.mode === 'split' && !state.line && drawing()) {
      state.drawer.completeShape();  // fires CREATED: the line is kept
    }
    var req = buildRequest();
    if (!req) { setMsg('error', both('plan_nothing')); return; }
    state.busy = true;
    updateButtons();
    setMsg('info', both('plan_previewing'));
    setState('previewing');
    send('POST', req.url, req.body).then(function (r) {
      state.busy = false;
      if (r.ok) {
        invalidate();
        state.request = req;
        state.preview = r.body;
        setMsg(null);
        showPreview(r.body);
        setState('previewed');
      } else {
        showError(r);
        setState('refused');
      }
      updateButtons();
    });
  }

  function save() {
    var req = state.request;
    if (!req || !state.preview || !state.preview.can_save) { return; }
    state.busy = true;
    updateButtons();
    setMsg('info', both('plan_saving'));
    setState('saving');
    send(req.method, req.save, req.body).then(function (r) {
      state.busy = false;
      if (!r.ok) {
        showError(r);
        setState('refused');
        updateButtons();
        return;
      }
      function names(lang, version, sep) {
        var out = r.body.grids.features.map(function (f) {
          return f.properties.name + ' (' + version + ' ' + f.properties.version + ')';
        }).join(sep);
        if (r.body.removed.length) {
          out += sep + S.plan_removed[lang] + ' ' + r.body.removed.join(sep);
        }
        return out;
      }
      // a grid the save removed is no longer there to show (nor to ask about)
      if (state.selected && r.body.removed.indexOf(state.selected) >= 0) {
        state.selected = null;
      }
      reset();
      setMsg('notice', both('plan_saved',
                            {grids: names(0, S.plan_version[0], '、')},
                            {grids: names(1, S.plan_version[1].toLowerCase(), ', ')}));
      hook('saved', r.body);
      load(true).then(function () { setState('saved'); });
    });
  }

  function showError(r) {
    var err = (r && r.body && r.body.error) || {};
    var detail = err.message || ('HTTP ' + (r && r.status));
    if (r && r.status === 409) {
      state.preview = null;  // saving it again would fail the same way
      var reload = el('button', {type: 'button', className: 'plan-reload',
                                 id: 'plan-reload'}, both('plan_reload'));
      reload.addEventListener('click', function () { reset(); load(); });
      setMsg('error', [both('plan_conflict', {version: err.current_version}),
                       el('br'), reload]);
      return;
    }
    var head = r && (r.status === 422 || r.status === 400) ? 'plan_refused' :
      'plan_failed';
    setMsg('error', [both(head), el('br'), el('span', {className: 'detail'}, detail)]);
    if (err.gaps && err.gaps.length) {
      previewLayer.clearLayers();
      err.gaps.forEach(function (g) {
        previewLayer.addLayer(L.geoJSON(g, {pane: 'gaps', style: STYLE.gap}));
      });
    }
  }

  function showPreview(answer) {
    previewLayer.clearLayers();
    answer.grids.features.forEach(function (f) {
      previewLayer.addLayer(L.geoJSON(f, {pane: 'preview', style: STYLE.preview}));
    });
    answer.gaps.forEach(function (g) {
      previewLayer.addLayer(L.geoJSON(g, {pane: 'gaps', style: STYLE.gap}));
    });
    answer.moves.households.forEach(function (m) {
      var at = state.households[m.id];
      if (at) {
        previewLayer.addLayer(L.circleMarker(at, L.extend({pane: 'moved'}, STYLE.moved)));
      }
    });

    var box = $('plan-result');
    clear(box);
    box.appendChild(el('p', {className: answer.can_save ? 'plan-ok' : 'plan-bad',
                             id: 'plan-can-save'},
      answer.can_save ? ['✓ ', both('plan_can_save')] :
        both('plan_gap_refused', {area: m2(answer.gap_area_m2)})));
    topo.showGaps(answer, box);  // each gap: one click hands it to a neighbour

    showCheck(answer.check, box);

    box.appendChild(el('h3', {}, both('plan_changed')));
    var grids = el('table', {className: 'plan-table', id: 'plan-grids'});
    grids.appendChild(el('tr', {}, [el('th', {}, both('grid')),
                                    el('th', {}, both('plan_before')),
                                    el('th', {}, both('plan_after'))]));
    answer.grids.features.forEach(function (f) {
      var code = f.properties.code;
      var child = state.children[code];
      var before = child ? m2(child.feature.properties.area_m2) :
        el('em', {}, both('plan_created'));
      grids.appendChild(el('tr', {data: {code: code}}, [
        gridCell(code), el('td', {className: 'num'}, before),
        el('td', {className: 'num'}, m2(f.properties.area_m2))]));
    });
    answer.removed.forEach(function (code) {
      var child = state.children[code];
      grids.appendChild(el('tr', {data: {code: code}}, [
        gridCell(code),
        el('td', {className: 'num'}, child ? m2(child.feature.properties.area_m2) : '—'),
        el('td', {}, el('em', {}, both('plan_removed')))]));
    });
    box.appendChild(grids);

    var moves = answer.moves;
    box.appendChild(el('h3', {}, both('plan_moves')));
    box.appendChild(el('p', {className: 'plan-counts', id: 'plan-counts'}, [
      both('households'), ' ', el('b', {}, moves.households.length), ' · ',
      both('cameras'), ' ', el('b', {}, moves.cameras.length), ' · ',
      both('plan_incidents'), ' ', el('b', {}, moves.incidents.length)]));
    var all = [].concat(
      moves.households.map(function (m) { return ['households', m]; }),
      moves.cameras.map(function (m) { return ['cameras', m]; }),
      moves.incidents.map(function (m) { return ['plan_incidents', m]; }));
    if (all.length) {
      var table = el('table', {className: 'plan-table', id: 'plan-moves'});
      table.appendChild(el('tr', {}, [el('th', {}, both('plan_household')),
                                      el('th', {}, both('plan_from_to'))]));
      all.slice(0, MAX_ROWS).forEach(function (row) {
        var m = row[1];
        var kind = row[0];
        var data = {kind: kind, id: m.id, from: m.from, to: m.to};
        table.appendChild(el('tr', {data: data}, [
          el('td', {}, kind === 'households' ? householdCell(m) :
            zh(kind) + ' ' + m.id),
          el('td', {}, gridName(m.from) + ' → ' + gridName(m.to))]));
      });
      if (all.length > MAX_ROWS) {
        table.appendChild(el('tr', {}, el('td', {colSpan: 2},
          both('plan_more', {n: all.length - MAX_ROWS}))));
      }
      box.appendChild(table);
    }
    showRecoded(answer, box);
  }

  // A household that moves: its address and head (masked as the role's household
  // list masks them) when the role reads households, else its number.
  function householdCell(m) {
    if (m.address === undefined) { return String(m.id); }
    return el('span', {className: 'plan-hh'}, [
      m.address, ' · ', m.head_name || '—', ' ', el('code', {}, '#' + m.id)]);
  }

  // Above level 4: the grids that get new codes (their parent changes: codes are
  // prefixes of their children's), what follows them, and the accounts whose
  // jurisdiction changes.
  function showRecoded(answer, box) {
    var recoded = answer.recoded || [];
    var accounts = answer.accounts || [];
    if (!recoded.length && !accounts.length) { return; }
    var c = answer.counts;
    box.appendChild(el('h3', {}, both('plan_recoded')));
    box.appendChild(el('p', {className: 'plan-counts', id: 'plan-follow'}, [
      both('grid'), ' ', el('b', {}, recoded.length), ' · ',
      both('households'), ' ', el('b', {}, c.households), ' · ',
      both('cameras'), ' ', el('b', {}, c.cameras), ' · ',
      both('plan_all_incidents'), ' ', el('b', {}, c.incidents), ' · ',
      both('plan_staff'), ' ', el('b', {}, c.staff)]));
    if (recoded.length) {
      var table = el('table', {className: 'plan-table', id: 'plan-recoded'});
      table.appendChild(el('tr', {}, [el('th', {}, both('grid')),
                                      el('th', {}, both('plan_code_change'))]));
      recoded.slice(0, MAX_ROWS).forEach(function (r) {
        table.appendChild(el('tr', {data: {from: r.from, to: r.to}}, [
          el('td', {}, r.name),
          el('td', {}, [el('code', {}, r.from), ' → ', el('code', {}, r.to)])]));
      });
      if (recoded.length > MAX_ROWS) {
        table.appendChild(el('tr', {}, el('td', {colSpan: 2},
          both('plan_more', {n: recoded.length - MAX_ROWS}))));
      }
      box.appendChild(table);
    }
    if (accounts.length) {
      box.appendChild(el('h3', {}, both('plan_accounts')));
      var list = el('ul', {className: 'plan-problems', id: 'plan-accounts'});
      accounts.forEach(function (a) {
        list.appendChild(el('li', {}, [a.username, ' ', el('code', {}, a.from), ' → ',
          a.to ? el('code', {}, a.to) : both('plan_account_ends')]));
      });
      box.appendChild(list);
    }
  }

  // The check of the parent grid as the edit would leave it (layers/check.py): its
  // errors listed (their messages are Chinese then English) and marked on the map.
  function showCheck(check, box) {
    if (!check) { return; }
    box.appendChild(el('h3', {}, both('plan_check')));
    if (!check.errors.length) {
      box.appendChild(el('p', {className: 'plan-ok', id: 'plan-check'},
                         ['✓ ', both('plan_check_ok')]));
      return;
    }
    box.appendChild(el('p', {className: 'plan-hint'}, both('plan_check_note')));
    var list = el('ul', {className: 'plan-problems', id: 'plan-check'});
    check.errors.forEach(function (p) {
      list.appendChild(el('li', {data: {kind: p.kind}}, p.message));
      if (p.geometry) {
        previewLayer.addLayer(L.geoJSON(p.geometry, {
          pane: 'gaps', style: STYLE.problem,
          pointToLayer: function (f, at) {
            return L.circleMarker(at, L.extend({pane: 'gaps'}, STYLE.problemPoint));
          }}));
      }
    });
    box.appendChild(list);
  }

  // --- controls --------------------------------------------------------------------

  Array.prototype.forEach.call(root.querySelectorAll('.plan-mode'), function (b) {
    b.addEventListener('click', function () { setMode(b.dataset.mode); });
  });
  $('plan-preview').addEventListener('click', preview);
  $('plan-save').addEventListener('click', save);
  $('plan-cancel').addEventListener('click', function () { reset(); setMsg(null); });
  $('plan-name').addEventListener('input', function () { invalidate(); updateButtons(); });
  $('plan-parent').addEventListener('change', function () {
    $('plan-parent').form.submit();
  });

  // For plan_tools.js: the page's own steps.
  L.extend(window.gridgovPlan, {
    setMsg: setMsg, invalidate: invalidate, updateButtons: updateButtons,
    restyle: restyle, renderSelection: renderSelection, reset: reset, load: load,
    showError: showError, setState: setState, strings: T, api: API, csrf: CSRF});

  load();
}());
