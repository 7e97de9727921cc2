"""The OpenAPI documents, generated from the routes' declarations
(``api.params.accepts``): ``/api/v1/openapi.json`` and, from the same code,
``/ogc/openapi.json`` (``api.ogc`` names its collections in it).

Both are OpenAPI 3.0.3, the version OGC API – Features asks for, so one writer
serves both (3.0 says "nullable" where 3.1 says ``type: [.., "null"]``).
Schemas are written with the helpers below: ``obj(description, field=schema,
...)``, ``array(items)``, ``FEATURE_COLLECTION``, ``FEATURE``, ``file(type)``.
"""

import hashlib
import re
import threading

from flask import Blueprint, current_app, render_template, request, url_for

from api.auth import public
from api.params import accepts, spec_of

__all__ = ["document", "served", "make_blueprint", "obj", "array", "nullable", "file",
           "FEATURE", "FEATURE_COLLECTION", "ERROR", "STRING", "INTEGER", "NUMBER",
           "BOOLEAN", "OBJECT", "ARRAY", "TIME", "VERSION"]

VERSION = "3.0.3"
STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
OBJECT = {"type": "object"}
ARRAY = {"type": "array"}
TIME = {"type": "string", "format": "date-time"}


def nullable(schema):
    """``schema`` or null."""
    return {**schema, "nullable": True}


def obj(description=None, /, required=(), **fields):
    """A JSON object with these fields (others allowed); ``required``: those
    always there (fields named ``from_`` are written ``from``)."""
    schema = {"type": "object", "properties": {
        name.rstrip("_"): value for name, value in fields.items()}}
    if required:
        schema["required"] = list(required)
    if description:
        schema["description"] = description
    return schema


def array(items=None, description=None):
    schema = {"type": "array", "items": items or {}}
    if description:
        schema["description"] = description
    return schema


def file(media_type, description="the file"):
    """An answer that is a file, not JSON."""
    return {"x-media-type": media_type, "type": "string", "format": "binary",
            "description": description}


_GEOMETRY = nullable({"type": "object", "required": ["type"],
                      "properties": {"type": STRING}})
FEATURE = obj("GeoJSON Feature", required=("type",),
              type={"type": "string", "enum": ["Feature"]}, geometry=_GEOMETRY,
              properties=nullable(OBJECT))
FEATURE_COLLECTION = obj("GeoJSON FeatureCollection", required=("type", "features"),
                         type={"type": "string", "enum": ["FeatureCollection"]},
                         features=array(FEATURE))
ERROR = obj("错误（the error）", required=("error",), error=obj(
    required=("code", "message"), code=STRING,
    message={"type": "string", "description": "中文（English）"},
    field={"type": "string", "description": "the parameter or field at fault"}))
_ERRORS = {400: "参数或字段有误（bad parameter or field, named in error.field）",
           401: "未登录（not logged in: a session, a Bearer token or Basic）",
           403: "无权限或在辖区外（the role may not, or outside your jurisdiction）",
           404: "不存在或不在辖区内（unknown, or not in your jurisdiction）",
           405: "此集合不能这样编辑（not editable this way）",
           406: "不支持的格式（unsupported format）",
           409: "冲突：已被他人修改或状态不允许（conflict: changed meanwhile, or not "
                "allowed in this state）",
           412: "If-Match 已过时（stale If-Match）",
           413: "超过上限（over the cap）",
           422: "会破坏网格层级或无法处理（would break the hierarchy, or cannot be "
                "processed）",
           428: "缺少 If-Match（If-Match missing）",
           429: "尝试过多（too many attempts: wait）",
           503: "数据库或字体暂不可用（the database, or a font, is unavailable）"}
_CONVERTER_TYPES = {"IntegerConverter": INTEGER, "FloatConverter": NUMBER}


def _answer(status, schema, content_type):
    if status == 204 or schema is None:
        return {"description": "完成（done）"}
    if isinstance(schema, str):
        return {"description": schema}
    media = schema.get("x-media-type", content_type)
    description = schema.get("description") or "OK"
    clean = {k: v for k, v in schema.items() if k != "x-media-type"}
    return {"description": description, "content": {media: {"schema": clean}}}


