"""Map building: one function per map, data in, ``folium.Map`` out.

Nothing here reads the database: the views pass the data in. Nothing stored
(a grid's or a camera's name) goes into the page as markup: tooltips and popups
are built in the browser as DOM nodes with ``static/gg.js`` (folium's Tooltip and
GeoJsonTooltip write their text into HTML, and its Tooltip into a JavaScript
template literal).
"""

from html import escape

import folium
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.plugins import FastMarkerCluster
from folium.utilities import JsCode
from jinja2 import Template
from jinja2.utils import htmlsafe_json_dumps

from geo import vocab
from web.i18n import STRINGS, both, level_name, t

__all__ = ["overview_map"]

# Outline weight, colour, dash and fill per level: the town reads first, micro-grids
# last; colours distinguishable in print and for the colour-blind (Okabe-Ito).
_LEVEL_STYLE = {
    1: {"color": "#000000", "weight": 4, "fillOpacity": 0.0},
    2: {"color": "#D55E00", "weight": 3, "fillOpacity": 0.0},
    3: {"color": "#0072B2", "weight": 2, "fillOpacity": 0.0},
    4: {"color": "#009E73", "weight": 1, "dashArray": "4 3", "fillOpacity": 0.08,
        "fillColor": "#009E73"},
}
_CAMERA_COLOUR = {"online": "#0072B2", "offline": "#999999", "fault": "#CC79A7"}


def overview_map(grids_by_level, households, cameras, page, basemap_url=None,
                 basemap_attribution="", locate_url=None, user=None, leaders=None,
                 tiles=None):
    """The first map: the four grid levels, households, cameras, click to locate.

    Parameters
    ----------
    grids_by_level : dict of int to dict
        GeoJSON FeatureCollection of each embedded level (properties: code, name,
        households); a level left out is drawn from ``tiles``.
    households : list of [lat, lon], or None
        Household positions only (no personal data goes to this layer); None
        for a role that may not see households, or when they come as tiles.
    cameras : list of dict, or None
        With lon, lat, code, name, kind, status, range_m; None when tiled.
    page : dict
        ``scripts`` and ``styles``: the URLs of the page's own script
        (``static/gg.js``, which folium's inline script uses) and style sheet,
        loaded before folium's script runs.
    basemap_url : str, optional
        A Leaflet tile URL template; without it the map has no basemap, so that it
        works on an isolated network.
    locate_url : str, optional
        The locate API; without it a click does nothing.
    user : dict, optional
        ``name``, ``role``, ``logout_url``, ``csrf_token``, ``links`` for the bar.
    tiles : dict, optional
        Layers too large to embed, drawn from vector tiles: ``url`` (a template
        with ``{layer}``, ``{z}``, ``{x}``, ``{y}``), ``grids`` (the levels),
        ``households`` and ``cameras`` (booleans).
    leaders : dict, optional
        The leaders' layers (choropleth, heatmap, hot spots, coverage, side
        panel; ``static/overview.js``): its config, with ``scripts`` URLs (run
        deferred); the map's and layer control's names are added here.
    """
    # Without a tile layer Leaflet has no maxZoom, which the clusters need: set it.
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=True,
                   zoom_start=13, location=[0, 0], **{"maxZoom": 19})
    m.get_root().header.add_child(Element(
        '<link rel="icon" href="data:,">'
        + "".join(f'<link rel="stylesheet" href="{escape(url)}">'
                  for url in page["styles"])
        + "".join(f'<script src="{escape(url)}"></script>'
                  for url in page["scripts"])))
    if basemap_url:
        folium.TileLayer(basemap_url, attr=basemap_attribution or " ",
                         name="底图 Basemap").add_to(m)
    # Outlines of levels 1–3 are drawn above the micro-grids, in panes that let the
    # mouse through: hovering always names the micro-grid, the town line stays on top.
    for level in (1, 2, 3):
        folium.map.CustomPane(f"grid-level-{level}", z_index=420 - 5 * level,
                              pointer_events=False).add_to(m)
    for level in sorted(grids_by_level):
        _grid_layer(grids_by_level[level], level).add_to(m)
    if households is not None:
        _household_layer(households).add_to(m)
    if cameras is not None:
        _camera_layer(cameras).add_to(m)
    # the leaders' list folded into its button: unfolded, it hid the side panel's
    # last rows
    control = folium.LayerControl(collapsed=bool(leaders),
                                  position="bottomright" if leaders else "topright")
    control.add_to(m)
    if tiles and (tiles.get("grids") or tiles.get("households")
                  or tiles.get("cameras")):
        # under the leaders' choropleth a city's households and cameras would
        # bury it: there they start switched off, in the layer control
        _TiledLayers(control, tiles, points_on=not leaders).add_to(m)
    if locate_url:
        LocateOnClick(locate_url).add_to(m)
    m.get_root().html.add_child(Element(_title_bar(user)))
    if leaders:
        _leader_layers(m, control, leaders)
    bounds = _bounds(grids_by_level)
    if bounds:
        m.fit_bounds(bounds)
    return m


