"""Security headers on every response, with a per-request CSP nonce.

folium's pages are inline scripts and styles; rather than allowing any inline
script or style, each response gets a fresh nonce that gridgov's own pages put on
their script and style tags (``add_nonce``), so an injected script or style sheet
without it does not apply. No ``'unsafe-inline'`` for styles either: the pages keep
their rules in static style sheets or nonced ``<style>`` elements, and scripts set
styles through the CSSOM (``node.style.x = ...``, as Leaflet does), which the CSP
does not govern; a ``style="..."`` attribute in markup is refused.
"""

import re
import secrets

from flask import g, has_app_context

__all__ = ["init_app", "csp_nonce", "add_nonce"]

_TAG = re.compile(r"<(script|style)(?=[\s>])")


def csp_nonce():
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_nonce(html):
    """Put this request's nonce on every <script> and <style> tag of ``html``."""
    nonce = csp_nonce()
    return _TAG.sub(lambda m: f'<{m.group(1)} nonce="{nonce}"', html)


def _policy_parts(basemap_sources=()):
    """The CSP cut where this request's nonce goes (in script-src and style-src),
    built once per application. ``basemap_sources``: the origins of the configured
    online basemap (``web.basemap.csp_sources``), which may serve images; an
    offline basemap is gridgov's own ('self')."""
    images = " ".join(("'self' data:", *basemap_sources))
    return (
        "default-src 'self'; "
        "script-src 'self'{nonce}; style-src 'self'{nonce}; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ).split("{nonce}")


# Set on every response; "Server" names no software and no version (the server
# adds its own name when the application sends none).
_FIXED = [
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Server", "gridgov"),
]


def _uncacheable(content_type):
    """Pages and JSON answers (werkzeug's ``is_json``: ``*/json``, ``*+json``)."""
    mimetype = content_type.split(";", 1)[0].strip().lower()
    return mimetype == "text/html" or mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json"))


def init_app(app):
    """Add the headers at the WSGI level, to the list the response hands the
    server: a tenth of the cost of setting them one by one on Werkzeug's
    ``Headers`` (which a located point paid on every request)."""
    app.jinja_env.globals["csp_nonce"] = csp_nonce
    from web.basemap import csp_sources

    parts = _policy_parts(csp_sources(app))
    no_inline = "".join(parts)
    inner = app.wsgi_app

    def with_headers(environ, start_response):
        def start(status, headers, exc_info=None):
            # runs inside the request's context: g holds the nonce a page used
            nonce = g.get("csp_nonce") if has_app_context() else None
            present = {name.lower(): value for name, value in headers}
            # a response that used no nonce (JSON, a tile, a page without inline
            # script or style) allows no inline script or style at all
            headers.append(("Content-Security-Policy", no_inline if nonce is None
                            else f" 'nonce-{nonce}'".join(parts)))
            headers.extend(h for h in _FIXED if h[0].lower() not in present)
            if "cache-control" not in present and _uncacheable(
                    present.get("content-type", "")):
                headers.append(("Cache-Control", "no-store"))
            return start_response(status, headers, exc_info)

        return inner(environ, start)

    app.wsgi_app = with_headers