def _operation(rule, method, view, error_body):
    spec = spec_of(view)
    doc = (view.__doc__ or "").strip().split("\n\n")[0]
    summary = spec.summary if spec and spec.summary else " ".join(doc.split()) \
        or view.__name__.replace("_", " ")
    described = {p.name: p for p in (spec.path if spec else ())}
    params = []
    for name, converter in rule._converters.items():
        param = described.get(name)
        schema = _CONVERTER_TYPES.get(type(converter).__name__, STRING)
        entry = param.openapi() if param else {"name": name, "in": "path",
                                               "required": True}
        entry.setdefault("schema", schema)
        if param and param.schema == {"type": "string"}:
            entry["schema"] = schema
        params.append(entry)
    op = {"summary": summary, "operationId": f"{rule.endpoint}.{method.lower()}"}
    responses = {}
    if spec:
        params += [p.openapi() for p in spec.query]
        if spec.body is not None and method in ("POST", "PUT", "PATCH"):
            op["requestBody"] = {"required": spec.body_required, "content": {
                spec.content_type: {"schema": spec.body}}}
        for status, schema in spec.responses.items():
            responses[str(status)] = _answer(status, schema, "application/json")
    if not responses:
        responses["200"] = {"description": "OK"}
    codes = set(spec.errors if spec else ())
    for param in spec.query if spec else ():
        codes.update(param.errors)
    if params or "requestBody" in op or not spec:
        codes.add(400)
    if getattr(view, "permission", "") is not None:
        codes |= {401, 403}
    if rule._converters:
        codes.add(404)
    for code in sorted(codes):
        responses.setdefault(str(code), {"description": _ERRORS.get(code, "error"),
                                         "content": {"application/json": {
                                             "schema": error_body}}})
    params += [p.openapi() for p in (spec.headers if spec else ())]
    if params:
        op["parameters"] = params
    op["responses"] = responses
    return op


def paths(app, prefix, error_body):
    """The operations of every route under ``prefix``, by OpenAPI path;
    ``error_body``: the schema (or its $ref) of the error answers."""
    found = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not (rule.rule == prefix or rule.rule.startswith(prefix + "/")):
            continue
        view = app.view_functions[rule.endpoint]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.setdefault(path, {})[method.lower()] = _operation(
                rule, method, view, error_body)
    return found


def document(app, prefix, title="gridgov API", error_body=ERROR, error="Error"):
    """The OpenAPI 3.0 document of the routes under ``prefix``; the error answers
    refer to ``error_body``, kept in its components as ``error``."""
    ref = {"$ref": f"#/components/schemas/{error}"}
    return {
        "openapi": VERSION,
        "info": {"title": title, "version": "1",
                 "description": "网格化治理平台接口（gridgov's API）: JSON and "
                                "GeoJSON; errors are {error: {code, message, "
                                "field}}, messages 中文（English）."},
        "paths": paths(app, prefix, ref),
        "components": {"schemas": {error: error_body}, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "session"}}},
        "security": [{"bearer": []}, {"basic": []}, {"cookie": []}, {}],
    }


_CACHE = "gridgov.openapi"  # app.extensions: {(key, routes): (body, etag)}
_BUILDING = threading.Lock()


def served(key, build):
    """The answer with the generated document ``key``: ``build()`` runs and its
    JSON is encoded once per application (and set of routes: Flask takes no new
    route once it serves, so in practice once), then every request gets the same
    bytes, with an ETag (a client holding them gets 304)."""
    app = current_app._get_current_object()
    cache = app.extensions.setdefault(_CACHE, {})
    routes = sum(1 for _ in app.url_map.iter_rules())
    found = cache.get((key, routes))
    if found is None:
        with _BUILDING:
            found = cache.get((key, routes))
            if found is None:
                body = app.json.dumps(build()).encode()
                found = (body, hashlib.sha256(body).hexdigest()[:32])
                cache[(key, routes)] = found
    body, etag = found
    answer = app.response_class(body, mimetype="application/json")
    answer.set_etag(etag)
    return answer.make_conditional(request)


def make_blueprint(prefix):
    bp = Blueprint("openapi", __name__)

    @bp.get("/openapi.json")
    @public
    @accepts(responses={200: obj("OpenAPI 3.0", required=("openapi", "paths"),
                                 openapi=STRING, paths=OBJECT)})
    def openapi():
        """This document (OpenAPI 3.0)."""
        return served(prefix, lambda: document(current_app, prefix))

    @bp.get("/docs")
    @public
    @accepts(responses={200: file("text/html", "the page")})
    def docs():
        """This document as a page (Swagger UI)."""
        return render_template("api_docs.html", spec_url=url_for("openapi.openapi"))

    return bp
