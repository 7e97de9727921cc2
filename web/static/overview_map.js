/*
 * The overview map / (web/views.py, templates/overview.html): the four grid
 * levels, the households' positions, the cameras, the layers too large for the
 * page as vector tiles, a click that locates the spot, and the button that saves
 * the view as one standalone HTML file (GET /api/v1/maps/overview.html, drawn
 * by folium: web/maps.py). static/overview.js adds the leaders' layers.
 *
 * Everything comes in the page's config (#overview-config); nothing stored (a
 * grid's or a camera's name) goes in as markup: tooltips and popups are DOM
 * nodes with text (gg.el, gg.text). No inline script or handler (the CSP).
 *
 * window.ggLeaflet = {map, control, layers}: the map, its layer list, and the
 * overlays by the key the export takes in ``layers`` (overview.js adds its own).
 */
(function () {
  'use strict';

  var cfg = JSON.parse(document.getElementById('overview-config').textContent);
  var el = gg.el, text = gg.text;
  var S = cfg.strings;
  function zh(key) { return S[key][0]; }

  // no tile layer gives Leaflet no maxZoom, which the clusters need: set it
  var map = gg.newMap(document.getElementById('overview-map'),
                      {preferCanvas: true, maxZoom: 19, zoomControl: true},
                      cfg.basemap);
  L.control.scale().addTo(map);
  var control = L.control.layers(null, null, {
    // the leaders' list folded into its button: unfolded, it hid the side
    // panel's last rows
    collapsed: !!cfg.leaders, position: cfg.leaders ? 'bottomright' : 'topright'
  });
  var layers = {};
  window.ggLeaflet = {map: map, control: control, layers: layers};

  function overlay(key, layer, name, on) {
    if (on) { layer.addTo(map); }
    control.addOverlay(layer, name);
    if (key) { layers[key] = layer; }
    return layer;
  }

  // Outlines of levels 1–3 are drawn above the micro-grids, in panes that let
  // the mouse through: hovering always names the micro-grid, the town line stays
  // on top.
  [1, 2, 3].forEach(function (level) {
    var pane = map.createPane('grid-level-' + level);
    pane.style.zIndex = 420 - 5 * level;
    pane.style.pointerEvents = 'none';
  });

  // A feature's tooltip, built when shown: one (label, value) row per
  // [property, label] of ``rows``, or the bare value of a single unlabelled row;
  // every value goes in as text.
  function tooltip(rows, sticky) {
    return function (feature, layer) {
      var p = feature.properties;
      function value(key) { return p[key] == null ? '' : String(p[key]); }
      layer.bindTooltip(function () {
        if (rows.length === 1 && !rows[0][1]) { return text(value(rows[0][0])); }
        return el('table', {className: 'gg-tip'}, rows.map(function (r) {
          return el('tr', {}, [el('th', {}, r[1]), el('td', {}, value(r[0]))]);
        }));
      }, {sticky: sticky});
    };
  }

  cfg.levels.forEach(function (lv) {
    if (!lv.data) { return; }
    var group = L.featureGroup();
    if (lv.data.features.length) {
      var options = {style: lv.style, smoothFactor: 0.5};
      if (lv.level < 4) {
        options.pane = 'grid-level-' + lv.level;
        options.interactive = false;
      } else {
        // clicks fall through to the map, which locates the spot
        options.bubblingMouseEvents = true;
        options.onEachFeature = function (feature, layer) {
          tooltip(cfg.tipRows, true)(feature, layer);
          layer.on('mouseover', function () {
            layer.setStyle({weight: 3, color: '#E69F00'});
          });
          layer.on('mouseout', function () { layer.setStyle(lv.style); });
        };
      }
      L.geoJSON(lv.data, options).addTo(group);
    }
    overlay('level' + lv.level, group, lv.name, true);
  });

  if (cfg.households) {
    // circle markers in clusters, down to each household from zoom 17
    var cluster = L.markerClusterGroup({disableClusteringAtZoom: 17,
                                        chunkedLoading: true});
    cluster.addLayers(cfg.households.map(function (row) {
      return L.circleMarker(L.latLng(row[0], row[1]),
        {radius: 3, weight: 1, color: '#7a5200', fillOpacity: 0.7});
    }));
    overlay('households', cluster, cfg.names.households, true);
  }

  if (cfg.cameras) {
    var cams = L.featureGroup();
    L.geoJSON(cfg.cameras, {
      pointToLayer: function (f, latlng) {
        var colour = cfg.cameraColours[f.properties.status];
        return L.circleMarker(latlng, {radius: 4, weight: 1, fill: true,
          fillOpacity: 0.9, color: colour, fillColor: colour});
      },
      onEachFeature: tooltip([['label', '']], false),
      bubblingMouseEvents: true
    }).addTo(cams);
    overlay('cameras', cams, cfg.names.cameras, true);
  }
  control.addTo(map);

  // The layers too large for the page, as vector tiles (Leaflet.VectorGrid from
  // our own /vendor): grids of the tiled levels outlined as the embedded ones
  // are, households and cameras as points from their point zoom and below it as
  // squares shaded by their count (layers/tiles.py never sends a city's points).
  // Non-interactive: VectorGrid 1.3's click handling calls an API Leaflet 1.9
  // removed (L.DomEvent.fakeStop), and clicks must reach the map anyway.
  if (cfg.tiles) {
    var T = cfg.tiles;
    var shade = function (n, top) {  // light to dark with the count, read in print
      var k = Math.min(1, Math.log(1 + n) / Math.log(1 + top));
      return 'rgb(' + Math.round(255 - 200 * k) + ',' +
             Math.round(240 - 190 * k) + ',' + Math.round(200 - 160 * k) + ')';
    };
    var points = function (colour, top) {
      return function (p) {
        if (p.count !== undefined) {
          return {stroke: false, fill: true, fillOpacity: 0.65,
                  fillColor: shade(p.count, top)};
        }
        return {radius: 3, weight: 1, color: colour(p), fill: true,
                fillColor: colour(p), fillOpacity: 0.8};
      };
    };
    var styles = {
      grids: function (p) { return T.levels[p.level] || []; },  // embedded: not twice
      households: points(function () { return '#7a5200'; }, 400),
      cameras: points(function (p) { return cfg.cameraColours[p.status]; }, 40)
    };
    T.layers.forEach(function (item) {
      var styleOf = {};
      styleOf[item.layer] = styles[item.layer];
      // shifted like the map on a GCJ-02 basemap, redrawn on Baidu's own grid
      var layer = gg.vectorTiles(map, T.url.replace('{layer}', item.layer), {
        rendererFactory: L.canvas.tile, interactive: false, pane: 'overlayPane',
        maxNativeZoom: 22, maxZoom: 22, vectorTileLayerStyles: styleOf
      });
      overlay(null, layer, item.name, item.on);
    });
  }

  // --- a click locates the spot: its grid chain, staff, the cameras that see it

  function located(d) {
    if (!d.grids.length) { return el('p', {className: 'gg-out'}, zh('outside')); }
    var staff = d.staff.filter(function (s) { return s.role !== 'volunteer'; });
    return el('div', {className: 'gg-locate'}, [
      el('b', {}, zh('grid_chain')),
      el('ol', {}, d.grids.map(function (g) {
        return el('li', {}, [g.name + ' ', el('small', {}, g.code)]);
      })),
      el('b', {}, zh('staff')),
      el('ul', {}, staff.map(function (s) {
        return el('li', {}, [(cfg.roles[s.role] || s.role) + ' ' + s.name + ' ',
                             s.phone ? gg.phone(s.phone) : null]);
      })),
      el('b', {}, zh('cameras_seeing')),
      el('ul', {}, d.cameras.length ? d.cameras.map(function (c) {
        return el('li', {}, c.name + ' · ' + c.distance_m + zh('metres'));
      }) : el('li', {}, zh('none')))
    ]);
  }

  if (cfg.locate) {
    map.on('click', function (e) {
      // on a phone: narrower than the map, and clear of the folded bottom sheet
      var popup = L.popup(gg.narrow() ? {
        maxWidth: Math.min(360, map.getSize().x - 90),
        autoPanPaddingTopLeft: [10, 10], autoPanPaddingBottomRight: [10, 58]
      } : {maxWidth: 360}).setLatLng(e.latlng)
        .setContent(text(zh('loading'))).openOn(map);
      gg.getJSON(cfg.locate + '?' + gg.query({lon: e.latlng.lng.toFixed(7),
                                             lat: e.latlng.lat.toFixed(7)}))
        .then(function (d) { popup.setContent(located(d)); })
        .catch(function (err) {
          var e2 = err && err.body && err.body.error;
          popup.setContent(text(zh('failed') + (e2 ? ': ' + e2.message : '')));
        });
    });
  }

  // --- the extent: the user's own grid, the deepest level with a single grid
  // (a village dispatcher sees the town outline but looks at the village)

  (function fit() {
    var present = cfg.levels.filter(function (lv) {
      return lv.data && lv.data.features.length;
    });
    var single = present.filter(function (lv) { return lv.data.features.length === 1; });
    var chosen = single.length ? single[single.length - 1] : present[0];
    if (chosen) {
      map.fitBounds(L.geoJSON(chosen.data).getBounds());
    } else {
      map.setView([0, 0], 13);
    }
  })();

  // --- the view as one HTML file that opens offline -----------------------------

  // The export's query: the layers shown, the extent, and the leaders'
  // choropleth as it is (window.gridgovOverview, static/overview.js).
  function exportQuery() {
    var shown = Object.keys(layers).filter(function (k) {
      return map.hasLayer(layers[k]);
    });
    var b = map.getBounds();
    // the zoom: the heatmap's cells as the page draws them
    var params = {layers: shown.join(','), bbox: [b.getWest(), b.getSouth(),
      b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(6); }).join(','),
      zoom: map.getZoom()};
    var o = window.gridgovOverview;
    if (o && o.state) {
      params.measure = o.state.measure;
      params.level = o.state.level;
      params.grid = o.state.root.code;
      params.month = o.state.month;
    }
    return gg.query(params);
  }

  var save = L.control({position: 'topleft'});
  save.onAdd = function () {
    var a = el('a', {className: 'gg-export', id: 'gg-export', href: cfg.exportUrl,
                     title: S.ov_export[0] + ' ' + S.ov_export[1]},
               [S.ov_export[0] + ' ', el('span', {className: 'en'}, S.ov_export[1])]);
    a.setAttribute('download', '');
    // the link carries the view at the moment it is followed
    a.addEventListener('click', function () {
      a.href = cfg.exportUrl + '?' + exportQuery();
    });
    L.DomEvent.disableClickPropagation(a);
    var box = el('div', {className: 'leaflet-bar gg-export-box'}, a);
    return box;
  };
  save.addTo(map);
  window.ggLeaflet.exportQuery = exportQuery;
})();
