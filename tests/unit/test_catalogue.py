"""Every string a user reads comes from the one catalogue, geo/catalogue.py.

Three scans, each a list of findings that must be empty:

- the templates (web/templates): text between tags and the attributes a user
  reads (placeholder, title, alt, aria-label), outside ``{{ }}`` / ``{% %}``;
- the scripts (web/static, mobile/ too): string literals holding Chinese or
  English words (two words, or one capitalised word of prose), comments aside;
- the Python of api/, layers/, geo/, importers/, web/: an exception of
  layers/errors.py's classes (or a subclass of one), or click's UsageError /
  BadParameter / ClickException, made with a literal string or an f-string
  (or ``"…".format``, ``"…" % …``) as its message instead of a catalogue lookup.

The allow-lists below hold only what is not prose; each says why.
"""

import ast
import datetime as dt
import re
import string
from pathlib import Path

import pytest

from geo import catalogue

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff]")
WORDS = re.compile(r"[A-Za-z]{2,}[,.:;!?]? [A-Za-z]{2,}")
CAPITALISED = re.compile(r"^[A-Z][a-z]{2,}[.:!?…]?$")

# Not prose, and why:
TEMPLATE_ALLOWED = {
    "—",  # the empty value of a figure cell
    "%",  # after a number
    "·",  # a separator between two lookups
    "×",  # the close button's glyph (its label is aria-label, from the catalogue)
    "address=地址,size=人口",  # a column mapping as typed, the format itself
    "31.5721 / 北纬31度34分",  # a coordinate as typed, the format itself
    "120.2712 / 120°16'16&quot;E",  # the same, longitude
    "EPSG:4528",  # a CRS code as typed
    "· gridgov",  # the product's name after the page's title
}
SCRIPT_ALLOWED = {
    # the names of the in-app browsers the phone detects (proper names, as the
    # system shows them), mobile/app.js
    "企业微信", "钉钉", "微信",
    "Enter", "Escape",  # KeyboardEvent.key values
    "Accept", "Bearer",  # an HTTP header's name, the Authorization scheme
    "Point", "Polygon",  # GeoJSON geometry types
    "use strict",  # the directive
    "Leaflet",  # the map library's name in the attribution, a proper name (gg.js)
}
# where a script's string is markup, not words: class names, CSS selectors and
# media queries, by what they are given to
SCRIPT_SYNTAX = re.compile(
    r"(?:className\s*[:=]|classList\.\w+\(|querySelector(?:All)?\(|matchMedia\()"
    r"\s*$")


def _template_findings(path):
    source = path.read_text(encoding="utf-8")
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"<!--.*?-->", " ", source, flags=re.S)
    source = re.sub(r"<(script|style)\b[^>]*>.*?</\1>", " ", source, flags=re.S)
    source = re.sub(r"\{\{.*?\}\}", " ", source, flags=re.S)
    source = re.sub(r"\{%.*?%\}", " ", source, flags=re.S)
    found = []
    for match in re.finditer(r"\b(placeholder|title|alt|aria-label)=\"([^\"]*)\"",
                             source):
        value = match.group(2).strip()
        if value and value not in TEMPLATE_ALLOWED and re.search(
                r"[A-Za-z]{2,}|" + CJK.pattern, value):
            found.append(f"{path.relative_to(ROOT)}: {match.group(1)}={value!r}")
    text = re.sub(r"<[^>]*>", "\n", source)
    for chunk in text.split("\n"):
        chunk = chunk.strip()
        if not chunk or chunk in TEMPLATE_ALLOWED:
            continue
        if CJK.search(chunk) or re.search(r"[A-Za-z]{2,}", chunk):
            found.append(f"{path.relative_to(ROOT)}: {chunk!r}")
    return found


