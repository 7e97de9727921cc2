"""The maps that leave gridgov: a view of the overview as one standalone HTML file.

folium renders it (one function, the view's data in, the page's text out) with
every asset inlined: Leaflet's script and style sheet from the local copies of
``web/assets.py`` (their images as data: URLs), the data as GeoJSON in the file,
so that it opens offline with a double click, no server and no network. The
interactive overview itself is ``templates/overview.html`` with
``static/overview_map.js`` and ``static/overview.js``; the styles both draw with
are here (``LEVEL_STYLE``, ``CAMERA_COLOUR``, :func:`path_style`).

Nothing stored (a grid's or a camera's name) goes into the file as markup:
folium's Tooltip and GeoJsonTooltip write their text into HTML (and its Tooltip
into a JavaScript template literal), so the tooltips here are built when shown,
as DOM text nodes (``_TEXT_TOOLTIP``); the title and legend are escaped.
"""

import base64
import math
import mimetypes
import re
from html import escape

import folium
from branca.element import Element

from geo import vocab
from geo.choropleth import NO_DATA, RAMP, class_breaks, class_of, colour, value
from web import assets
from web.i18n import both, level_name, t

__all__ = ["LEVEL_STYLE", "CAMERA_COLOUR", "RAMP", "HOT", "HOT_ORDER", "VIEW_STYLE",
           "BLIND_STYLE", "WARNED_STYLE", "path_style", "camera_features",
           "class_breaks", "overview_html"]

# Outline weight, colour, dash and fill per level: the town reads first, micro-grids
# last; colours distinguishable in print and for the colour-blind (Okabe-Ito).
LEVEL_STYLE = {
    1: {"color": "#000000", "weight": 4, "fillOpacity": 0.0},
    2: {"color": "#D55E00", "weight": 3, "fillOpacity": 0.0},
    3: {"color": "#0072B2", "weight": 2, "fillOpacity": 0.0},
    4: {"color": "#009E73", "weight": 1, "dashArray": "4 3", "fillOpacity": 0.08,
        "fillColor": "#009E73"},
}
CAMERA_COLOUR = {"online": "#0072B2", "offline": "#999999", "fault": "#CC79A7"}
# The overview's other layers, as static/overview.js draws them (it takes these
# from the page's config): Gi* classes in ColorBrewer RdBu, the cameras' views,
# the blind spots as black hatching over a grey veil (the SVG pattern
# ``gg-blind-hatch``), the heatmap's cells in the ramp.
HOT = {"hot_99": "#b2182b", "hot_95": "#ef8a62", "hot_90": "#fddbc7",
       "cold_90": "#d1e5f0", "cold_95": "#67a9cf", "cold_99": "#2166ac"}
HOT_ORDER = ("hot_99", "hot_95", "hot_90", "cold_90", "cold_95", "cold_99")
VIEW_STYLE = {"color": "#0072B2", "weight": 1, "fillColor": "#56B4E9",
              "fillOpacity": 0.3}
BLIND_STYLE = {"color": "#000000", "weight": 1.5,
               "fillColor": "url(#gg-blind-hatch)", "fillOpacity": 1,
               "className": "gg-blind"}
# a warned grid (static/overview_warnings.js): red dashes, no fill, above the
# choropleth and distinct from every class of its ramp
WARNED_STYLE = {"color": "#d7191c", "weight": 3, "dashArray": "6 4", "fill": False,
                "opacity": 1}
_HATCH = ('<svg class="gg-defs" width="0" height="0" aria-hidden="true"><defs>'
          '<pattern id="gg-blind-hatch" width="7" height="7" '
          'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
          '<rect width="7" height="7" fill="rgba(40,40,40,0.28)"></rect>'
          '<line x1="0" y1="0" x2="0" y2="7" stroke="#000" stroke-width="2.5"></line>'
          '</pattern></defs></svg>')


def path_style(level):
    """A level's style as Leaflet path options (fill only where it has one)."""
    style = LEVEL_STYLE[level]
    return style | {"fill": style.get("fillOpacity", 0) > 0}


