/*
 * The planners' page /plan, its tools beyond redraw, split and merge (issue 16):
 * create a micro-grid (draw it), delete one (into a chosen neighbour), propose
 * micro-grids for a comprehensive grid and adopt the proposal, a grid's lineage
 * (from its panel, or by typing an old code), the household warning an edit left
 * on a grid, and a problem of the hierarchy check (/plan/check) shown on the map.
 *
 * The tools are modes of plan.js (its hooks: window.gridgovPlan.hooks): each
 * builds the request that plan.js previews and saves with its own Preview and
 * Save buttons, so a create, delete or adoption is previewed and checked like
 * every other edit, and Save is the confirmation. Strings from web/i18n.py
 * through the page's config; text always as DOM text (gg.el).
 */
(function () {
  'use strict';

  var P = window.gridgovPlan;
  var cfg = JSON.parse(document.getElementById('plan-config').textContent);
  var S = cfg.strings;
  var API = P.api;
  var T = P.strings, zh = T.zh, both = T.both;
  var el = gg.el, clear = gg.clear, state = P.state, map = P.map;
  var $ = function (id) { return document.getElementById(id); };
  var root = $('plan');

  var STYLE = {
    proposal: {color: '#009E73', weight: 3, dashArray: '6 4', fillColor: '#009E73',
               fillOpacity: 0.12, interactive: false},
    drawn: {color: '#CC79A7', weight: 3, fillOpacity: 0.15, interactive: false},
    focus: {color: '#C00000', weight: 5, fillColor: '#FF0000', fillOpacity: 0.35,
            interactive: false},
    focusPoint: {radius: 14, color: '#C00000', weight: 4, fill: false,
                 interactive: false}
  };
  var toolLayer = L.layerGroup().addTo(map);   // proposal, drawn grid
  var focusLayer = L.layerGroup().addTo(map);  // a problem of the check

  function box() { return $('plan-tool'); }

  function selectedFeature() {
    var child = state.selected && state.children[state.selected];
    return child ? child.feature : null;
  }

  function versions() {
    var out = {};
    Object.keys(state.children).forEach(function (code) {
      out[code] = state.children[code].feature.properties.version;
    });
    return out;
  }

  // "2026-12-07T19:30:05.1+08:00" (the API's times are China time) →
  // "2026-12-07 19:30 (北京时间)", or "(China time)" with lang 1
  function chinaTime(iso, lang) {
    if (!iso) { return '—'; }
    return iso.slice(0, 10) + ' ' + iso.slice(11, 16) + ' (' +
      S.plan_china_time[lang || 0] + ')';
  }

  // --- create: draw a new micro-grid ---------------------------------------------

  var create = {polygon: null, drawer: null};
  P.hooks.modes.create = {
    enter: function () {
      if (cfg.parent_level !== 3) { P.setMsg('error', both('plan_need_level3')); return false; }
      create.drawer = new L.Draw.Polygon(map, {
        shapeOptions: STYLE.drawn, allowIntersection: false, showArea: false,
        guidelineDistance: 12});
      create.drawer.enable();
      return true;
    },
    ready: function () { return !!create.polygon && !!$('plan-name').value.trim(); },
    request: function () {
      return {url: API + '/grids/preview', save: API + '/grids', method: 'POST',
              body: {parent: cfg.parent, name: $('plan-name').value.trim(),
                     geometry: create.polygon.toGeoJSON(false).geometry}};
    },
    reset: function () {
      var drawer = create.drawer;
      create.drawer = null;
      create.polygon = null;
      if (drawer) { drawer.disable(); }
      toolLayer.clearLayers();
    }
  };
  map.on(L.Draw.Event.CREATED, function (e) {
    if (state.mode !== 'create') { return; }
    create.polygon = L.polygon(e.layer.getLatLngs(), STYLE.drawn);
    toolLayer.addLayer(create.polygon);
    P.invalidate();
    P.updateButtons();
  });
  map.on(L.Draw.Event.DRAWSTOP, function () {
    if (state.mode !== 'create') { return; }
    create.drawer = null;
    if (!create.polygon) { P.reset(); }  // stopped (Esc) without a polygon
    P.updateButtons();
  });

  // --- delete a micro-grid into a neighbour ----------------------------------------

  var removal = {into: ''};
  P.hooks.modes['delete'] = {
    enter: function () {
      var f = selectedFeature();
      if (!f || f.properties.level !== 4) {
        P.setMsg('error', both('plan_delete_micro_only'));
        return false;
      }
      removal.into = '';
      var b = box();
      clear(b);
      b.appendChild(el('h3', {}, both('plan_delete_title', {name: f.properties.name})));
      var select = el('select', {id: 'plan-delete-into'});
      select.appendChild(el('option', {value: ''}, zh('plan_delete_auto')));
      Object.keys(state.children).sort().forEach(function (code) {
        if (code === f.properties.code) { return; }
        var p = state.children[code].feature.properties;
        select.appendChild(el('option', {value: code}, p.name + ' (' + code + ')'));
      });
      select.addEventListener('change', function () {
        removal.into = select.value;
        P.invalidate();
        P.updateButtons();
      });
      b.appendChild(el('label', {htmlFor: 'plan-delete-into'},
                       both('plan_delete_into')));
      b.appendChild(select);
      return true;
    },
    ready: function () { return !!selectedFeature(); },
    request: function () {
      var f = selectedFeature();
      var q = gg.query({version: f.properties.version, into: removal.into});
      var base = API + '/grids/' + encodeURIComponent(f.properties.code);
      return {url: base + '/delete/preview?' + q, save: base + '?' + q,
              method: 'DELETE', body: {}};
    },
    reset: function () { clear(box()); }
  };

  // --- propose micro-grids, adopt the proposal --------------------------------------

  var proposal = {answer: null, seq: 0};
  function propose() {
    var target = parseInt($('plan-propose-target').value, 10) || 75;
    var seq = ++proposal.seq;
    proposal.answer = null;
    toolLayer.clearLayers();
    P.invalidate();
    P.updateButtons();
    P.setMsg('info', both('plan_proposing'));
    P.setState('proposing');
    var url = API + '/grids/' + encodeURIComponent(cfg.parent) + '/propose-micro';
    gg.send('POST', url, {target: target}, P.csrf).then(function (r) {
      if (seq !== proposal.seq || state.mode !== 'propose') { return; }
      if (!r.ok) { P.showError(r); P.setState('refused'); return; }
      P.setMsg(null);
      proposal.answer = r.body;
      showProposal(r.body);
      P.updateButtons();
      P.setState('proposed');
    });
  }

  function showProposal(answer) {
    var s = answer.summary;
    answer.features.forEach(function (f) {
      var layer = L.geoJSON(f, {style: STYLE.proposal});
      layer.bindTooltip(gg.text('#' + f.properties.index + ' · ' +
                                zh('households_n', {n: f.properties.households})),
                        {permanent: true, direction: 'center',
                         className: 'plan-label plan-proposal-label'});
      toolLayer.addLayer(layer);
    });
    var out = $('plan-proposal');
    clear(out);
    out.appendChild(el('p', {id: 'plan-proposal-summary'}, both('plan_proposal_summary', {
      grids: s.grids, households: s.households, min: s.min, max: s.max})));
    out.appendChild(el('p', {className: s.within_bounds ? 'plan-ok' : 'plan-bad'},
      s.within_bounds ? ['✓ ', both('plan_proposal_ok')] : both('plan_proposal_bad')));
    var table = el('table', {className: 'plan-table', id: 'plan-proposal-table'});
    table.appendChild(el('tr', {}, [el('th', {}, both('plan_proposal_no')),
                                    el('th', {}, both('households')),
                                    el('th', {}, both('plan_compactness'))]));
    answer.features.forEach(function (f) {
      var p = f.properties;
      table.appendChild(el('tr', {data: {households: p.households}}, [
        el('td', {}, '#' + p.index), el('td', {className: 'num'}, p.households),
        el('td', {className: 'num'}, p.compactness)]));
    });
    out.appendChild(table);
    var adopt = el('button', {type: 'button', id: 'plan-adopt', className: 'plan-adopt'},
                   both('plan_adopt'));
    adopt.addEventListener('click', function () {
      $('plan-preview').click();  // plan.js previews; its Save confirms
    });
    out.appendChild(adopt);
    out.appendChild(el('p', {className: 'plan-hint'}, both('plan_adopt_confirm')));
  }

  P.hooks.modes.propose = {
    enter: function () {
      if (cfg.parent_level !== 3) { P.setMsg('error', both('plan_need_level3')); return false; }
      var b = box();
      clear(b);
      b.appendChild(el('h3', {}, both('plan_proposal')));
      var target = el('input', {id: 'plan-propose-target', type: 'number', min: 50,
                                max: 100, step: 1, value: 75});
      var again = el('button', {type: 'button', id: 'plan-propose-run'},
                     both('plan_propose_again'));
      again.addEventListener('click', propose);
      b.appendChild(el('p', {className: 'plan-propose-row'}, [
        el('label', {htmlFor: 'plan-propose-target'}, both('plan_propose_target')),
        ' ', target, ' ', again]));
      b.appendChild(el('div', {id: 'plan-proposal'}));
      setTimeout(propose, 0);  // once plan.js has entered the mode
      return true;
    },
    ready: function () { return !!proposal.answer; },
    request: function () {
      var fc = {type: 'FeatureCollection', features: proposal.answer.features};
      var base = API + '/grids/' + encodeURIComponent(cfg.parent) + '/children';
      return {url: base + '/preview', save: base, method: 'PUT',
              body: {grids: fc, versions: versions()}};
    },
    reset: function () {
      proposal.seq++;
      proposal.answer = null;
      toolLayer.clearLayers();
      clear(box());
    }
  };

  // --- the buttons: which tools apply here -------------------------------------------

  P.hooks.buttons = function () {
    var micro = cfg.parent_level === 3;
    [['create', micro], ['propose', micro],
     ['delete', state.level === 4]].forEach(function (t) {
      var b = root.querySelector('.plan-mode[data-mode=' + t[0] + ']');
      if (b) { b.disabled = state.busy || !t[1]; }
    });
    // the split's name field, required for a new micro-grid
    var creating = state.mode === 'create';
    if (creating) { nameLabel.hidden = false; }
    nameLabel.firstChild.textContent = creating ? zh('plan_new_micro_name') + ' ' :
      nameText[0];
    nameLabel.querySelector('.en').textContent = creating ? S.plan_new_micro_name[1] :
      nameText[1];
  };
  var nameLabel = $('plan-name-label');
  var nameText = [nameLabel.firstChild.textContent,
                  nameLabel.querySelector('.en').textContent];

  // --- warnings and lineage on the selected grid's panel -------------------------------

  function warningBlock(w, id) {
    return el('div', {className: 'plan-warning', id: id, data: {code: w.code}}, [
      el('strong', {}, ['⚠ ', both('plan_warning')]), el('br'),
      w.message, el('br'),
      el('span', {className: 'detail'}, both('plan_warning_since', {
        at: chinaTime(w.at), user: w.username || '—'}, {
        at: chinaTime(w.at, 1), user: w.username || '—'}))]);
  }

  P.hooks.selection = function (panel, feature) {
    var p = feature.properties;
    if (p.warning) { panel.appendChild(warningBlock(p.warning, 'plan-grid-warning')); }
    var button = el('button', {type: 'button', id: 'plan-lineage-button',
                               className: 'plan-small'}, both('plan_lineage'));
    button.addEventListener('click', function () { lineage(p.code); });
    panel.appendChild(button);
  };

  function planUrl(code) {
    var parent = code.length > 9 ? code.slice(0, -3) : code;
    return cfg.urls.plan + '?' + gg.query({parent: parent, select: code});
  }

  function steps(title, list, id) {
    var out = [el('h4', {}, both(title))];
    if (!list.length) { out.push(el('p', {className: 'plan-hint'}, both('plan_lineage_none'))); return out; }
    var ul = el('ul', {className: 'plan-lineage-steps', id: id});
    list.forEach(function (s) {
      ul.appendChild(el('li', {data: {code: s.code, kind: s.kind}}, [
        el('code', {}, s.code), ' · ', both('plan_lineage_' + s.kind), ' · ',
        chinaTime(s.at), s.username ? ' · ' + s.username : '']));
    });
    out.push(ul);
    return out;
  }

  function lineage(code) {
    var out = $('plan-lineage');
    clear(out);
    if (!/^[0-9]{9,18}$/.test(code)) {
      out.appendChild(el('p', {className: 'plan-bad'}, both('plan_lineage_bad')));
      return;
    }
    gg.getJSON(API + '/grids/' + encodeURIComponent(code) + '/lineage').then(function (d) {
      clear(out);
      out.appendChild(el('h3', {}, both('plan_lineage_of', {code: d.code})));
      out.appendChild(el('p', {id: 'plan-lineage-status',
                               className: d.exists ? 'plan-ok' : 'plan-hint'},
                         both(d.exists ? 'plan_lineage_exists' : 'plan_lineage_gone')));
      steps('plan_lineage_came_from', d.came_from, 'plan-lineage-from').forEach(
        function (n) { out.appendChild(n); });
      steps('plan_lineage_became', d.became, 'plan-lineage-became').forEach(
        function (n) { out.appendChild(n); });
      if (d.now.length) {
        out.appendChild(el('h4', {}, both('plan_lineage_now')));
        var ul = el('ul', {className: 'plan-lineage-steps', id: 'plan-lineage-now'});
        d.now.forEach(function (c) {
          ul.appendChild(el('li', {}, [el('code', {}, c), ' ',
            el('a', {href: planUrl(c), data: {code: c}}, both('plan_open_grid'))]));
        });
        out.appendChild(ul);
      }
    }, function (err) {
      clear(out);
      out.appendChild(el('p', {className: 'plan-bad', id: 'plan-lineage-status'},
        err.status === 404 ? both('plan_lineage_unknown', {code: code}) :
          (err.body && err.body.error && err.body.error.message) || 'HTTP ' + err.status));
    });
  }

  $('plan-lineage-form').addEventListener('submit', function (e) {
    e.preventDefault();
    lineage($('plan-lineage-code').value.trim());
  });

  // --- after a load: warned grids marked; a grid or a problem to show --------------------

  var focused = false;
  P.hooks.loaded = function () {
    Object.keys(state.children).forEach(function (code) {
      var child = state.children[code];
      if (child.feature.properties.warning) {
        child.layer.setTooltipContent(gg.text('⚠ ' + child.feature.properties.name));
      }
    });
    if (focused) { return; }
    focused = true;
    var f = cfg.focus || {};
    if (f.select && state.children[f.select]) {
      state.selected = f.select;
      P.restyle();
      P.renderSelection();
      P.updateButtons();
      map.fitBounds(state.children[f.select].layer.getBounds(), {padding: [30, 30]});
    }
    if (f.problem) { showProblem(f.problem, f.codes); }
  };

  function showProblem(kind, codes) {
    var url = API + '/grids/check?' + gg.query({root: cfg.parent});
    var out = box();
    gg.getJSON(url).then(function (report) {
      var found = report.errors.concat(report.slivers).filter(function (p) {
        return p.kind === kind && p.codes.join(',') === codes;
      })[0];
      clear(out);
      var back = el('a', {href: cfg.urls.check + '?' + gg.query({root: cfg.parent})},
                    both('plan_back_check'));
      if (!found) {
        out.appendChild(el('p', {className: 'plan-hint', id: 'plan-focus'},
                           [both('plan_focus_gone'), ' ', back]));
        root.dataset.focus = 'gone';
        return;
      }
      out.appendChild(el('div', {className: 'plan-warning', id: 'plan-focus',
                                 data: {kind: kind}}, [
        el('strong', {}, both('plan_focus')), el('br'), found.message, el('br'), back]));
      var shape = L.geoJSON(found.geometry, {
        style: STYLE.focus,
        pointToLayer: function (ft, at) { return L.circleMarker(at, STYLE.focusPoint); }});
      focusLayer.addLayer(shape);
      var child = state.children[found.codes[0]];
      var point = found.geometry && found.geometry.type === 'Point';
      if (point && child) {
        state.selected = found.codes[0];
        P.restyle();
        P.renderSelection();
        map.fitBounds(child.layer.getBounds(), {padding: [30, 30]});
      } else if (point) {
        map.setView(shape.getLayers()[0].getLatLng(), 17);
      } else {
        map.fitBounds(shape.getBounds(), {padding: [40, 40], maxZoom: 19});
      }
      root.dataset.focus = 'shown';
    }, function (err) {
      clear(out);
      out.appendChild(el('p', {className: 'plan-bad', id: 'plan-focus'},
        (err.body && err.body.error && err.body.error.message) || 'HTTP ' + err.status));
      root.dataset.focus = 'error';
    });
  }

  // --- after a save: the warnings it left ---------------------------------------------

  P.hooks.saved = function (answer) {
    var warned = answer.warnings || [];
    if (!warned.length) { return; }
    var msg = $('plan-msg');
    var list = el('ul', {className: 'plan-problems', id: 'plan-saved-warnings'});
    warned.forEach(function (w) {
      list.appendChild(el('li', {data: {code: w.code}}, [
        el('code', {}, w.code), ' ', zh('households_n', {n: w.households})]));
    });
    msg.appendChild(el('div', {className: 'plan-warning'}, [
      '⚠ ', both('plan_saved_warning', {low: warned[0].low, high: warned[0].high}),
      list]));
  };
}());
