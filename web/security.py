"""Security headers on every response, with a per-request CSP nonce.

folium's pages are inline scripts; rather than allowing any inline script, each
response gets a fresh nonce that gridgov's own pages put on their script and style
tags (``add_nonce``), so an injected script without it does not run.
"""

import re
import secrets
from urllib.parse import urlsplit

from flask import current_app, g

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


def _policy():
    images = "'self' data:"
    basemap = current_app.config.get("BASEMAP_URL")
    if basemap:  # an optional tile server: its origin may serve images
        parts = urlsplit(basemap)
        images += f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{csp_nonce()}'; "
        # Leaflet positions every marker and tile through style attributes
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {images}; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def init_app(app):
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = _policy()
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers.pop("Server", None)
        if response.mimetype == "text/html" or response.is_json:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