def _js_strings(source, markup=True):
    """The string literals of a script (quotes and template literals), comments
    and regular expression literals skipped; without ``markup``, those given as
    class names or selectors (:data:`SCRIPT_SYNTAX`) too."""
    out, i, n = [], 0, len(source)
    last = ""  # the last significant character, to tell a regex from a division
    while i < n:
        c = source[i]
        if source.startswith("//", i):
            i = source.find("\n", i)
            i = n if i < 0 else i
        elif source.startswith("/*", i):
            i = source.find("*/", i + 2) + 2
            i = n if i < 2 else i
        elif c in "'\"`":
            j, buf = i + 1, []
            while j < n and source[j] != c:
                if source[j] == "\\":
                    buf.append(source[j:j + 2])
                    j += 2
                    continue
                if c == "`" and source.startswith("${", j):
                    depth, j = 1, j + 2
                    while j < n and depth:
                        depth += {"{": 1, "}": -1}.get(source[j], 0)
                        j += 1
                    buf.append(" ")
                    continue
                buf.append(source[j])
                j += 1
            if markup or not SCRIPT_SYNTAX.search(source[max(0, i - 40):i]):
                out.append("".join(buf))
            i, last = j + 1, c
        elif c == "/" and last in "(,=:[!&|?{};+-*%<>~^" :
            j = i + 1
            in_class = False
            while j < n and (source[j] != "/" or in_class):
                if source[j] == "\\":
                    j += 1
                elif source[j] == "[":
                    in_class = True
                elif source[j] == "]":
                    in_class = False
                j += 1
            i, last = j + 1, "/"
        else:
            if not c.isspace():
                last = c
            i += 1
    return out


def _script_findings(path):
    found = []
    for literal in _js_strings(path.read_text(encoding="utf-8"), markup=False):
        value = literal.strip()
        if not value or value in SCRIPT_ALLOWED:
            continue
        if CJK.search(value):
            found.append(f"{path.relative_to(ROOT)}: {value!r}")
        elif WORDS.search(value) or (CAPITALISED.match(value)
                                     and value.lower() != value):
            found.append(f"{path.relative_to(ROOT)}: {value!r}")
    return found


# click's exceptions whose message the CLI's user reads
CLICK_ERRORS = {"UsageError", "BadParameter", "ClickException", "FileError"}


def _error_classes(trees):
    """layers/errors.py's classes and every class derived from one of them."""
    names = {"LayerError", "NotFound", "Invalid", "Conflict", "Unauthorized",
             "Forbidden", "TooManyRequests", "Unprocessable", "Unavailable"}
    grown = True
    while grown:
        grown = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        _name(base) in names for base in node.bases):
                    names.add(node.name)
                    grown = True
    return names | CLICK_ERRORS


