/*
 * The phone page's shared context (window.ggM): its configuration and strings,
 * messages, times, distances, photos resized on the phone, and the point-in-grid
 * test on the phone's copy of the worker's grids. Text from the server is always
 * put in as text (gg.el / textContent), never parsed as markup.
 */
window.ggM = (function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('m-config').textContent);
  var tr = gg.strings(cfg.strings);
  var M = {cfg: cfg, zh: tr.zh, both: tr.both, el: gg.el, clear: gg.clear,
           store: window.ggStore, sync: window.ggSync,
           me: null, data: {tasks: null, households: null, grids: null},
           hooks: {}};

  M.$ = function (id) { return document.getElementById(id); };

  // "中文 English" as one string (option labels, confirm boxes)
  M.text = function (key, args) {
    return tr.zh(key, args) + ' ' + gg.fmt(cfg.strings[key][1], args || {});
  };

  var msgTimer = null;
  // A message at the top: kind ok (fades), warn or err (stays until the next).
  M.msg = function (key, args, kind) {
    var box = M.$('m-msg');
    M.clear(box);
    box.className = 'm-msg ' + (kind || 'ok');
    box.appendChild(typeof key === 'string' ? tr.both(key, args) : key);
    box.hidden = false;
    clearTimeout(msgTimer);
    if ((kind || 'ok') === 'ok') {
      msgTimer = setTimeout(function () { box.hidden = true; }, 6000);
    }
  };
  M.hideMsg = function () { M.$('m-msg').hidden = true; };

  function pad(n) { return (n < 10 ? '0' : '') + n; }
  // "12-07 14:05 北京时间" in the deployment's time zone (whatever the phone's),
  // labelled with its name (geo/workdays.py ZONE_NAME); with the year when not
  // this year. M.day: the date alone.
  function local(d) { return new Date(d.getTime() + cfg.utc_offset_min * 60000); }
  function parts(iso) {
    var d = new Date(iso);
    if (isNaN(d)) { return null; }
    d = local(d);
    var day = pad(d.getUTCMonth() + 1) + '-' + pad(d.getUTCDate());
    if (d.getUTCFullYear() !== local(new Date()).getUTCFullYear()) {
      day = d.getUTCFullYear() + '-' + day;
    }
    return {day: day, hm: pad(d.getUTCHours()) + ':' + pad(d.getUTCMinutes())};
  }
  M.time = function (iso) {
    if (!iso) { return ''; }
    var p = parts(iso);
    return p ? p.day + ' ' + p.hm + ' ' + cfg.zone_name[0] : String(iso);
  };
  M.day = function (iso) {
    if (!iso) { return ''; }
    var p = parts(iso);
    return p ? p.day : String(iso);
  };

  // Great-circle metres between two lon/lat points.
  M.distance = function (lon1, lat1, lon2, lat2) {
    var r = Math.PI / 180;
    var a = Math.pow(Math.sin((lat2 - lat1) * r / 2), 2) + Math.cos(lat1 * r) *
      Math.cos(lat2 * r) * Math.pow(Math.sin((lon2 - lon1) * r / 2), 2);
    return 6371008.8 * 2 * Math.asin(Math.sqrt(a));
  };

  function inRing(ring, x, y) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) {
        inside = !inside;
      }
    }
    return inside;
  }
  function inPolygon(rings, x, y) {
    if (!inRing(rings[0], x, y)) { return false; }
    for (var k = 1; k < rings.length; k++) { if (inRing(rings[k], x, y)) { return false; } }
    return true;
  }
  // The worker's micro-grid holding (lon, lat), from the phone's copy: {code, name}.
  M.gridAt = function (lon, lat) {
    var grids = M.data.grids;
    var hit = null;
    ((grids && grids.features) || []).some(function (f) {
      var g = f.geometry;
      if (!g) { return false; }
      var polys = g.type === 'Polygon' ? [g.coordinates] :
        g.type === 'MultiPolygon' ? g.coordinates : [];
      if (polys.some(function (p) { return inPolygon(p, lon, lat); })) {
        hit = f.properties;
        return true;
      }
      return false;
    });
    return hit;
  };
  M.gridName = function (code) {
    var g = ((M.me && M.me.grids) || []).filter(function (x) { return x.code === code; })[0];
    return g ? g.name + '（' + code + '）' : code;
  };

  function loadImage(file) {
    function viaElement() {
      return new Promise(function (resolve, reject) {
        var reader = new FileReader();
        reader.onload = function () {
          var img = new Image();
          img.onload = function () { resolve(img); };
          img.onerror = reject;
          img.src = reader.result;  // a data: URL (the page allows no blob: images)
        };
        reader.onerror = reject;
        reader.readAsDataURL(file);
      });
    }
    if (window.createImageBitmap) {
      return createImageBitmap(file, {imageOrientation: 'from-image'})
        .catch(viaElement);
    }
    return viaElement();
  }
  function scaled(img, max) {
    var k = Math.min(1, max / Math.max(img.width, img.height));
    var c = document.createElement('canvas');
    c.width = Math.max(1, Math.round(img.width * k));
    c.height = Math.max(1, Math.round(img.height * k));
    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
    return c;
  }
  // A photo as the server gets it: at most 1,600 px, re-encoded as JPEG (which
  // leaves the camera's EXIF, GPS included, behind); with a small preview.
  M.resize = function (file) {
    return loadImage(file).then(function (img) {
      var big = scaled(img, 1600);
      var thumb = scaled(big, 200).toDataURL('image/jpeg', 0.7);
      return new Promise(function (resolve, reject) {
        big.toBlob(function (blob) {
          return blob ? resolve({blob: blob, thumb: thumb, width: big.width,
                                 height: big.height}) : reject(new Error('toBlob'));
        }, 'image/jpeg', 0.85);
      });
    });
  };

  // A picker of up to three photos: input → resized list shown as thumbnails.
  M.photoPicker = function (input, list) {
    var photos = [];
    function render() {
      M.clear(list);
      photos.forEach(function (p, i) {
        var rm = M.el('button', {type: 'button', className: 'm-photo-rm',
                                 title: M.text('m_remove')}, '×');
        rm.addEventListener('click', function () { photos.splice(i, 1); render(); });
        list.appendChild(M.el('span', {className: 'm-photo'},
                              [M.el('img', {src: p.thumb, alt: ''}), rm]));
      });
      input.disabled = photos.length >= 3;
      input.parentNode.classList.toggle('m-disabled', photos.length >= 3);
    }
    input.addEventListener('change', function () {
      var files = Array.prototype.slice.call(input.files || [], 0, 3 - photos.length);
      input.value = '';
      files.reduce(function (p, f) {
        return p.then(function () { return M.resize(f); }).then(function (r) {
          photos.push(r);
          render();
        }, function () { M.msg('m_photo_failed', null, 'warn'); });
      }, Promise.resolve());
    });
    render();
    return {photos: photos, reset: function () { photos.length = 0; render(); }};
  };

  // Queue the photos of an incident: after `parent` (a queued report) when its
  // code is not known yet, else straight to the code.
  M.photoItems = function (photos, code, parent) {
    return photos.map(function (p, i) {
      return {kind: 'photo', method: 'POST', photo: p.blob,
              parent: parent === undefined ? null : parent,
              path: '/incidents/' + (code ? encodeURIComponent(code) : '{code}') +
                    '/photos',
              summary: (code || '') + ' #' + (i + 1), thumb: p.thumb};
    });
  };

  // A photo the API serves (it needs the token: no plain <img src>), shown as a
  // data: URL; kept in the data cache (wiped at logout) for offline use.
  M.tokenImage = function (url) {
    var img = M.el('img', {className: 'm-thumb', alt: ''});
    if (typeof url !== 'string' || url.charAt(0) !== '/' || url.charAt(1) === '/') {
      return img;
    }
    var headers = {Authorization: 'Bearer ' + M.sync.state.token};
    var cached = window.caches ? caches.open(M.store.DATA_CACHE) : null;
    fetch(url, {headers: headers, credentials: 'omit'}).then(function (res) {
      if (!res.ok) { throw res; }
      if (cached) {
        var copy = res.clone();
        cached.then(function (c) { return c.put(url, copy); });
      }
      return res;
    }).catch(function () {
      return cached ? cached.then(function (c) { return c.match(url); }) : null;
    }).then(function (res) {
      return res ? res.blob() : null;
    }).then(function (blob) {
      if (!blob) { return; }
      var reader = new FileReader();
      reader.onload = function () { img.src = reader.result; };
      reader.readAsDataURL(blob);
    }).catch(function () {});
    return img;
  };

  M.option = function (value, label) {
    return M.el('option', {value: value}, label);
  };

  return M;
}());
