"""Parameters declared once: the declaration parses the request (a 400 naming
the parameter) and writes the route's OpenAPI entry (``api.openapi``).

How a route declares what it takes::

    @bp.get("/heatmap")
    @requires("incidents:read")
    @accepts(FROM, TO, CELL_M, BBOX,
             ChoiceParam("format", "格式", "compact rows or GeoJSON squares",
                         default="compact", choices=("compact", "geojson")),
             responses={200: obj("the cells", cells=ARRAY)})
    def heatmap(from_, to, cell_m, bbox, format):
        ...

- Each query parameter is a :class:`Param` (``IntParam``, ``FloatParam``,
  ``AngleParam``, ``FlagParam``, ``DateParam``, ``MomentParam``, ``TextParam``,
  ``ChoiceParam``, ``BboxParam``; or ``Param(name, parse=fn, schema=...)`` for a
  rule of its own). The common ones are constants here (``GRID``, ``BBOX``,
  ``CELL_M``, ``FROM``, ``TO``, ``SINCE``, ``UNTIL``, ``LIMIT``, ``OFFSET``,
  ``MONTH``, ``LEVEL``…); ``PARAM.but(default=…, en=…)`` is a variant of one.
  ``errors=(404,)`` on a parameter lists the statuses its value may bring (an
  unknown grid: 404), documented on every route that takes it.
- :func:`accepts` parses them all before the view and passes each value as a
  keyword argument named after the parameter (``from`` → ``from_``); the path
  parameters come from Flask as before (``path=`` gives them descriptions).
- ``body=`` is a JSON schema (:func:`api.openapi.obj`): the body must be a
  JSON object and each declared field of the declared JSON type (a 400 naming
  the field; a missing required one is named by the layer); the view reads it with
  :func:`json_body`. Deeper rules (ranges, codes, geometries) stay in the view
  or the layer, with their own messages.
- ``responses=`` maps a status to a schema (``obj``, ``array``,
  ``FEATURE_COLLECTION``, ``file(...)``); the error answers (400 when the route
  takes parameters or a body, 401/403 unless public, 404 with path parameters,
  ``errors=(409, 422, ...)`` for more) are added with the error body's schema.
- A route without ``@accepts`` is still listed in the document (its docstring
  as summary), so nothing is missing; convert it to get its parameters in. A
  route registered twice (a save and its preview) declares both (see
  ``api.grid_edit._with_preview``). New routes need their rows in
  ``tests/integration/access_matrix_table.py`` as before; the conformance test
  (``tests/integration/test_openapi_conformance.py``) then checks them.

Besides the parsers, one check runs before every request (:func:`init_app`):
text containing a NUL character, in any parameter, path segment, form field, JSON
field or file name, is refused with a 400 naming where it was (PostgreSQL cannot
store NUL in text and would fail the request later with a 500); a JSON body must
be a JSON object.
"""

import dataclasses
import datetime as dt
import functools
import keyword
import math

import pandas as pd
from flask import request
from werkzeug.exceptions import BadRequest

from geo.catalogue import say
from geo.vocab import bilingual
from geo.workdays import CHINA_TZ
from importers.coordinates import parse_angles
from layers.errors import Invalid

__all__ = ["init_app", "raw_arg", "float_arg", "int_arg", "bbox_arg", "angle_arg",
           "date_arg", "moment_arg", "flag_arg", "parse_date", "parse_moment",
           "ordered",
           "text_field", "int_field", "json_body", "number_field", "EARLIEST",
           "LATEST", "Param", "IntParam", "FloatParam", "AngleParam", "FlagParam",
           "DateParam", "MomentParam", "TextParam", "ChoiceParam", "BboxParam",
           "accepts", "spec_of", "GRID", "BBOX", "CELL_M", "FROM", "TO", "SINCE",
           "UNTIL", "LIMIT", "OFFSET", "MONTH", "LEVEL", "PREVIEW", "CODE"]

# Dates the API accepts: a governance record is neither older nor far in the
# future, and a margin of years keeps date arithmetic (a week before, a day
# after, any time zone) away from Python's year 1 and 9999.
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)