def camera_features(cameras):
    """The cameras (``layers.cameras.list_cameras``) as a FeatureCollection of
    points with their status and a label "name（kind，status）"."""
    return {"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [cam["lon"], cam["lat"]]},
        "properties": {
            "status": cam["status"],
            "label": f"{cam['name']}（{vocab.label(vocab.CAMERA_KINDS, cam['kind'])}，"
                     f"{vocab.label(vocab.CAMERA_STATUSES, cam['status'])}）"},
    } for cam in cameras]}


# -- the choropleth's classes: computed once, in geo/choropleth.py (the page gets
# them in the rankings' answer); printed here as the page prints them (``show``
# of static/overview.js) -------------------------------------------------------

def _show(v, kind):
    """A value as the page prints it (``show`` of static/overview.js)."""
    if v is None or math.isnan(v):
        return "—"
    if kind == "share":
        return f"{100 * v:.1f}%"
    if kind == "change":
        return f"{'+' if v > 0 else ''}{100 * v:.0f}%"
    if kind == "days":
        return f"{v:.1f}"
    r = math.floor(v * 100 + 0.5) / 100
    return str(int(r)) if r == int(r) else repr(r)


def _legend_rows(breaks, exact, measure):
    kind, worse = measure["kind"], measure["worse"]
    rows = []
    for i in range(len(breaks) - 1):
        if exact or (i == 0 and breaks[0] == breaks[1]):
            label = _show(breaks[i + 1], kind)
        else:
            low = _show(breaks[0], kind) if i == 0 else ">" + _show(breaks[i], kind)
            label = f"{low} – {_show(breaks[i + 1], kind)}"
        rows.append((colour(i, len(breaks), worse), label))
    return [*rows, (NO_DATA, t("ov_no_data"))]


# -- the file --------------------------------------------------------------------

def overview_html(view):
    """The standalone HTML file of one view of the overview.

    Parameters
    ----------
    view : dict
        ``title`` (str), ``exported`` (the time, as people read it), ``levels``
        ({level: FeatureCollection of the outlines shown}), ``households``
        ([[lat, lon], …] or None), ``cameras`` (``layers.cameras`` rows or
        None), ``choropleth`` (None, or ``measure`` {key, zh, en, kind, worse},
        ``items`` (the ranking's), ``shapes`` (FeatureCollection with code and
        name), ``subtitle``), ``bbox`` ((w, s, e, n) or None: the data's);
        the overview's overlays, each None when not shown: ``heatmap``
        (``layers.density.heatmap``'s GeoJSON answer, kernel density),
        ``hotspots`` (Gi* FeatureCollection), ``views`` and ``blind`` (the
        cameras' views and the blind spots, FeatureCollections).

    Returns
    -------
    str
        The HTML document; it names no URL of gridgov nor of anyone else.
    """
    m = folium.Map(tiles=None, control_scale=True, zoom_start=13, location=[0, 0],
                   **{"maxZoom": 19})
    for level in (1, 2, 3):
        folium.map.CustomPane(f"grid-level-{level}", z_index=420 - 5 * level,
                              pointer_events=False).add_to(m)
    legend = []
    if view.get("choropleth"):
        _choropleth(view["choropleth"]).add_to(m)
        legend.append(_legend(view["choropleth"]))
    for key, draw in (("heatmap", _heat_layer), ("hotspots", _hot_layer),
                      ("views", _views_layer), ("blind", _blind_layer)):
        if view.get(key) is not None:
            layer, rows = draw(view[key])
            layer.add_to(m)
            if rows:
                legend.append(rows)
    for level in sorted(view["levels"]):
        _grid_layer(view["levels"][level], level).add_to(m)
    if view.get("households") is not None:
        _household_layer(view["households"]).add_to(m)
    if view.get("cameras") is not None:
        _camera_layer(view["cameras"]).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    root = m.get_root()  # (not Figure.title: folium writes it unescaped)
    root.header.add_child(Element(
        f"<title>{escape(view['title'])}</title>"
        '<link rel="icon" href="data:,"><style>' + _STYLE + "</style>"))
    root.html.add_child(Element(
        f'<div class="gg-export-title"><h1>{escape(view["title"])}</h1>'
        + (f'<p>{escape(view["choropleth"]["subtitle"])}</p>'
           if view.get("choropleth") else "")
        + f'<p class="gg-export-date">{escape(view["exported"])}</p></div>'
        + (f'<div class="gg-legend" id="gg-legend">{"".join(legend)}</div>'
           if legend else "")
        + (_HATCH if view.get("blind") is not None else "")))
    if view.get("bbox"):
        w, s, e, n = view["bbox"]
        m.fit_bounds([[s, w], [n, e]])
    return _inline(m)


