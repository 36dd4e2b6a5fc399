"""GeoReport v2 answers in its two formats: XML (the one every server must give) and JSON, from one value.

XML follows the spec's examples: a list becomes a container of singular elements (``<services>`` of
``<service>``, ``<service_requests>`` of ``<request>``), booleans are ``true``/``false``, a missing
value an empty element. Built with ElementTree, so text is always escaped.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from starlette.responses import Response

from icity.api.responses import JSONResponse

XML_MEDIA_TYPE = "text/xml; charset=utf-8"
FORMATS = ("json", "xml")
# the element each list's items take, by the list's own element
ITEMS = {
    "services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
    "errors": "error", "endpoints": "endpoint", "formats": "format", "jurisdictions": "jurisdiction",
}  # fmt: skip


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, item in value.items():
            _fill(ElementTree.SubElement(element, name.replace(":", "_")), item)
    elif isinstance(value, list):
        singular = ITEMS.get(element.tag, "item")
        for item in value:
            _fill(ElementTree.SubElement(element, singular), item)
    else:
        element.text = _text(value)


def xml_bytes(root: str, value: Any) -> bytes:
    element = ElementTree.Element(root)
    _fill(element, value)
    return ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)


def answer(format_: str, root: str, value: Any, status_code: int = 200) -> Response:
    """`value` as JSON, or as XML under the element `root` (services, service_requests, service_definition…)."""
    if format_ == "xml":
        return Response(xml_bytes(root, value), status_code=status_code, media_type=XML_MEDIA_TYPE)
    return JSONResponse(value, status_code=status_code)
