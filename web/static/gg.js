/*
 * Helpers shared by gridgov's pages (the overview map, plan.js, import.js,
 * dispatch.js, tracks.js, rankings, admin.js): strings with placeholders, "中文
 * English" labels, times in the deployment's zone with its label, and building
 * DOM nodes without innerHTML (text is always inserted as text: nothing from the
 * server is parsed as markup), and JSON requests to the API.
 *
 * And the phone layout of every page (layouts start at 360 px and grow): the
 * header's menu button, side panels as bottom sheets, Leaflet's layer list
 * folded on a narrow screen, phone numbers as tel: links. No inline handlers (CSP):
 * the page's markup carries data-gg-* attributes and this script wires them.
 */
window.gg = (function () {
  'use strict';

  // "{n} 户" with {n: 3} → "3 户"; unknown placeholders stay as they are.
  function fmt(text, args) {
    return text.replace(/\{(\w+)\}/g, function (m, k) {
      return args && k in args ? String(args[k]) : m;
    });
  }

  function el(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (k) {
      if (k === 'data') {
        Object.keys(props.data).forEach(function (d) { node.dataset[d] = props.data[d]; });
      } else {
        node[k] = props[k];
      }
    });
    [].concat(children === undefined ? [] : children).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
    });
    return node;
  }

  // Content for Leaflet's bindTooltip, bindPopup, setContent and
  // setTooltipContent: Leaflet parses a string given to them as HTML, so a name
  // or a code goes to them only inside a node, as text.
  function text(value) { return el('span', {}, value); }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  // The page's table of strings, S[key] = [中文, English] (from web/i18n.py).
  function strings(S) {
    function zh(key, args) { return fmt(S[key][0], args); }
    // "中文 English": the English in a smaller grey span.
    function both(key, args, argsEn) {
      var span = document.createElement('span');
      span.appendChild(document.createTextNode(zh(key, args) + ' '));
      span.appendChild(el('span', {className: 'en'}, fmt(S[key][1], argsEn || args)));
      return span;
    }
    return {zh: zh, both: both};
  }

  // "a=1&b=x" of the parameters that have a value (null, undefined, '' left out).
  function query(params) {
    return Object.keys(params).filter(function (k) {
      return params[k] !== undefined && params[k] !== null && params[k] !== '';
    }).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(params[k]);
    }).join('&');
  }

  // A time as people read it, in the deployment's zone whatever the browser's:
  // "2026-12-07 19:30 北京时间" (geo/localtime.py shown(), whose offset and label
  // templates/base.html writes on <html>). opts.seconds: to the second;
  // opts.label false: without the label (a column whose header says the zone);
  // opts.lang 'en': "China time". '' for no time; text that is no time, as is.
  function time(iso, opts) {
    opts = opts || {};
    if (iso === null || iso === undefined || iso === '') { return ''; }
    var d = new Date(iso);
    if (isNaN(d.getTime())) { return String(iso); }
    var zone = document.documentElement.dataset;
    // a page that wrote no zone (none does today) shows the browser's
    var offset = zone.ggUtcOffset === undefined ? -d.getTimezoneOffset() :
      Number(zone.ggUtcOffset);
    var s = new Date(d.getTime() + offset * 60000).toISOString();
    var text = s.slice(0, 10) + ' ' + s.slice(11, opts.seconds ? 19 : 16);
    var label = opts.lang === 'en' ? zone.ggZoneEn : zone.ggZone;
    return opts.label === false || !label ? text : text + ' ' + label;
  }

  // GET JSON; rejects with {status, body} when the answer is not 2xx.
  function getJSON(url) {
    return fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
      .then(function (res) {
        return res.json().catch(function () { return null; }).then(function (body) {
          if (!res.ok) { throw {status: res.status, body: body}; }
          return body;
        });
      });
  }

  // POST / PUT JSON with the page's CSRF token; resolves with {ok, status, body},
  // a network failure as status 0.
  function send(method, url, body, csrf) {
    return fetch(url, {
      method: method, credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', Accept: 'application/json',
                'X-CSRFToken': csrf},
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (b) {
        return {ok: res.ok, status: res.status, body: b};
      });
    }, function (err) {
      return {ok: false, status: 0, body: {error: {message: String(err)}}};
    });
  }

  // The server's answer (or ours) in a page's message line ``said``, as text,
  // styled as an error or a notice, scrolled into view.
  function say(said, text, failed) {
    clear(said);
    said.appendChild(document.createTextNode(text));
    said.className = failed ? 'error' : 'notice';
    said.hidden = false;
    said.scrollIntoView({block: 'nearest'});
  }

  // --- phones -------------------------------------------------------------------

  // The width below which panels are bottom sheets and the header a menu: the
  // same figure as the style sheets' @media (min-width: 900px).
  var WIDE = '(min-width: 900px)';
  function narrow() { return !window.matchMedia(WIDE).matches; }

  // A phone number as a link that dials it (tel: and the digits only); a masked
  // number ("138****5678", a role without staff:contact) or no number as text.
  function phone(number) {
    var shown = number === null || number === undefined ? '' : String(number);
    var digits = shown.replace(/\D/g, '');
    if (!digits || /\*/.test(shown) || digits.length < 5) {
      return el('span', {className: 'gg-phone'}, shown || '—');
    }
    return el('a', {className: 'gg-phone', href: 'tel:' + digits}, shown);
  }

  // The header's menu button (base.html, web/maps.py's title bar): it shows and
  // hides the element its aria-controls names; Escape or a tap elsewhere closes.
  function menus(root) {
    [].forEach.call((root || document).querySelectorAll('[data-gg-menu]'), function (b) {
      if (b.dataset.ggWired) { return; }
      b.dataset.ggWired = '1';
      var nav = document.getElementById(b.getAttribute('aria-controls'));
      function set(open) {
        b.setAttribute('aria-expanded', open ? 'true' : 'false');
        nav.classList.toggle('gg-open', open);
      }
      b.addEventListener('click', function (e) {
        e.stopPropagation();
        set(b.getAttribute('aria-expanded') !== 'true');
      });
      document.addEventListener('click', function (e) {
        if (!nav.contains(e.target)) { set(false); }
      });
      document.addEventListener('keydown', function (e) {
        if (e.key === 'Escape') { set(false); }
      });
    });
  }

  // A side panel that is a bottom sheet on a narrow screen (the element with
  // data-gg-sheet="its label", wired when the page has loaded, or at once by the
  // page's script calling gg.sheet(panel)): a handle button put first in it folds
  // and unfolds it; the style sheets (fullwindow.css, overview.css) give .gg-sheet
  // its place. Folded when it starts, so that the map shows. Returns
  // {open(), close(), label(text)}; open() does nothing on a wide screen.
  function sheet(panel, label) {
    if (panel.ggSheet) { return panel.ggSheet; }
    panel.classList.add('gg-sheet');
    var handle = el('button', {type: 'button', className: 'gg-sheet-handle'});
    handle.setAttribute('aria-expanded', 'false');
    var name = el('span', {className: 'gg-sheet-label'},
                  label || panel.dataset.ggSheet || '');
    handle.appendChild(el('span', {className: 'gg-sheet-grip'}));
    handle.appendChild(name);
    panel.insertBefore(handle, panel.firstChild);
    function set(open) {
      panel.classList.toggle('gg-sheet-open', open);
      handle.setAttribute('aria-expanded', open ? 'true' : 'false');
      if (open) { panel.scrollTop = 0; }
    }
    handle.addEventListener('click', function () {
      set(!panel.classList.contains('gg-sheet-open'));
    });
    panel.ggSheet = {
      open: function () { if (narrow()) { set(true); } },
      close: function () { set(false); },
      label: function (t) {
        clear(name);
        name.appendChild(typeof t === 'object' ? t : document.createTextNode(t));
      }
    };
    return panel.ggSheet;
  }

  // Leaflet's layer lists that start unfolded (folium's collapsed=False) fold on a
  // narrow screen into their button; a tap on the button unfolds, one elsewhere
  // folds them again.
  function foldLayers() {
    if (!narrow()) { return; }
    [].forEach.call(document.querySelectorAll('.leaflet-control-layers-expanded'),
      function (box) {
        box.classList.remove('leaflet-control-layers-expanded');
        document.addEventListener('click', function (e) {
          if (!box.contains(e.target)) {
            box.classList.remove('leaflet-control-layers-expanded');
          }
        });
      });
  }

  // --- Leaflet -------------------------------------------------------------------

  // Every map of gridgov says "Leaflet" as plain text in its attribution: Leaflet
  // 1.9's prefix is a link out carrying a national flag icon, not for a
  // government deployment. Set on the class, before any map is made: gg.js runs
  // before leaflet.js on the pages of base.html (then the first assignment of
  // window.L sets it) and after it on folium's page and /m (then at once).
  var PREFIX = 'Leaflet';
  function plainPrefix(leaflet) {
    if (leaflet && leaflet.Control && leaflet.Control.Attribution) {
      leaflet.Control.Attribution.prototype.options.prefix = PREFIX;
    }
  }
  if (window.L) {
    plainPrefix(window.L);
  } else {
    var held;
    Object.defineProperty(window, 'L', {
      configurable: true, enumerable: true,
      get: function () { return held; },
      set: function (value) { held = value; plainPrefix(value); }
    });
  }

  // --- basemaps (web/basemap.py: cfg.basemap) ------------------------------------
  //
  // One way every map page makes its map: gg.newMap(element, leafletOptions,
  // cfg.basemap). The data is WGS-84 and stays so: with a GCJ-02 (高德, 腾讯) or
  // BD-09 (百度) basemap the map gets a CRS whose projection moves a WGS-84
  // position into the basemap's system before projecting it, and back when
  // unprojecting (gcoord: the same published formulas as geo/crs.py, its inverse
  // iterated to 1e-6°), so every marker, outline and popup placed in WGS-84 lands
  // on the basemap's streets and every click (e.latlng) comes back in WGS-84.

  function gcoordOf() {
    if (!window.gcoord) { throw new ReferenceError('gcoord'); }  // basemap_scripts()
    return window.gcoord;
  }

  // WGS-84 <-> the system 'gcj02' or 'bd09', as [lon, lat] arrays
  function shifter(crs) {
    var G = gcoordOf(), sys = crs === 'bd09' ? G.BD09 : G.GCJ02;
    return {
      to: function (lon, lat) { return G.transform([lon, lat], G.WGS84, sys); },
      from: function (lon, lat) { return G.transform([lon, lat], sys, G.WGS84); }
    };
  }

  // GCJ-02: web mercator of the shifted position, on the standard XYZ tile grid.
  function gcjCRS() {
    var SM = L.Projection.SphericalMercator, shift = shifter('gcj02');
    var projection = {
      R: SM.R, bounds: SM.bounds,
      project: function (ll) {
        var p = shift.to(ll.lng, ll.lat);
        return SM.project(L.latLng(p[1], p[0]));
      },
      unproject: function (point) {
        var ll = SM.unproject(point), w = shift.from(ll.lng, ll.lat);
        return L.latLng(w[1], w[0]);
      }
    };
    return L.Util.extend({}, L.CRS.EPSG3857, {code: 'GRIDGOV:GCJ02',
                                             projection: projection, ggShift: 'gcj02'});
  }

  // BD-09 on Baidu's own grid: Baidu's mercator (BD09MC, its published
  // polynomials, in gcoord) of the BD-09 position; 2^(18 - z) metres per pixel;
  // columns from the meridian eastwards, rows from the equator northwards (the
  // y axis points up: Leaflet's row r is Baidu's row -r - 1, BaiduTiles).
  function baiduCRS() {
    var G = gcoordOf();
    var projection = {
      bounds: L.bounds([-20037726.37, -12474104.17], [20037726.37, 12474104.17]),
      project: function (ll) {
        var p = G.transform([ll.lng, ll.lat], G.WGS84, G.BD09MC);
        return L.point(p[0], p[1]);
      },
      unproject: function (point) {
        var w = G.transform([point.x, point.y], G.BD09MC, G.WGS84);
        return L.latLng(w[1], w[0]);
      }
    };
    return L.Util.extend({}, L.CRS.Earth, {
      code: 'GRIDGOV:BD09', projection: projection, ggShift: 'bd09',
      transformation: new L.Transformation(1, 0, -1, 0),
      scale: function (zoom) { return Math.pow(2, zoom - 18); },
      zoom: function (scale) { return Math.log(scale) / Math.LN2 + 18; },
      wrapLng: undefined, infinite: true
    });
  }

  function baiduTiles(url, options) {
    var Tiles = L.TileLayer.extend({
      getTileUrl: function (c) {
        return L.TileLayer.prototype.getTileUrl.call(this, {x: c.x, y: -c.y - 1, z: c.z});
      }
    });
    return new Tiles(url, options);
  }

  // Leaflet reads an attribution as HTML: the configured text goes in as text.
  function plainText(value) {
    var box = document.createElement('span');
    box.textContent = value || '';
    return box.innerHTML || ' ';
  }

  // The offline basemap's vector tiles (gridgov demo: layers roads, water,
  // places; geo/demo/basemap.py), drawn in the page by protomaps-leaflet.
  function offlineVector(base, options) {
    var P = window.protomapsL;
    function is(kind) { return function (z, f) { return f.props.kind === kind; }; }
    function geom(type) { return function (z, f) { return f.geomType === type; }; }
    var font = 'sans-serif';  // the system's CJK fallback draws the names
    return P.leafletLayer(L.Util.extend({
      url: base.url, maxDataZoom: base.maxZoom, backgroundColor: '#f4f1ea',
      paintRules: [
        {dataLayer: 'water', filter: geom(3),
         symbolizer: new P.PolygonSymbolizer({fill: '#a9cbe8'})},
        {dataLayer: 'water', filter: geom(2),
         symbolizer: new P.LineSymbolizer({color: '#a9cbe8', width: 2})},
        {dataLayer: 'roads', filter: is('minor'),
         symbolizer: new P.LineSymbolizer({color: '#ffffff', width: 2.5})},
        {dataLayer: 'roads', filter: is('major'),
         symbolizer: new P.LineSymbolizer({color: '#f3c677', width: 5})}
      ],
      labelRules: [
        {dataLayer: 'places', filter: is('town'),
         symbolizer: new P.CenteredTextSymbolizer({
           font: '600 16px ' + font, fill: '#333', stroke: '#fff', width: 2})},
        {dataLayer: 'places', filter: is('village'),
         symbolizer: new P.CenteredTextSymbolizer({
           font: '13px ' + font, fill: '#444', stroke: '#fff', width: 2})},
        {dataLayer: 'roads', minzoom: 14,
         symbolizer: new P.LineLabelSymbolizer({
           font: '11px ' + font, fill: '#666', stroke: '#fff', width: 2})},
        {dataLayer: 'water', minzoom: 13,
         symbolizer: new P.CenteredTextSymbolizer({
           font: 'italic 11px ' + font, fill: '#3f6e9c', stroke: '#fff', width: 2})}
      ]
    }, options));
  }

  // The basemap's layers for the map (none for 'none').
  function basemapLayers(base, maxZoom) {
    if (!base || !base.url) { return []; }
    var options = {attribution: plainText(base.attribution), minZoom: 0,
                   maxNativeZoom: base.maxZoom, maxZoom: maxZoom};
    if (base.subdomains) { options.subdomains = base.subdomains; }
    if (base.kind === 'vector') {
      delete options.maxNativeZoom;  // drawn from the data zoom, crisp at any zoom
      return [offlineVector(base, options)];
    }
    var make = base.crs === 'bd09' ? baiduTiles : L.tileLayer;
    var layers = [make(base.url, options)];
    if (base.labels) { layers.push(make(base.labels, L.Util.extend({}, options,
                                                                   {attribution: ''}))); }
    return layers;
  }

  // The map of a page: its CRS from the basemap's system, the basemap added under
  // everything else. options: Leaflet's map options (maxZoom default 19).
  function newMap(element, options, base) {
    options = L.Util.extend({maxZoom: 19}, options || {});
    var crs = base && base.url ? base.crs : 'wgs84';
    if (crs === 'gcj02') { options.crs = gcjCRS(); }
    if (crs === 'bd09') { options.crs = baiduCRS(); }
    var map = L.map(element, options);
    map.ggBasemap = base || {crs: 'wgs84'};
    basemapLayers(base, options.maxZoom).forEach(function (layer) { layer.addTo(map); });
    return map;
  }

  // The system positions are typed in by default on this map's page: the
  // basemap's (people read coordinates off the map they see), else WGS-84.
  function mapCrs(map) {
    return (map && map.options.crs && map.options.crs.ggShift) || 'wgs84';
  }

  // A typed position [lon, lat] in 'wgs84' | 'cgcs2000' | 'gcj02' | 'bd09' as
  // WGS-84 (CGCS2000 is WGS-84 within centimetres).
  function toWgs84(lon, lat, crs) {
    if (crs !== 'gcj02' && crs !== 'bd09') { return [lon, lat]; }
    return shifter(crs).from(lon, lat);
  }

  // A vector-tile URL template (/tiles/...) for this map: on a GCJ-02 map the
  // server shifts the tiles' geometry (shift=gcj02, layers/tiles.py) so that
  // they sit on the basemap as the page's other overlays do. Baidu's tile grid is
  // not the XYZ grid of /tiles: there the tiles are asked as they are and redrawn
  // on Baidu's grid (vectorTiles).
  function tileUrl(map, url) {
    var shift = mapCrs(map);
    if (shift === 'wgs84' || shift === 'bd09') { return url; }
    return url + (url.indexOf('?') < 0 ? '?' : '&') + 'shift=' + shift;
  }

  // --- vector tiles (/tiles, Leaflet.VectorGrid) on any basemap's grid -----------
  //
  // gg.vectorTiles(map, url, options): L.vectorGrid.protobuf on the XYZ grid
  // (WGS-84, or GCJ-02 with the tiles shifted by the server). On Baidu's own grid
  // (BD09MC, tiles counted from the equator, 2^(18 - z) metres a pixel) an XYZ
  // tile covers no Baidu tile, so each Baidu tile is drawn from the XYZ tiles
  // that cover it, one zoom below (web mercator's z - 1 is 1.19 times Baidu's z
  // in metres a pixel at any latitude: a Baidu tile needs one to four of them):
  // each vertex goes from its XYZ tile's pixel to WGS-84 (web mercator inverted)
  // and through the map's own projection (WGS-84 -> BD-09 -> BD09MC, gcoord) to
  // the Baidu tile's pixel. A polygon is cut to its XYZ tile first (no buffer),
  // so that the pieces of a grid from two XYZ tiles meet edge to edge, and drawn
  // as its fill plus its outline without the cut edges. Why not GeoJSON overlays
  // instead: a city's 20,000 micro-grids are over the ~5,000 features a page may
  // hold, and the tiles keep every request bounded, cached and scoped as on the
  // other basemaps.
  var EXTENT = 4096;

  function xyzPoint(ll, z) {  // WGS-84 -> global XYZ tile coordinates at zoom z
    var n = Math.pow(2, z), s = Math.sin(ll.lat * Math.PI / 180);
    return L.point((ll.lng + 180) / 360 * n,
                   (0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * n);
  }

  function xyzLatLng(x, y, z) {  // global XYZ tile coordinates -> WGS-84
    var n = Math.pow(2, z);
    return L.latLng(Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI,
                    x / n * 360 - 180);
  }

  // a ring cut to the square [0, e]² (Sutherland-Hodgman, one side at a time)
  function cutRing(ring, e) {
    [['x', 0, 1], ['x', e, -1], ['y', 0, 1], ['y', e, -1]].forEach(function (side) {
      var k = side[0], v = side[1], s = side[2], o = k === 'x' ? 'y' : 'x', out = [];
      function inside(p) { return s * (p[k] - v) >= 0; }
      function cross(a, b) {
        var q = {}, t = (v - a[k]) / (b[k] - a[k]);
        q[k] = v;
        q[o] = a[o] + t * (b[o] - a[o]);
        return q;
      }
      for (var i = 0; i < ring.length; i++) {
        var a = ring[i], b = ring[(i + 1) % ring.length];
        if (inside(a)) {
          out.push(a);
          if (!inside(b)) { out.push(cross(a, b)); }
        } else if (inside(b)) {
          out.push(cross(a, b));
        }
      }
      ring = out;
    });
    return ring;
  }

  // the outline of a cut ring as lines, without the edges along the square's sides
  function outline(ring, e) {
    var lines = [], line = [];
    function along(a, b) {
      return (a.x === b.x && (a.x === 0 || a.x === e)) ||
             (a.y === b.y && (a.y === 0 || a.y === e));
    }
    for (var i = 0; i < ring.length; i++) {
      var a = ring[i], b = ring[(i + 1) % ring.length];
      if (along(a, b)) {
        if (line.length > 1) { lines.push(line); }
        line = [];
        continue;
      }
      if (!line.length) { line.push(a); }
      line.push(b);
    }
    if (line.length > 1) { lines.push(line); }
    return lines;
  }

  // the style of a polygon's two parts: its fill without stroke, its outline
  // without fill (properties._gg, set below)
  function partStyle(style) {
    if (typeof style !== 'function') {
      var fixed = style;
      style = function () { return fixed; };
    }
    return function (p, z) {
      var found = style(p, z);
      if (!p || !p._gg) { return found; }
      return [].concat(found).map(function (o) {
        return L.Util.extend({}, o, p._gg === 'fill' ? {stroke: false} : {fill: false});
      });
    };
  }

  function baiduVectorTiles(map, url, options) {
    var styles = {};
    Object.keys(options.vectorTileLayerStyles || {}).forEach(function (name) {
      styles[name] = partStyle(options.vectorTileLayerStyles[name]);
    });
    var fetchXyz = L.VectorGrid.Protobuf.prototype._getVectorTilePromise;
    var Grid = L.VectorGrid.Protobuf.extend({
      _getVectorTilePromise: function (coords) {
        var self = this, size = this.getTileSize(), z = Math.max(0, coords.z - 1);
        var nw = coords.scaleBy(size), corners = [nw, nw.add(size),
          nw.add(L.point(size.x, 0)), nw.add(L.point(0, size.y))];
        var xyz = corners.map(function (p) { return xyzPoint(map.unproject(p, coords.z), z); });
        var xs = xyz.map(function (p) { return p.x; }), ys = xyz.map(function (p) { return p.y; });
        var asked = [], top = Math.pow(2, z) - 1;
        for (var tx = Math.max(0, Math.floor(Math.min.apply(null, xs)));
             tx <= Math.min(top, Math.floor(Math.max.apply(null, xs))); tx++) {
          for (var ty = Math.max(0, Math.floor(Math.min.apply(null, ys)));
               ty <= Math.min(top, Math.floor(Math.max.apply(null, ys))); ty++) {
            asked.push({x: tx, y: ty, z: z});
          }
        }
        var scale = EXTENT / size.x;
        return Promise.all(asked.map(function (c) {
          return fetchXyz.call(self, c).then(function (tile) {
            return {at: c, tile: tile};
          });
        })).then(function (found) {
          var out = {layers: {}};
          found.forEach(function (item) {
            var c = item.at;
            Object.keys(item.tile.layers || {}).forEach(function (name) {
              var layer = item.tile.layers[name], e = layer.extent || EXTENT;
              var into = out.layers[name] || (out.layers[name] = {extent: EXTENT,
                                                                  features: []});
              function place(p) {  // XYZ tile pixel -> this Baidu tile's pixel
                var px = map.project(xyzLatLng(c.x + p.x / e, c.y + p.y / e, c.z),
                                     coords.z);
                return L.point((px.x - nw.x) * scale, (px.y - nw.y) * scale);
              }
              (layer.features || []).forEach(function (f) {
                var rings = f.geometry || [];
                if (f.type === 1) {  // points: each in the tile that holds it
                  var pts = [];
                  rings.forEach(function (r) {
                    r.forEach(function (p) {
                      if (p.x >= 0 && p.x < e && p.y >= 0 && p.y < e) { pts.push(place(p)); }
                    });
                  });
                  if (pts.length) {
                    into.features.push({type: 1, properties: f.properties,
                                        geometry: [pts]});
                  }
                } else if (f.type === 2) {
                  into.features.push({type: 2, properties: f.properties,
                                      geometry: rings.map(function (r) { return r.map(place); })});
                } else if (f.type === 3) {
                  var cut = rings.map(function (r) { return cutRing(r, e); })
                    .filter(function (r) { return r.length > 2; });
                  if (!cut.length) { return; }
                  var lines = [];
                  cut.forEach(function (r) { lines = lines.concat(outline(r, e)); });
                  into.features.push({type: 3, geometry: cut.map(function (r) {
                    return r.map(place);
                  }), properties: L.Util.extend({}, f.properties, {_gg: 'fill'})});
                  if (lines.length) {
                    into.features.push({type: 2, geometry: lines.map(function (r) {
                      return r.map(place);
                    }), properties: L.Util.extend({}, f.properties, {_gg: 'line'})});
                  }
                }
              });
            });
          });
          return out;
        });
      }
    });
    return new Grid(url, L.Util.extend({}, options, {vectorTileLayerStyles: styles}));
  }

  function vectorTiles(map, url, options) {
    if (mapCrs(map) === 'bd09') { return baiduVectorTiles(map, url, options || {}); }
    return L.vectorGrid.protobuf(tileUrl(map, url), options);
  }

  function wire() {
    menus();
    foldLayers();
    [].forEach.call(document.querySelectorAll('[data-gg-sheet]'), function (p) {
      sheet(p);
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', wire);
  } else {
    wire();
  }

  return {fmt: fmt, el: el, text: text, clear: clear, strings: strings,
          getJSON: getJSON, send: send, say: say, query: query, phone: phone, sheet: sheet,
          narrow: narrow, menus: menus, time: time, newMap: newMap, mapCrs: mapCrs,
          toWgs84: toWgs84, tileUrl: tileUrl, vectorTiles: vectorTiles};
})();