def init_app(app):
    """Refuse NUL characters and JSON bodies that are not objects, before any view
    (and before the user lookup, which would send a NUL token to the database)."""
    app.before_request(_refuse_hostile_text)


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _refuse_hostile_text():
    # The hot path (a GET with a few parameters) pays for three substring
    # searches in the WSGI environ (each ``request.x`` costs a context lookup);
    # where the NUL is is looked for only once one is found.
    req = request._get_current_object()
    environ = req.environ
    if "\x00" in environ.get("HTTP_AUTHORIZATION", ""):
        raise _nul("Authorization")
    if "\x00" in environ.get("PATH_INFO", ""):
        for name, value in (req.view_args or {}).items():
            if isinstance(value, str) and "\x00" in value:
                raise _nul(name)
    query = environ.get("QUERY_STRING", "")
    if "%00" in query or "\x00" in query:
        _refuse_nul_in(req.args)
    if not environ.get("CONTENT_TYPE"):
        return
    if req.mimetype in _FORMS:
        _refuse_nul_in(req.form)
        for name, upload in req.files.items(multi=True):
            if "\x00" in (name or "") or "\x00" in (upload.filename or ""):
                raise _nul(name)
    elif req.is_json and req.get_data(cache=True).strip():
        _check_json()


def _refuse_nul_in(values):
    for name, value in values.items(multi=True):
        name = name or "form"  # a multipart part may come without a name
        if "\x00" in name or "\x00" in value:
            raise _nul(name)


def _check_json():
    try:
        body = request.get_json()
    except BadRequest:
        raise Invalid(say("err_request_body_json_object_2"), field="body") from None
    if not isinstance(body, dict):
        raise Invalid(say("err_request_body_json_object"),
                      field="body")
    # JSON writes NUL as \u0000 (a raw one is invalid JSON): look for where only
    # when it is there
    data = request.get_data(cache=True)
    if b"\\u0000" in data or b"\x00" in data:
        where = _nul_in(body)
        if where is not None:
            raise _nul(where)


