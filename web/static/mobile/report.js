/*
 * 上报: category and subtype (the dispatch page's vocabulary), a short text, up to
 * three photos resized on the phone, the GPS position with its accuracy (a pin to
 * drag on a small map when it is worse than 30 m) and the time; before sending, the
 * micro-grid and the likely duplicates (POST /incidents/preview), with the choice
 * to add the report to one of them (link_to). Sent through the queue.
 */
(function (M) {
  'use strict';

  var $ = M.$;
  var PIN_M = 30;
  var cats = M.cfg.vocab.categories;
  var R = {pos: null, watch: null, map: null, marker: null, circle: null, grids: null,
           at: null, body: null};
  M.report = R;
  var picker;

  function fillCategories() {
    var sel = $('m-category');
    Object.keys(cats).forEach(function (code) {
      sel.appendChild(M.option(code, cats[code].label.join(' ')));
    });
    sel.addEventListener('change', fillSubtypes);
    fillSubtypes();
  }

  function fillSubtypes() {
    var sel = $('m-subtype');
    M.clear(sel);
    var subs = cats[$('m-category').value].subtypes;
    Object.keys(subs).forEach(function (code) {
      sel.appendChild(M.option(code, subs[code].join(' ')));
    });
  }

  // Watch the position until it is good (≤ 10 m) or the pin was moved by hand;
  // keep the best fix.
  function locate() {
    if (!navigator.geolocation) { return showPos('m_no_gps', {msg: '—'}); }
    stopLocating();
    R.pinned = false;
    R.pos = null;
    $('m-report-pos').textContent = M.zh('m_locating');
    R.watch = navigator.geolocation.watchPosition(function (p) {
      var c = p.coords;
      if (R.pinned) { return; }
      if (!R.pos || c.accuracy <= R.pos.accuracy || Date.now() - R.pos.at > 60000) {
        R.pos = {lon: c.longitude, lat: c.latitude, accuracy: c.accuracy,
                 at: p.timestamp || Date.now()};
        R.at = R.at || new Date();
        showPos();
      }
      if (c.accuracy <= 10) { stopLocating(); }
    }, function (e) {
      if (!R.pos) { showPos('m_no_gps', {msg: e.message || e.code}); }
    }, {enableHighAccuracy: true, maximumAge: 10000, timeout: 30000});
  }

  function stopLocating() {
    if (R.watch !== null && navigator.geolocation) {
      navigator.geolocation.clearWatch(R.watch);
    }
    R.watch = null;
  }

  function showPos(errorKey, args) {
    var box = $('m-report-pos');
    M.clear(box);
    if (errorKey) { box.appendChild(M.both(errorKey, args)); return; }
    var p = R.pos;
    var grid = M.gridAt(p.lon, p.lat);
    box.appendChild(document.createTextNode(
      p.lon.toFixed(6) + ', ' + p.lat.toFixed(6) + ' '));
    box.appendChild(M.el('span', {className: p.accuracy > PIN_M ? 'm-bad' : 'm-good'},
      R.pinned ? M.zh('m_pin_moved') : M.zh('m_accuracy', {m: Math.round(p.accuracy)})));
    if (grid) {
      box.appendChild(M.el('span', {className: 'm-grid'}, ' · ' + grid.name));
    }
    $('m-report-time').textContent = M.time((R.at || new Date()).toISOString());
    var needPin = p.accuracy > PIN_M || R.pinned;
    $('m-pin-hint').hidden = !needPin;
    $('m-report-map').hidden = !needPin;
    if (needPin) { showMap(); }
  }

  function showMap() {
    var p = R.pos;
    if (!R.map) {
      R.map = gg.newMap('m-report-map', {attributionControl: false, zoomControl: true},
                        M.cfg.basemap);
      R.marker = L.marker([p.lat, p.lon], {
        draggable: true, autoPan: true,
        icon: L.divIcon({className: 'm-pin', iconSize: [28, 28], iconAnchor: [14, 14]})
      }).addTo(R.map);
      R.marker.on('dragend', function () {
        var ll = R.marker.getLatLng();
        R.pinned = true;
        stopLocating();
        R.pos = {lon: ll.lng, lat: ll.lat, accuracy: R.pos.accuracy, at: Date.now()};
        R.map.panTo(ll);
        showPos();
      });
      R.circle = L.circle([p.lat, p.lon], {radius: p.accuracy, className: 'm-acc',
                                           interactive: false}).addTo(R.map);
      R.map.setView([p.lat, p.lon], 17);
    }
    if (M.data.grids && R.grids !== M.data.grids) {
      if (R.gridLayer) { R.map.removeLayer(R.gridLayer); }
      R.gridLayer = L.geoJSON(M.data.grids, {interactive: false,
                                            className: 'm-gridline'}).addTo(R.map);
      R.grids = M.data.grids;
    }
    if (!R.pinned) {
      R.marker.setLatLng([p.lat, p.lon]);
      R.circle.setLatLng([p.lat, p.lon]).setRadius(p.accuracy);
    }
    R.map.invalidateSize();
  }

  function body() {
    var p = R.pos;
    var b = {category: $('m-category').value, subtype: $('m-subtype').value || null,
             description: $('m-description').value.trim(), source: 'grid_worker',
             lon: +p.lon.toFixed(7), lat: +p.lat.toFixed(7),
             reported_at: (R.at || new Date()).toISOString()};
    if (!R.pinned && p.accuracy) { b.accuracy_m = Math.round(p.accuracy * 10) / 10; }
    // whom it concerns: a household of the worker's list (its address picked),
    // else the address as typed; the parties one per line
    var where = $('m-concern').value.trim();
    var home = where && households().filter(function (h) {
      return h.address === where;
    });
    if (home && home.length === 1) { b.household_id = home[0].id; } else if (where) {
      b.address = where;
    }
    var names = $('m-parties').value.split('\n').map(function (n) {
      return n.trim();
    }).filter(function (n) { return n; });
    if (names.length) { b.parties = names; }
    return b;
  }

  function households() {
    return (M.data.households && M.data.households.items) || [];
  }

  // the worker's households' addresses to pick from (filled when asked)
  $('m-concern').addEventListener('focus', function () {
    var list = $('m-concern-list');
    if (list.childNodes.length) { return; }
    households().forEach(function (h) {
      if (h.address) { list.appendChild(M.el('option', {value: h.address})); }
    });
  });

  function check(e) {
    e.preventDefault();
    if (!$('m-description').value.trim()) {
      $('m-description').focus();
      return M.msg('m_need_text', null, 'warn');
    }
    if (!R.pos) { return M.msg('m_need_position', null, 'warn'); }
    R.body = body();
    $('m-check').disabled = true;
    M.sync.request('POST', '/incidents/preview', R.body).then(function (res) {
      $('m-check').disabled = false;
      if (res.ok) { return preview(res.body); }
      if (res.status === 0) { return preview(null); }
      if (res.status !== 401) {
        M.msg('m_error', {msg: M.sync.errorText(res)}, 'err');
      }
    });
  }

  // The check before sending: online, the server's answer; offline, the phone's.
  function preview(answer) {
    var box = $('m-preview');
    M.clear(box);
    M.hideMsg();
    var grid = answer ? answer.grid_code : (M.gridAt(R.body.lon, R.body.lat) || {}).code;
    var cat = cats[R.body.category];
    var sub = R.body.subtype && cat.subtypes[R.body.subtype];
    box.appendChild(M.el('div', {className: 'm-card'}, [
      M.el('strong', {}, cat.label[0] + (sub ? ' · ' + sub[0] : '')),
      M.el('p', {className: 'm-desc'}, R.body.description),
      M.el('div', {className: 'm-photos'}, picker.photos.map(function (p) {
        return M.el('img', {className: 'm-thumb', src: p.thumb, alt: ''});
      }))]));
    if (grid) {
      box.appendChild(M.el('p', {className: 'm-goes', id: 'm-goes'},
        M.both(answer ? 'm_goes_to' : 'm_goes_to_local', {grid: M.gridName(grid)})));
    } else {
      box.appendChild(M.el('p', {className: 'm-warn'}, M.both('m_outside')));
    }
    if (!answer) {
      box.appendChild(M.el('p', {className: 'm-warn'}, M.both('m_preview_offline')));
    } else {
      var dups = answer.duplicates || [];
      box.appendChild(M.el('h2', {}, M.both(dups.length ? 'm_duplicates' :
                                            'm_no_duplicates')));
      var ul = M.el('ul', {className: 'm-list', id: 'm-dups'});
      dups.forEach(function (d) { ul.appendChild(duplicate(d)); });
      box.appendChild(ul);
    }
    var send = M.el('button', {type: 'button', className: 'm-primary', id: 'm-send'},
                    M.both('m_send'));
    send.addEventListener('click', function () { queue(null); });
    var back = M.el('button', {type: 'button', className: 'm-secondary', id: 'm-back'},
                    M.both('m_back'));
    back.addEventListener('click', function () { showForm(true); });
    box.appendChild(send);
    box.appendChild(back);
    $('m-report').hidden = true;
    box.hidden = false;
    window.scrollTo(0, 0);
  }

  function duplicate(d) {
    var li = M.el('li', {className: 'm-card', data: {code: d.code}}, [
      M.el('div', {className: 'm-row'}, [
        M.el('strong', {}, d.code),
        M.el('span', {className: 'm-hint'}, M.zh('m_distance', {m: Math.round(
          d.distance_m || 0)}))]),
      M.el('p', {className: 'm-desc'}, d.description || ''),
      M.el('p', {className: 'm-hint'}, M.time(d.created_at))]);
    var photo = d.photo_url || (d.photos && d.photos[0] && d.photos[0].url);
    if (photo) { li.appendChild(M.tokenImage(photo)); }
    var link = M.el('button', {type: 'button', className: 'm-secondary m-link-to'},
                    M.both('m_link'));
    link.addEventListener('click', function () { queue(d.code); });
    li.appendChild(link);
    return li;
  }

  // The report (and its photos after it) into the queue; sent at once if it can.
  function queue(linkTo) {
    var b = R.body;
    if (linkTo) { b.link_to = linkTo; }
    var label = cats[b.category].label[0];
    var items = [{kind: 'report', method: 'POST', path: '/incidents', body: b,
                  code: linkTo || null,
                  summary: label + '：' + b.description.slice(0, 40)}]
      .concat(M.photoItems(picker.photos, null, 0));
    var sent = M.sync.add(items);
    showForm(false);
    M.msg('m_queued');
    sent.then(function (made) {
      return M.store.queue().then(function (all) {
        var it = all.filter(function (x) { return x.id === made[0].id; })[0];
        if (it && it.state === 'sent') {
          M.msg(linkTo ? 'm_linked' : 'm_reported', {code: it.result.code});
        }
      });
    });
  }

  function showForm(keep) {
    $('m-preview').hidden = true;
    $('m-report').hidden = false;
    if (!keep) {
      $('m-description').value = '';
      $('m-concern').value = '';
      $('m-parties').value = '';
      picker.reset();
      R.at = null;
      R.body = null;
      locate();
    }
  }

  M.hooks.reportShown = function () {
    if (!R.pos && R.watch === null) { locate(); }
    if (R.map) { setTimeout(function () { R.map.invalidateSize(); }, 0); }
  };
  M.hooks.reportStop = stopLocating;
  // the worker's grids arrived (or changed): the grid under the point, the map
  M.hooks.gridsChanged = function () { if (R.pos) { showPos(); } };

  fillCategories();
  picker = M.photoPicker($('m-report-file'), $('m-report-photos'));
  $('m-report').addEventListener('submit', check);
  $('m-relocate').addEventListener('click', function () { R.at = null; locate(); });
}(window.ggM));