_STYLE = """
.gg-export-title { position: absolute; top: 10px; left: 54px; z-index: 1000;
  max-width: calc(100% - 330px); background: rgba(255,255,255,.94);
  padding: 6px 12px; border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,.3);
  font: 13px/1.4 "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.gg-export-title h1 { font-size: 16px; margin: 0; }
.gg-export-title p { margin: 2px 0 0; color: #444; }
.gg-legend { position: absolute; bottom: 64px; left: 10px; z-index: 1000;
  background: rgba(255,255,255,.95); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.3); max-width: 230px;
  font: 12px/1.45 "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
.gg-legend ul { list-style: none; margin: 2px 0 0; padding: 0; }
.gg-legend .sw { display: inline-block; width: 16px; height: 11px; margin-right: 6px;
  border: 1px solid #888; vertical-align: middle; }
.gg-legend .en, .gg-export-title .en { color: #666; font-size: 11px; }
.gg-legend .sw-outline { background: transparent; border-color: #999; }
.gg-legend .sw-blind { border-color: #000; background: repeating-linear-gradient(
  45deg, #000 0 2px, rgba(40,40,40,.28) 2px 5px); }
.gg-defs { position: absolute; width: 0; height: 0; overflow: hidden; }
.gg-tip th { text-align: left; font-weight: 600; padding: 0 8px 0 0; }
@media (max-width: 600px) { .gg-export-title { left: 50px; right: 10px;
  max-width: none; } .gg-legend { max-width: 150px; font-size: 11px; } }
"""


def _choropleth(ch):
    """The choropleth: each grid of the view filled by its class (``_fill``)."""
    measure = ch["measure"]
    by_code = {g["code"]: g for g in ch["items"]}
    values = {code: value(g, measure["key"]) for code, g in by_code.items()}
    breaks, exact = class_breaks(values.values())
    ch["breaks"], ch["exact"] = breaks, exact
    features = []
    for f in ch["shapes"]["features"]:
        p = f["properties"]
        v = values.get(p["code"])
        features.append({"type": "Feature", "geometry": f["geometry"], "properties": {
            "code": p["code"], "name": p["name"],
            "_fill": colour(class_of(v, breaks), len(breaks), measure["worse"]),
            "tip": f"{p['name']}：{measure['zh']} {_show(v, measure['kind'])}"}})
    layer = folium.FeatureGroup(name=t("ov_choropleth"))
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=lambda f: {
                "fillColor": f["properties"]["_fill"], "fillOpacity": 0.75,
                "color": "#444", "weight": 1, "className": "gg-choropleth"},
            on_each_feature=_text_tooltip([("tip", "")], sticky=True),
            smooth_factor=0.5,
        ).add_to(layer)
    return layer


def _legend(ch):
    m = ch["measure"]
    rows = "".join(f'<li class="gg-class"><i class="sw" style="background:{c}"></i>'
                   f"{escape(label)}</li>"
                   for c, label in _legend_rows(ch["breaks"], ch["exact"], m))
    return (f'<strong>{escape(m["zh"])} <span class="en">{escape(m["en"])}</span>'
            f"</strong><ul>{rows}</ul>")


def _legend_section(key, list_id, rows):
    """A legend's heading (catalogue ``key`` in both languages) and its rows
    ``[(swatch class, swatch style, label)]``, as the page's."""
    items = "".join(f'<li><i class="sw {cls}" style="{style}"></i>{escape(label)}'
                    "</li>" for cls, style, label in rows)
    head = (f'<strong>{escape(t(key))} <span class="en">{escape(t(key, "en"))}'
            "</span></strong>" if key else "")
    return f'{head}<ul id="{list_id}">{items}</ul>'


