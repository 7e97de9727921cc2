"""The OpenAPI document, assembled from each blueprint's own fragment."""

from flask import Blueprint, jsonify

from api.auth import public

__all__ = ["document", "make_blueprint"]


def document(modules, prefix):
    paths = {}
    for module in modules:
        for path, item in module.OPENAPI.items():
            paths.setdefault(prefix + path, {}).update(item)
    paths[prefix + "/openapi.json"] = {
        "get": {"summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1"}}}
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "gridgov API", "version": "1"},
        "paths": paths,
    }


def make_blueprint(modules, prefix):
    bp = Blueprint("openapi", __name__)

    @bp.get("/openapi.json")
    @public
    def openapi():
        return jsonify(document(modules, prefix))

    return bp
