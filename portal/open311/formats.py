"""Answers in the two formats GeoReport v2 speaks: XML (required by the spec) and JSON.

A document is plain data: a list of rows (dicts), where a value may be a string, number, boolean,
None, a nested dict or a list of dicts (``attributes``, ``values``). XML names each list item after
the element the spec gives it (``service`` in ``services``, ``value`` in ``values``...).
"""
from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

from flask import Response

ITEM_OF = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
           "errors": "error", "endpoints": "endpoint", "formats": "format"}
XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
# Characters XML 1.0 cannot carry at all (an error may echo what a client sent).
NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _fill(ET.SubElement(element, key), inner)
    elif isinstance(value, list):
        for inner in value:
            _fill(ET.SubElement(element, ITEM_OF.get(element.tag, "item")), inner)
    else:
        element.text = _text(value)


def xml(root: str, content) -> bytes:
    element = ET.Element(root)
    _fill(element, content)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="utf-8", xml_declaration=False)


def respond(fmt: str, root: str, content, status: int = 200) -> Response:
    """``content`` as ``fmt``: for XML, wrapped in ``root``; for JSON, as it is (a list or an object)."""
    if fmt == "xml":
        response = Response(xml(root, content), status=status, content_type=XML_TYPE)
    else:
        response = Response(json.dumps(content, ensure_ascii=False), status=status, content_type=JSON_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response


def error(fmt: str, status: int, description: str) -> Response:
    return respond(fmt, "errors", [{"code": status, "description": description}], status)