def _heat_layer(answer):
    """The incident heatmap: the kernel density's cells in the ramp's colours
    (classes of ``answer["breaks"]``), not interactive."""
    layer = folium.FeatureGroup(name=t("ov_heatmap"))
    if answer.get("features"):
        folium.GeoJson(
            {"type": "FeatureCollection", "features": answer["features"]},
            style_function=lambda f: {
                "stroke": False, "fillOpacity": 0.7, "className": "gg-heat-cell",
                "fillColor": RAMP[min(max(f["properties"]["class"], 0),
                                      len(RAMP) - 1)]},
            interactive=False).add_to(layer)
    b = answer.get("breaks") or []
    rows = [("", f"background:{RAMP[min(j, len(RAMP) - 1)]}",
             f"{_number(b[j])} – {_number(b[j + 1])}") for j in range(len(b) - 1)]
    return layer, _legend_section("ov_heatmap_legend", "gg-heat-legend", rows)


def _number(v):
    """A break as JavaScript's String(number) writes it (the page's legend)."""
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _hot_layer(fc):
    """Gi* hot and cold spots of the micro-grids: the significant ones filled by
    class, the others outlined; named with their class and z in a tooltip."""
    from geo.hotspots import CLASSES

    labels = {code: zh for code, zh, _en in CLASSES.values()}
    layer = folium.FeatureGroup(name=t("ov_hotspots"))
    features = [{**f, "properties": {
        "class": f["properties"]["class"],
        "tip": f"{f['properties'].get('name') or f['properties'].get('code') or ''}："
               f"{labels.get(f['properties']['class'], '')}（z = "
               f"{float(f['properties']['z']):.2f}）"}} for f in fc["features"]]
    if features:
        folium.GeoJson(
            {"type": "FeatureCollection", "features": features},
            style_function=_hot_style,
            on_each_feature=_text_tooltip([("tip", "")], sticky=True),
        ).add_to(layer)
    rows = [("", f"background:{HOT[k]}", labels[k]) for k in HOT_ORDER]
    rows.append(("sw-outline", "", labels["not_significant"]))
    return layer, _legend_section("ov_hot_legend", "gg-hot-legend", rows)


def _hot_style(feature):
    cls = feature["properties"]["class"]
    if cls in HOT:
        return {"color": "#333", "weight": 1, "fillColor": HOT[cls],
                "fillOpacity": 0.8, "className": "gg-hot"}
    return {"color": "#999", "weight": 0.5, "fill": False, "className": "gg-hot"}


def _views_layer(fc):
    """The cameras' fields of view (sectors and discs)."""
    layer = folium.FeatureGroup(name=t("ov_views"))
    if fc["features"]:
        folium.GeoJson(fc, style_function=lambda _f: VIEW_STYLE | {
            "className": "gg-view"}, interactive=False).add_to(layer)
    return layer, ""


def _blind_layer(fc):
    """The blind spots: black hatching over a grey veil (the page's pattern)."""
    layer = folium.FeatureGroup(name=t("ov_blind"))
    if fc["features"]:
        folium.GeoJson(fc, style_function=lambda _f: BLIND_STYLE,
                       interactive=False).add_to(layer)
    return layer, _legend_section(None, "gg-blind-legend", [
        ("sw-blind", "", f"{t('ov_blind_legend')} {t('ov_blind_legend', 'en')}")])


def _grid_layer(collection, level):
    style = LEVEL_STYLE[level]
    layer = folium.FeatureGroup(name=level_name(level))
    if not collection["features"]:
        return layer
    if level < 4:
        folium.GeoJson(collection, style_function=lambda _f, s=style: s,
                       pane=f"grid-level-{level}", interactive=False,
                       smooth_factor=0.5).add_to(layer)
        return layer
    folium.GeoJson(
        collection, style_function=lambda _f, s=style: s,
        highlight_function=lambda _f: {"weight": 3, "color": "#E69F00"},
        on_each_feature=_text_tooltip(
            [("name", t("name")), ("code", t("code")),
             ("households", t("household_count"))], sticky=True),
        smooth_factor=0.5,
    ).add_to(layer)
    return layer


def _text_tooltip(rows, sticky=False):
    """A feature's tooltip, built when shown: one (label, value) row per
    (property, label) of ``rows``, or the bare value of a single unlabelled row;
    every value goes in as text (textContent), never as markup."""
    return folium.utilities.JsCode(_TEXT_TOOLTIP.replace(
        "STICKY", "true" if sticky else "false").replace("ROWS", _script_json(rows)))


