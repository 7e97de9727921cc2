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

  // A Leaflet map in ``element`` with the deployment's basemap (minimal stand-in:
  // the basemaps' work replaces it with the CRS handling of Chinese basemaps).
  function newMap(element, options, basemap) {
    var map = L.map(element, options);
    if (basemap && basemap.url) {
      L.tileLayer(basemap.url, {attribution: basemap.attribution || ' ', maxZoom: 19}).addTo(map);
    }
    return map;
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
          getJSON: getJSON, send: send, query: query, phone: phone, sheet: sheet,
          narrow: narrow, menus: menus, time: time, newMap: newMap};
})();