def _leader_layers(m, control, leaders):
    """The config and the deferred scripts of ``static/overview.js``: deferred, so
    that they run after folium's inline script has made the map and its control."""
    config = {k: v for k, v in leaders.items() if k != "scripts"}
    _Expose(control).add_to(m)
    text = _script_json(config)
    m.get_root().html.add_child(Element(
        f'<script type="application/json" id="gg-overview-config">{text}</script>'
        + "".join(f'<script defer src="{escape(url)}"></script>'
                  for url in leaders["scripts"])))


class _Expose(MacroElement):
    """``window.ggLeaflet = {map, control}``: folium declares the layer control
    with ``let``, out of reach of a later script."""

    _template = Template("""
    {% macro script(this, kwargs) %}
    window.ggLeaflet = {map: {{ this._parent.get_name() }},
                        control: {{ this.control.get_name() }}};
    {% endmacro %}
    """)

    def __init__(self, control):
        super().__init__()
        self._name = "Expose"
        self.control = control


class _TiledLayers(JSCSSMixin, MacroElement):
    """The layers too large for the page, as vector tiles (Leaflet.VectorGrid, from
    our own /vendor): grids of the tiled levels outlined as the embedded ones are,
    households and cameras as points from their point zoom and below it as squares
    shaded by their count (layers/tiles.py never sends a city's points).

    Non-interactive: VectorGrid 1.3's click handling calls an API Leaflet 1.9
    removed (L.DomEvent.fakeStop), and clicks must reach the map anyway, which
    locates the spot.
    """

    default_js = [("leaflet_vectorgrid", "Leaflet.VectorGrid.bundled.min.js")]

    _template = Template("""
    {% macro script(this, kwargs) %}
    (function (map, control) {
        var T = {{ this.config|tojson }};
        function url(layer) { return T.url.replace('{layer}', layer); }
        function shade(n, top) {  // light to dark with the count, read in print
            var k = Math.min(1, Math.log(1 + n) / Math.log(1 + top));
            return 'rgb(' + Math.round(255 - 200 * k) + ',' +
                   Math.round(240 - 190 * k) + ',' + Math.round(200 - 160 * k) + ')';
        }
        function points(colour, top) {
            return function (p) {
                if (p.count !== undefined) {
                    return {stroke: false, fill: true, fillOpacity: 0.65,
                            fillColor: shade(p.count, top)};
                }
                return {radius: 3, weight: 1, color: colour(p), fill: true,
                        fillColor: colour(p), fillOpacity: 0.8};
            };
        }
        var styles = {
            grids: function (p) {
                return T.levels[p.level] || [];  // embedded levels: not twice
            },
            households: points(function () { return '#7a5200'; }, 400),
            cameras: points(function (p) { return T.cameraColours[p.status]; }, 40)
        };
        T.layers.forEach(function (item) {
            var layer = L.vectorGrid.protobuf(url(item.layer), {
                rendererFactory: L.canvas.tile, interactive: false,
                pane: 'overlayPane', maxNativeZoom: 22, maxZoom: 22,
                vectorTileLayerStyles: {[item.layer]: styles[item.layer]}
            });
            if (item.on) { layer.addTo(map); }
            control.addOverlay(layer, item.name);
        });
    })({{ this._parent.get_name() }}, {{ this.control.get_name() }});
    {% endmacro %}
    """)

    def __init__(self, control, tiles, points_on=True):
        super().__init__()
        self._name = "TiledLayers"
        self.control = control
        levels = sorted(tiles.get("grids") or ())
        layers = []
        if levels:
            layers.append({"layer": "grids", "on": True,
                           "name": " / ".join(level_name(lv) for lv in levels)})
        for key in ("households", "cameras"):
            if tiles.get(key):
                layers.append({"layer": key, "name": both(key), "on": points_on})
        self.config = {
            "url": tiles["url"], "layers": layers,
            "levels": {lv: _path_style(_LEVEL_STYLE[lv]) for lv in levels},
            "cameraColours": _CAMERA_COLOUR,
        }


