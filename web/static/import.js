/*
 * The upload page /import (web/import_page.py, templates/import.html).
 *
 * The chosen file goes to the import API (api/imports.py) twice: first as a dry run
 * (预览 Preview: counts, what was detected, warnings, the first rows, the rejected
 * rows, the accepted points on the map in their micro-grids), then for real
 * (导入 Import), with the same file and options. Import is offered only after a
 * preview of exactly the current file and options. A file imported before is
 * refused (409): 仍然导入 previews it again with force, and the import then sends
 * force too. Requests carry the CSRF token of the page's <meta name="csrf-token">;
 * uploads go through XMLHttpRequest for their progress.
 *
 * No inline script or handler (the CSP forbids them); every string comes from
 * web/i18n.py through the page's JSON config, Chinese first, English second.
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('import-config').textContent);
  var S = cfg.strings;
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute('content');
  var API = cfg.urls.api;
  var root = document.getElementById('import');
  var $ = function (id) { return document.getElementById(id); };

  // Okabe-Ito colours: micro-grids blue, accepted points bluish green; the
  // rejected rows red.
  var STYLE = {
    grid: {color: '#0072B2', weight: 1.5, fillColor: '#0072B2', fillOpacity: 0.05},
    point: {radius: 6, color: '#000000', weight: 1, fillColor: '#009E73',
            fillOpacity: 0.9, className: 'import-point'},
    rejected: {radius: 6, color: '#CC0000', weight: 2, fillColor: '#CC0000',
               fillOpacity: 0.4, className: 'import-rejected-point'},
    shape: {added: {color: '#009E73', weight: 2.5, fillOpacity: 0.15},
            updated: {color: '#E69F00', weight: 2.5, fillOpacity: 0.15},
            unchanged: {color: '#56B4E9', weight: 1.5, fillOpacity: 0.05}}
  };

  // --- strings and DOM helpers ---------------------------------------------------

  var fmt = gg.fmt, el = gg.el, clear = gg.clear;  // web/static/gg.js
  var T = gg.strings(S), zh = T.zh, both = T.both;

  function cell(value) {
    if (value === null || value === undefined || value === '') { return '—'; }
    if (Array.isArray(value)) { return value.join('、'); }
    return String(value);
  }

  function setMsg(kind, parts) {
    var box = $('import-msg');
    clear(box);
    box.className = 'import-msg' + (kind ? ' ' + kind : '');
    [].concat(parts || []).forEach(function (p) {
      box.appendChild(typeof p === 'string' ? document.createTextNode(p) : p);
    });
  }

  function setState(name) { root.dataset.state = name; }

  function when(value) {
    var d = new Date(value);
    if (isNaN(d.getTime())) { return cell(value); }
    return gg.time(value);  // China time, labelled, whatever the browser's zone
  }

  // --- the map -------------------------------------------------------------------

  var map = gg.newMap('import-map', {maxZoom: 20, zoomSnap: 0.5}, cfg.basemap);
  L.control.scale({imperial: false}).addTo(map);
  map.setView([35, 105], 4);  // China; the points' extent after a preview
  var gridLayer = L.layerGroup().addTo(map);
  var pointLayer = L.featureGroup().addTo(map);
  var rejectedLayer = L.featureGroup().addTo(map);
  var gridNames = {};  // micro-grid code -> name

  window.gridgovImport = {map: map, points: pointLayer, rejected: rejectedLayer};

  // The rejected rows that have a position, in red: row, field, reason (text
  // nodes: the reason quotes the file).
  function drawRejected(collection) {
    rejectedLayer.clearLayers();
    ((collection && collection.features) || []).forEach(function (f) {
      var c = f.geometry.coordinates, p = f.properties;
      var marker = L.circleMarker([c[1], c[0]], STYLE.rejected);
      marker.bindTooltip(function () {
        return el('span', {}, zh('row_n', {row: p.row}) + ' · ' +
                  (p.label || p.field || '') + ' · ' + p.reason);
      }, {className: 'import-tip'});
      rejectedLayer.addLayer(marker);
    });
  }

  function drawPoints(collection, rejected) {
    gridLayer.clearLayers();
    pointLayer.clearLayers();
    drawRejected(rejected);
    var features = (collection && collection.features) || [];
    if (!features.length && rejectedLayer.getLayers().length) {
      // nothing accepted: show where the rejected rows are
      map.fitBounds(rejectedLayer.getBounds().pad(0.15), {maxZoom: 17,
                                                           animate: false});
      return Promise.resolve();
    }
    features.forEach(function (f) {
      var c = f.geometry.coordinates;
      var marker = L.circleMarker([c[1], c[0]], STYLE.point);
      marker.feature = f;
      marker.bindTooltip(function () { return gg.text(pointLabel(f.properties)); },
                         {className: 'import-tip'});
      pointLayer.addLayer(marker);
    });
    if (!features.length) { return Promise.resolve(); }
    var bounds = pointLayer.getBounds();
    map.fitBounds(bounds.pad(0.15), {maxZoom: 17, animate: false});
    return loadGrids(bounds.pad(0.05));
  }

  // grids: the imported polygons over the stored ones, coloured by what changes
  function drawShapes(collection) {
    if (!collection || !collection.features.length) { return; }
    gridLayer.addLayer(L.geoJSON(collection, {
      style: function (f) { return STYLE.shape[f.properties.change] || STYLE.grid; },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(gg.text(f.properties.code + ' ' + f.properties.name + ' · ' +
                                  zh('import_change_' + f.properties.change)));
      }
    }));
  }

  function pointLabel(p) {
    var code = p.grid_code || '';
    var name = gridNames[code];
    return zh('row_n', {row: p.row}) + ' · ' + zh('import_grid') + ' ' +
      (name ? name + '（' + code + '）' : code);
  }

  // The micro-grids around the points (rounded coordinates: only drawn).
  function loadGrids(bounds) {
    var bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(),
                bounds.getNorth()].map(function (v) { return v.toFixed(6); }).join(',');
    return fetch(API + '/grids?level=4&limit=1000&bbox=' + bbox,
                 {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (fc) {
        if (!fc) { return; }
        var codes = {};
        pointLayer.eachLayer(function (m) { codes[m.feature.properties.grid_code] = 1; });
        var around = L.latLngBounds([]);
        fc.features.forEach(function (f) {
          gridNames[f.properties.code] = f.properties.name;
          var layer = L.geoJSON(f, {style: STYLE.grid, interactive: false});
          if (codes[f.properties.code]) {
            layer.bindTooltip(gg.text(f.properties.name),
                              {permanent: true, direction: 'center',
                               className: 'import-label'});
            around.extend(layer.getBounds());
          }
          gridLayer.addLayer(layer);
        });
        // the points' micro-grids in view, with their names
        if (around.isValid()) {
          map.fitBounds(around.pad(0.05), {maxZoom: 17, animate: false});
        }
      }, function () { /* the points stand without their grids */ });
  }

  // --- the requests ----------------------------------------------------------------

  function options() {
    var crs = $('import-crs').value;
    if (crs === 'epsg') {
      var code = $('import-epsg').value.trim().replace(/^epsg:\s*/i, '');
      if (!/^\d{4,6}$/.test(code)) { return {error: 'import_bad_epsg'}; }
      crs = 'EPSG:' + code;
    }
    var out = {layer: $('import-layer').value, crs: crs};
    if (out.layer === 'tracks') {  // a patrol is one worker's: the picker's choice
      if (!$('import-staff').value) { return {error: 'import_need_staff'}; }
      out.staff = $('import-staff').value;
    }
    var mapping = $('import-mapping').value.trim();
    if (mapping) { out.mapping = mapping; }
    var match = $('import-address-match'), area = $('import-new-area');
    if (out.layer === 'households' && match) { out.on_address_match = match.value; }
    if (out.layer === 'grids' && area && area.checked) { out.new_area = 1; }
    return out;
  }

  function key(file, opts) {
    return [file.name, file.size, file.lastModified, JSON.stringify(opts)].join('|');
  }

  // POST the file; resolves {ok, status, body} (body: the JSON answer or null).
  function upload(file, opts, flags) {
    var query = Object.keys(opts).concat(Object.keys(flags)).map(function (k) {
      var v = k in opts ? opts[k] : flags[k];
      return encodeURIComponent(k) + '=' + encodeURIComponent(v);
    }).join('&');
    var data = new FormData();
    data.append('file', file, file.name);
    // the server's phases, under a token of ours, read while it works
    var token = 'p' + Date.now().toString(36) + Math.random().toString(36).slice(2);
    query += '&progress=' + token;
    var polling = null;
    function poll() {
      gg.getJSON(API + '/imports/progress/' + token).then(function (p) {
        if (!polling) { return; }
        var key = 'import_phase_' + p.phase;
        var label = S[key] || [p.phase, p.phase];
        var n = p.rows === null ? '' : fmt(S.import_progress_rows[0], {n: p.rows.toLocaleString()});
        var nEn = p.rows === null ? '' : fmt(S.import_progress_rows[1], {n: p.rows.toLocaleString()});
        var box = $('import-msg');
        setMsg('info', both('import_progress', {phase: label[0], phase_en: label[1],
          rows: n, rows_en: nEn, seconds: p.seconds.toFixed(1)}));
        if (box) { box.dataset.phase = p.phase; }
      }).catch(function () { /* not started yet, or finished */ });
    }
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open('POST', API + '/imports?' + query);
      xhr.upload.addEventListener('load', function () {
        polling = setInterval(poll, 400);
      });
      xhr.setRequestHeader('X-CSRFToken', CSRF);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.upload.addEventListener('progress', function (e) {
        if (!e.lengthComputable) { return; }
        var pct = Math.round(100 * e.loaded / e.total);
        setMsg('info', pct < 100 ? both('import_uploading', {pct: pct}) :
          both('import_checking'));
      });
      xhr.addEventListener('loadend', function () {
        clearInterval(polling);
        polling = null;
      });
      xhr.addEventListener('load', function () {
        var body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        resolve({ok: xhr.status >= 200 && xhr.status < 300, status: xhr.status,
                 body: body});
      });
      xhr.addEventListener('error', function () {
        resolve({ok: false, status: 0, body: null});
      });
      xhr.send(data);
    });
  }

  var state = {
    busy: false,
    previewed: null,  // key of the file and options last previewed successfully
    force: false,     // the file was imported before and the user chose to go on
    report: null
  };

  function current() {
    var file = $('import-file').files[0];
    if (!file) { return {error: 'import_choose_file'}; }
    var opts = options();
    if (opts.error) { return opts; }
    return {file: file, opts: opts, key: key(file, opts)};
  }

  function updateButtons() {
    var now = current();
    var ready = !now.error && state.previewed === now.key && state.report &&
      state.report.dry_run &&
      state.report.counts.read - state.report.counts.rejected > 0 &&
      state.report.can_commit !== false;  // grids failing the hierarchy check
    $('import-preview').disabled = state.busy;
    $('import-commit').disabled = state.busy || !ready;
    $('import-epsg').hidden = $('import-crs').value !== 'epsg';
    $('import-staff-field').hidden = $('import-layer').value !== 'tracks';
    var fields = {'import-address-match-field': 'households',
                  'import-new-area-field': 'grids'};
    Object.keys(fields).forEach(function (id) {
      if ($(id)) { $(id).hidden = $('import-layer').value !== fields[id]; }
    });
  }

  function preview(force) {
    var now = current();
    if (now.error) { setMsg('error', both(now.error)); return; }
    state.busy = true;
    state.force = !!force;
    state.previewed = null;
    state.report = null;
    updateButtons();
    setState('previewing');
    setMsg('info', both('import_checking'));
    var flags = {dry_run: 1};
    if (force) { flags.force = 1; }
    upload(now.file, now.opts, flags).then(function (r) {
      state.busy = false;
      if (!r.ok) {
        clearResult();
        showError(r);
        setState(r.status === 409 ? 'conflict' : 'refused');
        updateButtons();
        return;
      }
      state.report = r.body;
      state.previewed = now.key;
      var usable = r.body.counts.read - r.body.counts.rejected > 0;
      var why = !usable && r.body.refusal;  // why nothing would be stored
      setMsg(usable ? 'info' : 'error', why ?
             [both('import_nothing'), el('br'),
              el('span', {className: 'detail'}, why)] :
             both(!usable ? 'import_nothing' :
               force ? 'import_previewed_force' : 'import_previewed'));
      showReport(r.body);
      updateButtons();
      drawPoints(r.body.preview.points, r.body.preview.rejected).then(function () {
        drawShapes(r.body.preview.shapes);
        setState('previewed');
      });
    });
  }

  function commit() {
    var now = current();
    if (now.error || now.key !== state.previewed) {
      setMsg('error', both(now.error || 'import_stale'));
      return;
    }
    state.busy = true;
    updateButtons();
    setState('importing');
    setMsg('info', both('import_checking'));
    var flags = state.force ? {force: 1} : {};
    upload(now.file, now.opts, flags).then(function (r) {
      state.busy = false;
      state.previewed = null;
      if (!r.ok) {
        showError(r);
        setState(r.status === 409 ? 'conflict' : 'refused');
        updateButtons();
        return;
      }
      state.report = r.body;
      var done = r.body.import_id;
      var parts = [both('import_done', {id: done})];
      if (r.body.counts.rejected) {
        parts.push(' ', downloadLink(done));
      }
      setMsg('notice', parts);
      showReport(r.body);
      updateButtons();
      Promise.all([drawPoints(r.body.preview.points, r.body.preview.rejected), loadList()]).then(function () {
        drawShapes(r.body.preview.shapes);
        setState('imported');
      });
    });
  }

  function downloadLink(id) {
    return el('a', {href: API + '/imports/' + id + '/rejected.csv',
                    className: 'import-download', download: ''},
              both('import_download'));
  }

  function showError(r) {
    var err = (r && r.body && r.body.error) || {};
    var detail = err.message || ('HTTP ' + (r && r.status));
    if (r.status === 409) {
      var again = el('button', {type: 'button', id: 'import-force'},
                     both('import_force'));
      again.addEventListener('click', function () { preview(true); });
      setMsg('error', [both('import_conflict'), el('br'),
                       el('span', {className: 'detail'}, detail), el('br'), again]);
      return;
    }
    var head = r.status === 413 ? 'import_too_large' : 'import_failed';
    setMsg('error', [both(head), el('br'), el('span', {className: 'detail'}, detail)]);
  }

  // --- the report ------------------------------------------------------------------

  function clearResult() {
    clear($('import-summary'));
    clear($('import-tables'));
    gridLayer.clearLayers();
    pointLayer.clearLayers();
  }

  function showReport(report) {
    clearResult();
    var dry = report.dry_run;
    var box = $('import-summary');
    box.appendChild(el('h2', {}, both(dry ? 'import_result_preview' :
      'import_result_done')));
    var c = report.counts;
    var counts = [['read', 'import_read', c.read],
                  ['added', dry ? 'import_will_add' : 'import_added', c.added],
                  ['updated', dry ? 'import_will_update' : 'import_updated', c.updated],
                  ['unchanged', 'import_unchanged', c.unchanged],
                  ['rejected', 'import_rejected', c.rejected]];
    box.appendChild(el('dl', {className: 'import-counts', id: 'import-counts'},
      counts.map(function (k) {
        return el('div', {className: 'count-' + k[0], data: {count: k[0]}}, [
          el('dt', {}, both(k[1])), el('dd', {}, String(k[2]))]);
      })));

    box.appendChild(el('h3', {}, both('import_detected')));
    var crs = report.crs || {};
    var detected = el('table', {className: 'import-info', id: 'import-detected'});
    var columns = report.columns || {};
    var mapped = Object.keys(columns).filter(function (k) {
      return k !== 'lon' && k !== 'lat' && columns[k];
    }).map(function (k) { return k + ' ← ' + columns[k]; }).join('，');
    [['import_format', cell(report.format)],
     ['import_encoding', cell(report.encoding)],
     ['import_crs', cell(crs.name) + (crs.source ? '（' + crs.source + '）' : '') +
       (crs.note ? ' ' + crs.note : '')],
     ['import_coordinates', cell(columns.lon) + ' / ' + cell(columns.lat)],
     ['import_columns', mapped || '—']].forEach(function (r) {
      detected.appendChild(el('tr', {}, [el('th', {}, both(r[0])),
                                         el('td', {}, r[1])]));
    });
    box.appendChild(detected);

    var check = report.check;
    if (check && (check.errors.length || check.advisories.length)) {
      // grids: the hierarchy check's problems (errors refuse the import)
      box.appendChild(el('h3', {}, both('import_check')));
      box.appendChild(el('ul', {className: 'import-check', id: 'import-check'},
        check.errors.concat(check.advisories).map(function (p) {
          return el('li', {className: 'check-' + p.kind}, p.message);
        })));
    }
    if (report.moved) {
      box.appendChild(el('p', {id: 'import-moved'}, zh('import_moved') + ' ' +
        Object.keys(report.moved).map(function (k) {
          return k + ' ' + report.moved[k];
        }).join('，')));
    }
    if (report.tracks) {
      box.appendChild(el('p', {id: 'import-track-days'}, zh('import_track_days') +
        ' ' + Object.keys(report.tracks.days).map(function (d) {
          return d + '（' + report.tracks.days[d] + '）';
        }).join('，')));
    }

    if (report.warnings && report.warnings.length) {
      box.appendChild(el('h3', {}, both('import_warnings')));
      box.appendChild(el('ul', {className: 'import-warnings', id: 'import-warnings'},
        report.warnings.map(function (w) { return el('li', {}, w); })));
    }

    var tables = $('import-tables');
    var rows = report.preview.rows || [];
    if (rows.length) {
      // the table's fields that come from a column of the file
      var fields = (cfg.fields[report.layer] || []).filter(function (f) {
        return report.columns && report.columns[f];
      });
      tables.appendChild(el('h3', {}, both('import_rows', {n: rows.length})));
      // grids: their parent and what the import does to them; points: their
      // micro-grid
      var grids = report.layer === 'grids';
      var head = [el('th', {}, both('import_row'))].concat(
        fields.map(function (f) { return el('th', {}, f); }),
        grids ? [el('th', {}, both('parent_grid')), el('th', {}, both('import_change'))]
              : [el('th', {}, both('import_grid'))]);
      var table = el('table', {className: 'import-table', id: 'import-rows'},
                     el('tr', {}, head));
      rows.forEach(function (row) {
        var tail = grids ?
          [el('td', {}, el('code', {}, cell(row.parent_code))),
           el('td', {}, S['import_change_' + row.change] ?
             both('import_change_' + row.change) : cell(row.change))] :
          [el('td', {}, el('code', {}, cell(row.grid_code)))];
        table.appendChild(el('tr', {data: {row: row.row}}, [
          el('td', {className: 'num'}, row.row)].concat(
          fields.map(function (f) { return el('td', {}, cell(row[f])); }), tail)));
      });
      tables.appendChild(el('div', {className: 'import-scroll'}, table));
    }

    if (report.rejected && report.rejected.length) {
      tables.appendChild(el('h3', {}, both('import_rejected_rows')));
      var values = report.rejected.some(function (r) {
        return r.value !== null && r.value !== undefined && r.value !== '';
      });
      var rej = el('table', {className: 'import-table', id: 'import-rejected'},
        el('tr', {}, [el('th', {}, both('import_row')),
                      el('th', {}, both('import_field')),
                      values ? el('th', {}, both('import_value')) : null,
                      el('th', {}, both('import_reason'))]));
      report.rejected.forEach(function (r) {
        rej.appendChild(el('tr', {data: {row: r.row}}, [
          el('td', {className: 'num'}, r.row), el('td', {}, cell(r.field)),
          values ? el('td', {}, cell(r.value)) : null,
          el('td', {}, cell(r.reason))]));
      });
      tables.appendChild(rej);
      if (c.rejected > report.rejected.length) {
        tables.appendChild(el('p', {className: 'import-note'},
          both('import_rejected_more', {n: report.rejected.length})));
      }
    }
  }

  // --- the recent imports ------------------------------------------------------------

  function loadList() {
    return fetch(API + '/imports?limit=20',
                 {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (res) { return res.ok ? res.json() : {items: []}; })
      .then(showList, function () { showList({items: []}); });
  }

  function showList(answer) {
    var table = $('import-list');
    clear(table);
    table.appendChild(el('tr', {}, [
      el('th', {}, both('time')), el('th', {}, both('user')),
      el('th', {}, both('import_file')), el('th', {}, both('import_layer')),
      el('th', {}, both('import_counts')), el('th', {}, '')]));
    if (!answer.items.length) {
      table.appendChild(el('tr', {}, el('td', {colSpan: 6}, both('import_none'))));
      return;
    }
    answer.items.forEach(function (item) {
      var c = item.counts || {};
      var layerKey = item.layer;
      table.appendChild(el('tr', {data: {id: item.id}}, [
        el('td', {className: 'nowrap'}, when(item.created_at)),
        el('td', {}, item.username),
        el('td', {}, ['#' + item.id + ' ', item.file_name]),
        el('td', {}, S[layerKey] ? zh(layerKey) : item.layer),
        el('td', {className: 'num'},
           [c.added, c.updated, c.unchanged, c.rejected].map(cell).join(' / ')),
        el('td', {}, c.rejected ? downloadLink(item.id) : '')]));
    });
  }

  // --- controls --------------------------------------------------------------------

  $('import-form').addEventListener('submit', function (e) {
    e.preventDefault();
    preview(false);
  });
  $('import-commit').addEventListener('click', commit);
  ['import-file', 'import-layer', 'import-crs', 'import-epsg', 'import-mapping',
   'import-staff']
    .forEach(function (id) {
      $(id).addEventListener(id === 'import-file' || id === 'import-layer' ||
                             id === 'import-crs' || id === 'import-staff' ?
                             'change' : 'input', function () {
        if (state.previewed && current().key !== state.previewed) {
          state.previewed = null;
          setMsg('info', both('import_stale'));
        }
        updateButtons();
      });
    });

  updateButtons();
  loadList().then(function () { setState('ready'); });
}());