def _nul_in(body):
    """The path (``grids.features[0].name``) of the first text, value or key,
    holding NUL in a JSON body, else None. A loop, not recursion: JSON may nest
    deeper than Python's recursion limit."""
    stack = [("", body)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return path or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                where = f"{path}.{key}" if path else key
                if "\x00" in key:
                    return where
                stack.append((where, item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None


def _nul(name):
    shown = name.replace("\x00", "\\x00")
    return Invalid(say("err_contains_nul_character_x", shown=shown), field=shown)


def raw_arg(name):
    """A query parameter as sent (None when absent), for a ``Param`` whose
    value a layer checks itself."""
    return request.args.get(name)


def float_arg(name, low, high, required=True):
    """A float query parameter within ``[low, high]``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise _invalid(name, f"缺少参数“{name}”", f"parameter '{name}' is required")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise _invalid(name, f"参数“{name}”须为数字，收到 {raw!r}",
                       f"parameter '{name}' must be a number, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise _out_of_range(name, low, high, raw)
    return value


def angle_arg(name, low, high, required=True):
    """An angle in degrees within ``[low, high]``: decimal, or degrees-minutes-
    seconds as people type them (116°23'17.5"E, 北纬31度34分, 31 34 12.5)."""
    raw = request.args.get(name)
    if raw is not None and raw.strip() and not _is_number(raw):
        value = parse_angles(pd.Series([raw.strip()], dtype=object))[0]
        if not math.isfinite(value):
            raise _invalid(name, f"参数“{name}”须为度数（十进制或度分秒），"
                           f"收到 {raw!r}", f"parameter '{name}' must be degrees "
                           f"(decimal or degrees-minutes-seconds), got {raw!r}")
        if not low <= value <= high:
            raise _out_of_range(name, low, high, f"{raw} = {value:.7f}")
        return value
    return float_arg(name, low, high, required)


def _is_number(raw):
    try:
        float(raw)
    except ValueError:
        return False
    return True


def flag_arg(name, default=False):
    """A yes/no query parameter (1/true/yes/on or 0/false/no/off); ``default``
    when absent. Anything else is refused rather than read as no."""
    text = request.args.get(name, "").strip().lower()
    if not text:
        return default
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raw = request.args[name]
    raise _invalid(name, f"参数“{name}”须为 true 或 false（1 或 0），收到 {raw!r}",
                   f"parameter '{name}' must be true or false (1 or 0), got {raw!r}")


def date_arg(name, required=False):
    """A date query parameter YYYY-MM-DD, from :data:`EARLIEST` to :data:`LATEST`;
    None when absent unless ``required``."""
    raw = request.args.get(name, "").strip()
    if not raw and not required:
        return None
    return parse_date(raw, name)


def moment_arg(name):
    """An ISO 8601 date or date-time query parameter (see :func:`parse_moment`)."""
    return parse_moment(request.args.get(name), name)


def parse_date(raw, name):
    """``raw`` (text YYYY-MM-DD) as a date from :data:`EARLIEST` to :data:`LATEST`."""
    try:
        day = dt.date.fromisoformat(raw)
    except (TypeError, ValueError):
        raise Invalid(say("err_date_yyyy_mm_dd", name=name, raw=raw),
                      field=name) from None
    _within_range(day, name, raw)
    return day


def parse_moment(raw, name):
    """``raw`` (text: an ISO 8601 date or date-time) as an aware datetime, China
    time when it gives no offset; None when absent or empty. Its date must lie
    from :data:`EARLIEST` to :data:`LATEST`."""
    if raw is None or raw == "":
        return None
    problem = say("err_iso_date_date_time", name=name, raw=raw)
    if not isinstance(raw, str):
        raise Invalid(problem, field=name)
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise Invalid(problem, field=name) from None
    _within_range(value.date(), name, raw)
    return value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)


def _within_range(day, name, raw):
    if not EARLIEST <= day <= LATEST:
        raise Invalid(say("err_between", name=name, EARLIEST=EARLIEST, LATEST=LATEST,
                          raw=raw), field=name)


def ordered(since, until, since_name, until_name):
    """Refuse a window whose start (``since_name``) is after its end."""
    if since is not None and until is not None and since > until:
        raise Invalid(say("err_after", since_name=since_name, until_name=until_name),
                      field=since_name)


def text_field(body, name, required=False):
    """The text field ``name`` of a JSON body, or None when absent or null (a
    400 when ``required``); anything but text is refused."""
    value = body.get(name)
    if value is None:
        if required:
            raise Invalid(say("err_required", field=name),
                          field=name)
        return None
    if not isinstance(value, str):
        raise Invalid(say("err_text", name=name, v=_kind(value)),
                      field=name)
    return value


def int_field(body, name):
    """The whole-number field ``name`` of a JSON body, or None when absent or
    null; anything else (text, a fraction, true/false) is refused."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
        raise Invalid(say("err_whole_number", name=name, v=_kind(value)), field=name)
    return value


def _kind(value):
    """What a JSON value is, in JSON's words."""
    if isinstance(value, bool):
        return "true/false"
    return {dict: "object", list: "array", str: "text", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def int_arg(name, low, high, default=None):
    """An optional integer query parameter within ``[low, high]``."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, f"参数“{name}”须为整数，收到 {raw!r}",
                       f"parameter '{name}' must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise _out_of_range(name, low, high, raw)
    return value


def bbox_arg(name="bbox"):
    """``min_lon,min_lat,max_lon,max_lat`` in EPSG:4326, or None when absent."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return None
    problem = _invalid(name, f"参数“{name}”须为 最小经度,最小纬度,最大经度,最大纬度"
                       f"（度，最小值不大于最大值），收到 {raw!r}",
                       f"parameter '{name}' must be min_lon,min_lat,max_lon,max_lat "
                       f"in degrees with min <= max, got {raw!r}")
    parts = raw.split(",")
    if len(parts) != 4:
        raise problem
    try:
        x0, y0, x1, y1 = (float(p) for p in parts)
    except ValueError:
        raise problem from None
    if not ((-180 <= x0 <= x1 <= 180) and (-90 <= y0 <= y1 <= 90)):
        raise problem
    return (x0, y0, x1, y1)


def _invalid(name, zh, en):
    return Invalid(bilingual(zh, en), field=name)


def _out_of_range(name, low, high, got):
    return _invalid(name, f"参数“{name}”须在 {low} 至 {high} 之间，收到 {got}",
                    f"parameter '{name}' must be between {low} and {high}, got {got}")


def json_body(required=True):
    """The request's JSON object (a 400 naming ``body`` for anything else); ``{}``
    for an empty body when not ``required``."""
    body = request.get_json(silent=True)
    if body is None and not required and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise Invalid(say("err_request_body_json_object"),
                      field="body")
    return body


def number_field(body, name):
    """The required finite number ``name`` of a JSON body (text of a number too)."""
    value = body.get(name)
    problem = Invalid(say("err_required_finite_number", name=name,
                          value=value), field=name)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise problem
    try:
        value = float(value)
    except ValueError:
        raise problem from None
    if not math.isfinite(value):
        raise problem
    return value


# -- declarations ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter: its name, where it is, how it is read, what it means.

    ``parse`` (for a rule of its own) takes the parameter's name and returns the
    value, raising ``Invalid`` naming it; ``schema`` is its OpenAPI schema.
    """

    name: str
    zh: str = ""
    en: str = ""
    default: object = None
    required: bool = False
    where: str = "query"
    parse: object = None
    schema: dict = dataclasses.field(default_factory=lambda: {"type": "string"})
    errors: tuple = ()  # statuses its value may bring besides 400 (a grid: 404)

    @property
    def key(self):
        """The view's keyword for the value (``from`` → ``from_``)."""
        key = self.name.replace("-", "_")
        return key + "_" if keyword.iskeyword(key) else key

    def but(self, **changes):
        return dataclasses.replace(self, **changes)

    def read(self):
        """The value of the request (the default when absent)."""
        if self.parse is not None:
            return self.parse(self.name)
        raw = request.args.get(self.name, "").strip()
        if not raw:
            if self.required:
                raise Invalid(say("err_required", field=self.name), field=self.name)
            return self.default
        return raw

    def openapi_schema(self):
        schema = dict(self.schema)
        if self.default is not None and not self.required:
            schema.setdefault("default", self.default)
        return schema

    def openapi(self):
        """The OpenAPI parameter object."""
        text = f"{self.zh}（{self.en}）" if self.zh and self.en else self.zh or self.en
        found = {"name": self.name, "in": self.where,
                 "required": self.required or self.where == "path",
                 "schema": self.openapi_schema()}
        if text:
            found["description"] = text
        return found


@dataclasses.dataclass(frozen=True)
class IntParam(Param):
    low: int = 0
    high: int = 2**31 - 1

    def read(self):
        value = int_arg(self.name, self.low, self.high, default=self.default)
        if value is None and self.required:
            raise Invalid(say("err_required", field=self.name), field=self.name)
        return value

    def openapi_schema(self):
        return {"type": "integer", "minimum": self.low, "maximum": self.high} | (
            {"default": self.default} if self.default is not None else {})


@dataclasses.dataclass(frozen=True)
class FloatParam(Param):
    low: float = -math.inf
    high: float = math.inf

    def read(self):
        value = float_arg(self.name, self.low, self.high, required=self.required)
        return self.default if value is None else value

    def openapi_schema(self):
        return {"type": "number", "minimum": self.low, "maximum": self.high} | (
            {"default": self.default} if self.default is not None else {})


@dataclasses.dataclass(frozen=True)
class AngleParam(FloatParam):
    """Degrees, decimal or degrees-minutes-seconds (see :func:`angle_arg`)."""

    def read(self):
        return angle_arg(self.name, self.low, self.high, required=self.required)

    def openapi_schema(self):
        return {"type": "string", "description": "decimal degrees or "
                f"degrees-minutes-seconds, {self.low} to {self.high}"}


@dataclasses.dataclass(frozen=True)
class FlagParam(Param):
    def read(self):
        return flag_arg(self.name, default=self.default)

    def openapi_schema(self):
        return {"type": "boolean"} | (
            {"default": self.default} if self.default is not None else {})


@dataclasses.dataclass(frozen=True)
class DateParam(Param):
    def read(self):
        return date_arg(self.name, required=self.required)

    def openapi_schema(self):
        return {"type": "string", "format": "date"}


@dataclasses.dataclass(frozen=True)
class MomentParam(Param):
    def read(self):
        return moment_arg(self.name)

    def openapi_schema(self):
        return {"type": "string", "format": "date-time",
                "description": "ISO 8601 date or date-time (China time without "
                               "an offset)"}


@dataclasses.dataclass(frozen=True)
class TextParam(Param):
    """Text (stripped); None, or the default, when absent or empty."""


@dataclasses.dataclass(frozen=True)
class ChoiceParam(Param):
    """One of ``choices``; ``refuse(raw)`` words the 400 (default: one of …)."""

    choices: tuple = ()
    refuse: object = None

    def read(self):
        raw = request.args.get(self.name, "").strip()
        if not raw:
            return self.default
        if raw not in self.choices:
            message = self.refuse(raw) if self.refuse else say(
                "err_param_one_of", name=self.name,
                allowed=", ".join(self.choices), raw=raw)
            raise Invalid(message, field=self.name)
        return raw

    def openapi_schema(self):
        return {"type": "string", "enum": list(self.choices)} | (
            {"default": self.default} if self.default is not None else {})


@dataclasses.dataclass(frozen=True)
class BboxParam(Param):
    def read(self):
        return bbox_arg(self.name)

    def openapi_schema(self):
        return {"type": "string", "pattern": r"^[^,]+,[^,]+,[^,]+,[^,]+$",
                "description": "min_lon,min_lat,max_lon,max_lat (WGS-84 degrees)"}


GRID = TextParam("grid", "网格编码，其下的子树", "a grid's code: its subtree only",
                 errors=(404,))
BBOX = BboxParam("bbox", "范围：最小经度,最小纬度,最大经度,最大纬度",
                 "min_lon,min_lat,max_lon,max_lat (WGS-84)")
CELL_M = IntParam("cell_m", "格子边长（米，50 的倍数）",
                  "cell size in metres, a multiple of 50", low=50, high=51200)
FROM = DateParam("from", "第一天（北京时间，含）", "first day (China time), inclusive")
TO = DateParam("to", "最后一天（北京时间，含）", "last day (China time), inclusive")
SINCE = MomentParam("since", "起始时刻", "from this moment")
UNTIL = MomentParam("until", "截止时刻", "up to this moment")
LIMIT = IntParam("limit", "每页条数", "items per page", default=100, low=1, high=1000)
OFFSET = IntParam("offset", "跳过的条数", "items to skip", default=0, low=0,
                  high=10**9)
MONTH = TextParam("month", "月份 YYYY-MM（北京时间）", "YYYY-MM, China time",
                  schema={"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"})
LEVEL = IntParam("level", "网格层级 1–4", "grid level 1–4", low=1, high=4)
PREVIEW = FlagParam("preview", "只预览，不保存", "preview only: nothing saved",
                    default=False)
CODE = Param("code", "网格编码", "a grid's code", where="path")


@dataclasses.dataclass(frozen=True)
class Spec:
    """What :func:`accepts` declared for a view (``api.openapi`` reads it)."""

    query: tuple
    body: dict | None
    body_required: bool
    responses: dict
    errors: tuple
    path: tuple
    headers: tuple
    summary: str | None
    content_type: str


def accepts(*query, body=None, body_required=True, responses=None, errors=(),
            path=(), headers=(), summary=None, content_type="application/json"):
    """Declare a view's query parameters, JSON body and answers (see the module's
    docstring); parse and check them before the view, which gets each query
    parameter's value as a keyword argument."""
    spec = Spec(tuple(query), body, body_required, dict(responses or {}),
                tuple(errors), tuple(path), tuple(headers), summary, content_type)

    readers = [(param.key, param.read) for param in spec.query]

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            for key, read in readers:
                kwargs[key] = read()
            if spec.body is not None and content_type == "application/json" and (
                    request.method in _WITH_BODY):
                check_body(json_body(required=spec.body_required), spec.body)
            return view(*args, **kwargs)

        wrapper.api_spec = spec
        return wrapper

    return decorate


_WITH_BODY = ("POST", "PUT", "PATCH")


def spec_of(view):
    """The :class:`Spec` of a view, through its other decorators; None if none."""
    while view is not None:
        found = getattr(view, "api_spec", None)
        if found is not None:
            return found
        view = getattr(view, "__wrapped__", None)
    return None


_JSON_KINDS = {
    "string": (lambda v: isinstance(v, str), "文本", "text"),
    "integer": (lambda v: isinstance(v, int) and not isinstance(v, bool)
                and abs(v) < 2**63, "整数", "a whole number"),
    "number": (lambda v: isinstance(v, int | float) and not isinstance(v, bool)
               and math.isfinite(v), "数字", "a number"),
    "boolean": (lambda v: isinstance(v, bool), "true 或 false", "true or false"),
    "array": (lambda v: isinstance(v, list), "数组 […]", "an array […]"),
    "object": (lambda v: isinstance(v, dict), "对象 {…}", "an object {…}"),
}


def check_body(body, schema):
    """The declared fields of a JSON object body: each one given (not null) of
    its JSON type; a 400 naming the first one wrong. A field declared with
    ``oneOf`` (several types) or no type is left to the view; so are the required
    ones missing (the layer names them, in its order and words)."""
    for name, field in schema.get("properties", {}).items():
        value = body.get(name)
        kind = field.get("type")
        if value is None or kind not in _JSON_KINDS:
            continue
        fits, want_zh, want = _JSON_KINDS[kind]
        if fits(value):
            continue
        if kind == "string":
            raise Invalid(say("err_text", name=name, v=_kind(value)), field=name)
        if kind == "integer":
            raise Invalid(say("err_whole_number", name=name, v=_kind(value)),
                          field=name)
        raise Invalid(say("err_json_kind", name=name, want_zh=want_zh, want=want,
                          v=_kind(value)), field=name)
