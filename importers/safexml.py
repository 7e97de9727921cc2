"""XML parsed with defusedxml: entity expansion and external entities refused.

GPX and KML never need a DTD's entities; a file that declares them is either
broken or an attack (the "billion laughs" grows a few hundred bytes into
gigabytes; an external entity reads files of the server or reaches the network).
"""

import re

__all__ = ["decode", "parse", "local_name", "root_name"]

_DECLARED = re.compile(rb"^\s*<\?xml[^>]*?encoding=[\"']([A-Za-z0-9._\-]+)[\"']")
_ROOT = re.compile(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)[\s>/]")


def decode(data, what="XML file"):
    """``(text, encoding)`` of an XML file: by its BOM, else its declaration, else
    UTF-8.

    expat reads no multi-byte encoding but UTF-8 and UTF-16, so a GPX or KML file
    declared as GBK (Chinese tools write them) is decoded here, and parsed as text.

    Examples
    --------
    >>> text, encoding = decode('<?xml encoding="GBK"?><kml>桥</kml>'.encode("gbk"))
    >>> text.endswith("<kml>桥</kml>"), encoding
    (True, 'GBK')
    """
    from .messages import say, thing
    from .result import ImportRefused

    if data[:3] == b"\xef\xbb\xbf":
        encoding = "utf-8-sig"
    elif data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    else:
        declared = _DECLARED.match(data[:200])
        encoding = declared.group(1).decode("ascii") if declared else "utf-8"
    try:
        return data.decode(encoding), encoding.upper().replace("-SIG", "")
    except (LookupError, UnicodeDecodeError) as exc:
        raise ImportRefused(say("xml_encoding", what=what, what_zh=thing(what),
                                encoding=encoding, error=exc)) from None


def parse(data, what="XML file"):
    """The root element of ``data`` (bytes or text), parsed safely.

    Raises
    ------
    ImportRefused
        For entity declarations, external references or a DTD that uses them
        (in words, not defusedxml's class names), and for broken or truncated XML,
        with the line and column.
    """
    import defusedxml
    import defusedxml.ElementTree as etree

    from .messages import say, thing
    from .result import ImportRefused

    names = {"what": what, "what_zh": thing(what)}
    try:
        return etree.fromstring(data, forbid_dtd=False, forbid_entities=True,
                                forbid_external=True)
    except defusedxml.EntitiesForbidden:
        raise ImportRefused(say("xml_entities", **names)) from None
    except (defusedxml.ExternalReferenceForbidden, defusedxml.DTDForbidden):
        raise ImportRefused(say("xml_external", **names)) from None
    except defusedxml.DefusedXmlException as exc:
        raise ImportRefused(say("xml_unsafe", **names, error=exc)) from None
    except ValueError as exc:  # e.g. an encoding expat cannot read
        raise ImportRefused(say("xml_unreadable", **names, error=exc)) from None
    except etree.ParseError as exc:
        line, column = getattr(exc, "position", (None, None))
        raise ImportRefused(say("xml_broken", **names, line=line, column=column,
                                error=_plain(exc))) from None


def _plain(exc):
    return str(exc).split(":", 1)[0]


def local_name(tag):
    """``{http://www.opengis.net/kml/2.2}Placemark`` → ``Placemark``."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def root_name(head):
    """The local name of the root element in the first bytes of an XML file.

    Skips the declaration, comments, processing instructions and the DOCTYPE (its
    internal subset included, when it is within ``head``).

    Examples
    --------
    >>> root_name(b'<?xml version="1.0"?><!-- x --><gpx version="1.1">')
    'gpx'
    """
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->", b"", head, flags=re.S)
    text = re.sub(rb"<!DOCTYPE[^\[>]*(\[.*?\])?\s*>", b"", text, flags=re.S)
    match = _ROOT.search(text)
    return match.group(2).decode("ascii", "replace").lower() if match else None