def _path_style(style):
    """A level's style as Leaflet path options (fill only where it has one)."""
    return style | {"fill": style.get("fillOpacity", 0) > 0}


def _title_bar(user):
    """The map's bar: the title, and the user's links and log-out behind a menu
    button on a phone (``static/gg.js`` opens it; ``overview.css`` lays it out: in
    one line over the map from 900 px, a bar across the top below)."""
    bar = (f'<div class="gg-title"><span class="gg-brand">{t("app_title")}'
           f'<span class="gg-brand-en"> · <span lang="en">{t("app_title", "en")}'
           '</span></span></span>')
    if user:
        links = "".join(f'<span class="gg-sep"> · </span>'
                        f'<a href="{escape(url)}">{escape(label)}</a>'
                        for label, url in user["links"])
        bar += (
            '<button type="button" class="gg-menu" id="gg-menu" data-gg-menu '
            'aria-controls="gg-title-nav" aria-expanded="false">'
            '<span class="gg-menu-icon" aria-hidden="true"></span>'
            f'{t("nav_menu")} <span lang="en">{t("nav_menu", "en")}</span></button>'
            f'<nav class="gg-title-nav" id="gg-title-nav">{links}'
            f'<form method="post" action="{escape(user["logout_url"])}">'
            f'<span class="gg-user">{escape(user["name"])}（{escape(user["role"])}）'
            f'</span><input type="hidden" name="csrf_token" '
            f'value="{escape(user["csrf_token"])}">'
            f'<button type="submit">{t("logout")}</button></form></nav>')
    return bar + "</div>"


def _grid_layer(collection, level):
    style = _LEVEL_STYLE[level]
    layer = folium.FeatureGroup(name=level_name(level))
    if not collection["features"]:
        return layer
    if level < 4:
        folium.GeoJson(collection, style_function=lambda _f, s=style: s,
                       pane=f"grid-level-{level}", interactive=False,
                       smooth_factor=0.5).add_to(layer)
        return layer
    folium.GeoJson(
        collection,
        style_function=lambda _f, s=style: s,
        highlight_function=lambda _f: {"weight": 3, "color": "#E69F00"},
        on_each_feature=_text_tooltip(
            [("name", t("name")), ("code", t("code")),
             ("households", t("household_count"))], sticky=True),
        # clicks fall through to the map, which locates the spot
        bubbling_mouse_events=True,
        smooth_factor=0.5,
    ).add_to(layer)
    return layer


def _text_tooltip(rows, sticky=False):
    """A feature's tooltip, built when shown: one (label, value) row per
    (property, label) of ``rows``, or the bare value of a single unlabelled row;
    every value goes in as text."""
    spec = _script_json(rows)
    return JsCode(_TEXT_TOOLTIP.replace(
        "STICKY", "true" if sticky else "false").replace("ROWS", spec))


_TEXT_TOOLTIP = """function (feature, layer) {
    var rows = ROWS, p = feature.properties, el = gg.el;
    function value(key) { return p[key] == null ? '' : String(p[key]); }
    layer.bindTooltip(function () {
        if (rows.length === 1 && !rows[0][1]) { return gg.text(value(rows[0][0])); }
        return el('table', {className: 'gg-tip'}, rows.map(function (r) {
            return el('tr', {}, [el('th', {}, r[1]), el('td', {}, value(r[0]))]);
        }));
    }, {sticky: STICKY});
}"""


def _household_layer(positions):
    # Circle markers, not folium's default AwesomeMarkers icons (no local copy).
    # folium wraps this as `var callback = <expression>;`
    callback = """function (row) {
            return L.circleMarker(new L.LatLng(row[0], row[1]),
                {radius: 3, weight: 1, color: '#7a5200', fillOpacity: 0.7});
        }"""
    return FastMarkerCluster(
        positions, callback=callback, name=both("households"),
        disableClusteringAtZoom=17, chunkedLoading=True,
    )