_TEXT_TOOLTIP = """function (feature, layer) {
    var rows = ROWS, p = feature.properties;
    function node(tag, content) {
        var n = document.createElement(tag);
        if (content !== undefined) { n.textContent = content; }
        return n;
    }
    function value(key) { return p[key] == null ? '' : String(p[key]); }
    layer.bindTooltip(function () {
        if (rows.length === 1 && !rows[0][1]) {
            return node('span', value(rows[0][0]));
        }
        var table = node('table');
        table.className = 'gg-tip';
        rows.forEach(function (r) {
            var tr = node('tr');
            tr.appendChild(node('th', r[1]));
            tr.appendChild(node('td', value(r[0])));
            table.appendChild(tr);
        });
        return table;
    }, {sticky: STICKY});
}"""


def _household_layer(positions):
    """Household positions only (no personal data), as one MultiPoint of circle
    markers: no clustering plugin to carry."""
    layer = folium.FeatureGroup(name=both("households"))
    if positions:
        folium.GeoJson(
            {"type": "Feature", "properties": {}, "geometry": {
                "type": "MultiPoint",
                "coordinates": [[lon, lat] for lat, lon in positions]}},
            marker=folium.CircleMarker(radius=2, weight=1, fill=True,
                                       fill_opacity=0.7),
            style_function=lambda _f: {"color": "#7a5200", "fillColor": "#7a5200"},
            interactive=False,
        ).add_to(layer)
    return layer


def _camera_layer(cameras):
    """The cameras as one GeoJSON layer of circle markers coloured by status,
    named in a tooltip."""
    layer = folium.FeatureGroup(name=both("cameras"))
    if not cameras:
        return layer
    folium.GeoJson(
        camera_features(cameras),
        marker=folium.CircleMarker(radius=4, weight=1, fill=True, fill_opacity=0.9),
        style_function=lambda f: {"color": CAMERA_COLOUR[f["properties"]["status"]],
                                  "fillColor": CAMERA_COLOUR[f["properties"]["status"]],
                                  "weight": 1, "fillOpacity": 0.9},
        on_each_feature=_text_tooltip([("label", "")]),
    ).add_to(layer)
    return layer


def _script_json(value):
    """``value`` as JSON that a <script> holds as it is: <, > and & escaped."""
    from jinja2.utils import htmlsafe_json_dumps

    return str(htmlsafe_json_dumps(value, ensure_ascii=False))


# -- every asset inlined ----------------------------------------------------------

def _inline(m):
    """Render ``m`` with the text of each script and style sheet its elements
    ask for (the local copies: ``assets.local_file``) in the page, their images
    as data: URLs; no element keeps a link."""
    scripts, styles, seen = [], [], set()

    def collect(element):
        for attr, out in (("default_js", scripts), ("default_css", styles)):
            links = getattr(element, attr, None)
            if links is None:
                continue
            for name, _url in links:
                path = assets.local_file(name)
                if path is not None and path not in seen:
                    seen.add(path)
                    out.append(path)
            setattr(element, attr, [])
        for child in element._children.values():
            collect(child)

    collect(m)
    head = "".join(f"<style>{_css_inlined(p)}</style>" for p in styles) + "".join(
        "<script>" + p.read_text(encoding="utf-8").replace("</script", "<\\/script")
        + "</script>" for p in scripts)
    # "Leaflet" as plain text, as on every map of gridgov (static/gg.js): its
    # prefix is a link out with a flag
    head += ("<script>L.Control.Attribution.prototype.options.prefix = 'Leaflet';"
             "</script>")
    root = m.get_root()
    # first in the head: folium's own inline script of the map needs Leaflet
    root.header.add_child(Element(head), name="gg_inlined_assets", index=0)
    return root.render()


def _css_inlined(path):
    """A style sheet's text with its relative ``url(...)``s as data: URLs."""

    def data_url(match):
        ref = match.group(1).strip("'\"")
        if ref.startswith(("data:", "#")):
            return match.group(0)
        target = path.parent / ref
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        payload = base64.b64encode(target.read_bytes()).decode("ascii")
        return f"url(data:{kind};base64,{payload})"

    text = path.read_text(encoding="utf-8")
    return re.sub(r"url\(([^)]*)\)", data_url, text).replace("</style", "<\\/style")