def _name(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _literal(node):
    """Whether ``node`` is a message written in place: a string, an f-string,
    ``"…".format(…)``, ``"…" % …`` or ``"…" + …``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return True
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _literal(node.left) or _literal(node.right)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format"):
        return _literal(node.func.value)
    return False


PYTHON_PACKAGES = ("api", "layers", "geo", "importers", "web")


def _python_findings():
    files = [p for package in PYTHON_PACKAGES for p in (ROOT / package).rglob("*.py")
             if "vendor" not in p.parts and "node_modules" not in p.parts]
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in files}
    classes = _error_classes(trees.values())
    found = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _name(node.func) in classes):
                continue
            message = node.args[0] if node.args else next(
                (k.value for k in node.keywords if k.arg in ("message", "hint")),
                None)
            if message is not None and _literal(message):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                             f"{_name(node.func)}({ast.unparse(message)[:70]})")
    return found + _bilingual_findings(trees)


def _bilingual_findings(trees):
    """``bilingual("中文", "English")`` written in place: a message outside the
    catalogue even though it is in both languages (geo/vocab.py defines the form
    and the catalogue uses it)."""
    found = []
    for path, tree in trees.items():
        if path.name in ("vocab.py", "catalogue.py"):
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and _name(node.func) == "bilingual"
                    and any(_literal(a) for a in node.args)):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: "
                             f"{ast.unparse(node)[:80]}")
    return found


def _templates():
    return sorted((ROOT / "web" / "templates").rglob("*.html"))


def _scripts():
    return sorted((ROOT / "web" / "static").rglob("*.js"))


def test_templates_take_their_words_from_the_catalogue():
    found = [f for path in _templates() for f in _template_findings(path)]
    assert not found, f"{len(found)} strings outside the catalogue:\n" + "\n".join(
        found)


def test_scripts_take_their_words_from_the_catalogue():
    found = [f for path in _scripts() for f in _script_findings(path)]
    assert not found, f"{len(found)} strings outside the catalogue:\n" + "\n".join(
        found)


def test_errors_are_raised_with_catalogue_messages():
    found = _python_findings()
    assert not found, f"{len(found)} errors with a literal message:\n" + "\n".join(
        found)


def test_the_scans_see_what_they_look_for():
    """The scanners themselves: a literal message, prose in a page and in a
    script are found; lookups, syntax and comments are not."""
    tree = ast.parse('raise Invalid("the body must be JSON", field="body")\n'
                     'raise Invalid(f"no grid {code}")\n'
                     'raise Invalid(say("body_not_object"), field="body")\n'
                     'raise click.BadParameter("not a date")\n')
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and _name(n.func) in _error_classes([tree])]
    assert [_literal(c.args[0]) for c in calls] == [True, True, False, True]
    assert _js_strings("var a = 'Save it'; // 'not me'\n"
                       "b = /x'y/.test(s) ? `A ${x} b` : \"c\";") == [
        "Save it", "A   b", "c"]
    assert WORDS.search("Save it") and not WORDS.search("rank-badge")
    assert _js_strings("el('b', {className: 'link drill'}, 'Save it');",
                       markup=False) == ["b", "Save it"]


def test_every_entry_is_chinese_then_english():
    for key, (zh, en) in catalogue.CATALOGUE.items():
        # Chinese, unless it is names only (file formats, a datum: WGS-84)
        assert CJK.search(zh) or key in ("import_formats", "import_crs_wgs84"), key
        names = {n for _, n, _, _ in string.Formatter().parse(zh) if n}
        names |= {n for _, n, _, _ in string.Formatter().parse(en) if n}
        for sample in ("V", 1.5, dt.datetime(2026, 12, 7)):  # a format spec's type
            values = {n.split("!")[0].split(".")[0]: sample for n in names}
            try:
                said = catalogue.say(key, **values)
            except (ValueError, TypeError):
                continue
            break
        assert said.endswith("）"), key


RANKING_WORDS = ("rank_weights", "rank_coverage_unknown", "rank_rank", "rank_name",
                 "rank_code", "rank_score", "rank_resolution", "rank_timeliness",
                 "rank_coverage", "rank_received", "overdue_open")


@pytest.mark.parametrize("path", ["web/templates/rankings.html",
                                  "layers/ranking_print.py", "api/stats.py"])
def test_the_ranking_words_live_once(path):
    """The weights sentence and the columns: the page, the PDF and the XLSX take
    them from the catalogue by key; none writes its own (the sentence, or a
    column's Chinese header, in place)."""
    source = (ROOT / path).read_text(encoding="utf-8")
    assert "×50%" not in source and "50 %" not in source
    literals = set()
    if path.endswith(".py"):
        literals = {n.value for n in ast.walk(ast.parse(source))
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    for key in RANKING_WORDS:
        zh, en = catalogue.CATALOGUE[key]
        assert zh not in literals and f"{zh} {en}" not in literals, (path, key)
    used = set(re.findall(r"[\"'](rank_[a-z_0-9]+)[\"']", source))
    assert {"rank_weights", "rank_score"} <= used, path


def test_the_weights_sentence_says_the_weights():
    """The one sentence the three places print matches the weights scored."""
    from geo import ranking
    zh, en = catalogue.CATALOGUE["rank_weights"]
    for share in ranking.WEIGHTS.values():
        assert f"×{share:.0%}" in zh and f"× {share:.0%}" in en


def test_no_string_twice():
    """A (中文, English) pair lives under one key: a word several pages use (保存
    Save, 取消 Cancel, 层级 Level …) is one entry of the common section, which
    every page hands its scripts with its own prefix's keys (web.i18n.page_strings),
    not a copy under each page's prefix."""
    keys = {}
    for key, pair in catalogue.CATALOGUE.items():
        keys.setdefault(pair, []).append(key)
    twice = {pair: ks for pair, ks in keys.items() if len(ks) > 1}
    assert not twice, twice


@pytest.mark.parametrize("prefix", ["dispatch_", "plan_", "import_", "tracks_", "m_",
                                    "ov_"])
def test_every_page_gets_the_common_words(prefix):
    """A page's slice holds the common words beside its own, so its scripts find
    保存 Save under ``save`` whichever page they run on."""
    from web.i18n import page_strings
    strings = page_strings(prefix)
    assert catalogue.COMMON.items() <= strings.items()
    own = {k for k in strings if k not in catalogue.COMMON}
    assert own and all(k.startswith(prefix) for k in own), prefix