def _camera_layer(cameras):
    """The cameras as one GeoJSON layer of circle markers (the data once, not a
    script per camera), coloured by status, named in a tooltip."""
    layer = folium.FeatureGroup(name=both("cameras"))
    if not cameras:
        return layer
    features = [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [cam["lon"], cam["lat"]]},
        "properties": {
            "status": cam["status"],
            "label": f"{cam['name']}（{vocab.label(vocab.CAMERA_KINDS, cam['kind'])}，"
                     f"{vocab.label(vocab.CAMERA_STATUSES, cam['status'])}）"},
    } for cam in cameras]
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        marker=folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: _camera_style(f["properties"]["status"]),
        on_each_feature=_text_tooltip([("label", "")]),
        bubbling_mouse_events=True,
    ).add_to(layer)
    return layer


def _script_json(value):
    """``value`` as JSON that a <script> holds as it is: <, > and & escaped."""
    return str(htmlsafe_json_dumps(value, ensure_ascii=False))


def _camera_style(status):
    colour = _CAMERA_COLOUR[status]
    return {"color": colour, "fillColor": colour, "weight": 1, "fillOpacity": 0.9}


def _bounds(grids_by_level):
    """The extent of the user's own grid: the deepest level with a single grid
    (a village dispatcher sees the town outline but looks at the village)."""
    present = [lv for lv in sorted(grids_by_level) if grids_by_level[lv]["features"]]
    single = [lv for lv in present if len(grids_by_level[lv]["features"]) == 1]
    for level in ([max(single)] if single else present[:1]):
        features = grids_by_level[level]["features"]
        if features:
            xs, ys = [], []
            for f in features:
                _collect(f["geometry"]["coordinates"], xs, ys)
            return [[min(ys), min(xs)], [max(ys), max(xs)]]
    return None


def _collect(coords, xs, ys):
    if coords and isinstance(coords[0], (int, float)):
        xs.append(coords[0])
        ys.append(coords[1])
        return
    for c in coords:
        _collect(c, xs, ys)


class LocateOnClick(MacroElement):
    """A click on the map asks the API for the spot's grid chain, staff, cameras."""

    _template = Template("""
    {% macro script(this, kwargs) %}
    (function (map) {
        var T = {{ this.strings }};
        var ROLES = {{ this.roles }};
        var el = gg.el;
        function render(d) {
            if (!d.grids.length) { return el('p', {className: 'gg-out'}, T.outside); }
            var staff = d.staff.filter(function (s) { return s.role !== 'volunteer'; });
            return el('div', {className: 'gg-locate'}, [
                el('b', {}, T.grid_chain),
                el('ol', {}, d.grids.map(function (g) {
                    return el('li', {}, [g.name + ' ', el('small', {}, g.code)]);
                })),
                el('b', {}, T.staff),
                el('ul', {}, staff.map(function (s) {
                    return el('li', {}, [(ROLES[s.role] || s.role) + ' ' + s.name +
                                         ' ', s.phone ? gg.phone(s.phone) : null]);
                })),
                el('b', {}, T.cameras_seeing),
                el('ul', {}, d.cameras.length ? d.cameras.map(function (c) {
                    return el('li', {}, c.name + ' · ' + c.distance_m + T.metres);
                }) : el('li', {}, T.none))
            ]);
        }
        map.on('click', function (e) {
            // on a phone: narrower than the map, and kept clear of the title
            // bar above and the bottom sheet below (overview.css)
            var popup = L.popup(gg.narrow() ? {
                maxWidth: Math.min(360, map.getSize().x - 90),
                autoPanPaddingTopLeft: [10, 54], autoPanPaddingBottomRight: [10, 58]
            } : {maxWidth: 360}).setLatLng(e.latlng)
                .setContent(gg.text(T.loading)).openOn(map);
            var url = {{ this.url|tojson }} + '?lon=' + e.latlng.lng.toFixed(7) +
                      '&lat=' + e.latlng.lat.toFixed(7);
            fetch(url, {headers: {'Accept': 'application/json'}})
                .then(function (r) { return r.json(); })
                .then(function (d) {
                    popup.setContent(d.error ?
                        gg.text(T.failed + ': ' + d.error.message) : render(d));
                })
                .catch(function () { popup.setContent(gg.text(T.failed)); });
        });
    })({{ this._parent.get_name() }});
    {% endmacro %}
    """)

    def __init__(self, url):
        super().__init__()
        self._name = "LocateOnClick"
        self.url = url
        self.strings = _script_json({k: v[0] for k, v in STRINGS.items()})
        self.roles = _script_json({k: v[0] for k, v in vocab.STAFF_ROLES.items()})

