"""The grid workers' phone page /m/ (网格员手机端): report, tasks, visits, patrol.

One page for every user (``templates/mobile.html`` with ``static/mobile/*.js``):
the person logs in inside the page (``POST /api/v1/devices``), keeps the device
token in IndexedDB and sends it as ``Authorization: Bearer`` — no cookie, so the
page itself holds no personal data and the service worker may keep it for offline
use. Everything personal (tasks, households, the queue of unsent work) lives in the
phone's IndexedDB and is wiped at logout or when the server revokes the device.

The service worker (``/m/sw.js``) must be served from a path at or above its scope
(``/m/``), as JavaScript: this module serves it with the list of app-shell files and
a version derived from their contents, so a changed file re-caches the shell.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, render_template, request, url_for

import api
from api.auth import public
from geo import localtime, vocab
from web import assets, basemap
from web.dispatch import _pairs
from web.i18n import STRINGS, page_strings

__all__ = ["bp"]

bp = Blueprint("mobile", __name__)

_STATIC = Path(__file__).resolve().parent / "static"
# the page's own files, in load order (also the service worker's app shell)
_SCRIPTS = ("mobile/store.js", "mobile/sync.js", "mobile/ui.js", "mobile/report.js",
            "mobile/work.js", "mobile/app.js")
_FILES = ("gg.js", *_SCRIPTS, "mobile/mobile.css", "mobile/icon-192.png",
          "mobile/icon-512.png")


@bp.get("/m/")
@public
def page():
    config = {
        "urls": {"api": request.script_root + api.PREFIX,
                 "sw": url_for("mobile.service_worker"),
                 "scope": url_for("mobile.page")},
        # times are shown in the deployment's time zone, whatever the phone's
        "utc_offset_min": localtime.UTC_OFFSET_MIN,
        "zone_name": localtime.LABEL,
        "basemap": basemap.page(),
        "vocab": {
            "categories": {code: {"label": [zh, en], "subtypes": _pairs(subtypes)}
                           for code, (zh, en, subtypes)
                           in vocab.INCIDENT_CATEGORIES.items()},
            "outcomes": _pairs(vocab.INCIDENT_OUTCOMES),
            "outcomes_by_category": {code: vocab.outcomes_for(code)
                                     for code in vocab.INCIDENT_CATEGORIES},
            "tags": _pairs(vocab.HOUSEHOLD_TAGS),
        },
        "strings": page_strings("m_"),
    }
    return render_template("mobile.html", config=config, vendor=_vendor(),
                           scripts=_SCRIPTS)


@bp.get("/m/manifest.webmanifest")
@public
def manifest():
    scope = url_for("mobile.page")
    body = {
        "name": STRINGS["m_app_name"][0],
        "short_name": STRINGS["m_app_short"][0],
        "description": STRINGS["m_app_name"][1],
        "lang": "zh-CN",
        "start_url": scope,
        "scope": scope,
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#ffffff",
        "theme_color": "#0b3a66",
        "icons": [{"src": url_for("static", filename=f"mobile/icon-{n}.png"),
                   "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any"}
                  for n in (192, 512)],
    }
    return Response(json.dumps(body, ensure_ascii=False),
                    mimetype="application/manifest+json",
                    headers={"Cache-Control": "no-cache"})


@bp.get("/m/sw.js")
@public
def service_worker():
    version, shell = _shell()
    head = (f"var VERSION = {json.dumps(version)};\n"
            f"var SHELL = {json.dumps(shell)};\n")
    body = head + (_STATIC / "mobile" / "sw.js").read_text(encoding="utf-8")
    # no-cache: the browser checks for a new worker at every visit
    return Response(body, mimetype="text/javascript",
                    headers={"Cache-Control": "no-cache",
                             "Service-Worker-Allowed": url_for("mobile.page")})


def _shell():
    """The app shell's URLs and a version from their contents."""
    vendor = _vendor()
    urls = [url_for("mobile.page"), url_for("mobile.manifest"),
            vendor["leaflet_js"], vendor["leaflet_css"], *basemap.scripts(),
            *(url_for("static", filename=f) for f in _FILES)]
    return _version(current_app.debug), urls


@cache
def _digest():
    h = hashlib.sha256()
    for name in (*_FILES, "mobile/sw.js"):
        h.update((_STATIC / name).read_bytes())
    h.update(json.dumps(STRINGS, sort_keys=True).encode())
    return h.hexdigest()[:16]


def _version(debug):
    if debug:  # files change under a developer: read them again
        _digest.cache_clear()
    return _digest()


def _vendor():
    return {"leaflet_css": assets.local_url("leaflet", "leaflet.css"),
            "leaflet_js": assets.local_url("leaflet", "leaflet.js")}

