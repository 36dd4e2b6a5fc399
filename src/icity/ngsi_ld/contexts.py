"""JSON-LD @contexts: which IRI each term of a request means, and which term each stored name shows as.

iCity stores attribute and type names as iCity's own context compacts their IRIs: a Smart
Data Models term (`no2`), a default-vocabulary term (`foo`, for the core's @vocab), or a full
IRI that neither defines. A request's context expands its terms to IRIs; the stored name is
that IRI compacted with iCity's context, and on the way out a stored name is expanded with
iCity's context and compacted with the request's. The platform's own contexts (the core, iCity's)
are built in and never fetched, so a request that brings none of its own (the common case)
costs no JSON-LD processing at all: its terms are the stored names.

A client's own context (a `Link` header or a body's `@context`) is fetched over HTTP — short
timeout, size limit, the outbound address rule — cached, and processed by pyld.
"""

from __future__ import annotations

import json
from collections import Counter
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import httpx
from pyld import jsonld

from icity.config import get_settings
from icity.datamodels import get_registry
from icity.errors import ICityError
from icity.ngsi_ld.errors import bad_request_data, ld_context_not_available
from icity.services import outbound

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
# The URLs clients send for the core context: every published version is answered with the one built in.
CORE_CONTEXT_URLS = frozenset(
    {"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}
    | {f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.{minor}.jsonld" for minor in range(3, 10)}
    | {url.replace("https://", "http://") for url in ("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",)}
)
ICITY_CONTEXT_PATH = "/ngsi-ld/v1/contexts/icity.jsonld"
DEFAULT_VOCABULARY = "https://uri.etsi.org/ngsi-ld/default-context/"
SMART_DATA_MODELS = "https://smartdatamodels.org/"
JSON_LD_CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
LINK = re.compile(r'^\s*<(?P<url>[^>]+)>\s*(?P<params>(;[^;]*)*)$')


def core_context_document() -> dict[str, Any]:
    text = (resources.files("icity.ngsi_ld") / "contexts" / "ngsi-ld-core-context-v1.8.jsonld").read_text("utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _core() -> dict[str, Any]:
    return core_context_document()


@lru_cache(maxsize=1)
def icity_terms() -> dict[str, str]:
    """Every Smart Data Models type and attribute the registry knows → its Smart Data Models IRI.
    A term models map differently keeps the IRI most of them give it; the core's terms are left
    to the core (its context is protected)."""
    core = _core()["@context"]
    registry = get_registry()
    terms: dict[str, str] = {}
    seen: dict[str, Counter[str]] = {}
    for name in registry.names():
        model = registry.get(name)
        terms.setdefault(name, f"{SMART_DATA_MODELS}{model.subject}/{name}")
        for attribute, spec in model.attributes.items():
            seen.setdefault(attribute, Counter())[spec.iri or f"{SMART_DATA_MODELS}{attribute}"] += 1
    for attribute, iris in seen.items():
        # the IRI most models give the term (ties: the shortest, then the first in order)
        terms.setdefault(attribute, min(iris, key=lambda iri: (-iris[iri], len(iri), iri)))
    return {term: iri for term, iri in sorted(terms.items()) if term not in core and not term.startswith("@")}


def icity_context_document() -> dict[str, Any]:
    """iCity's context as served at ICITY_CONTEXT_PATH: the core, then the Smart Data Models' terms."""
    return {"@context": [CORE_CONTEXT_URL, icity_terms()]}


@dataclass
class Context:
    """An active context reduced to what NGSI-LD needs: term → IRI, IRI → term, the vocabulary."""

    terms: dict[str, str]
    vocabulary: str | None = DEFAULT_VOCABULARY
    urls: tuple[str, ...] = ()  # how the client named it (for the Link header or @context of answers)
    inline: Any = None  # the context as the client gave it, when it was not only URLs
    is_platform: bool = False  # iCity's own: terms are the stored names
    _reverse: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self._reverse:
            # the shortest term wins when several map to one IRI, as JSON-LD compaction picks
            for term, iri in sorted(self.terms.items(), key=lambda item: (len(item[0]), item[0]), reverse=True):
                self._reverse[iri] = term

    def expand(self, term: str) -> str:
        iri = self.terms.get(term)
        if iri is not None:
            return iri
        prefix, colon, suffix = term.partition(":")
        if colon and not suffix.startswith("//"):
            base = self.terms.get(prefix)
            if base is not None:
                return base + suffix
        if colon:  # an absolute IRI (urn:…, https://…)
            return term
        return (self.vocabulary or "") + term

    def compact(self, iri: str) -> str:
        term = self._reverse.get(iri)
        if term is not None:
            return term
        if self.vocabulary and iri.startswith(self.vocabulary) and ":" not in iri[len(self.vocabulary):]:
            remainder = iri[len(self.vocabulary):]
            if remainder and remainder not in self.terms:
                return remainder
        return iri

    def body_context(self) -> Any:
        """What an answer's `@context` says for this context."""
        if self.inline is not None:
            return self.inline
        return list(self.urls) if len(self.urls) > 1 else self.urls[0]


_CORE_TERMS: dict[str, str] | None = None


def _core_terms() -> dict[str, str]:
    global _CORE_TERMS
    if _CORE_TERMS is None:
        _CORE_TERMS = _process([CORE_CONTEXT_URL])[0]
    return _CORE_TERMS


@lru_cache(maxsize=1)
def platform_context() -> Context:
    """iCity's context (core included): the default, whose terms are the stored names."""
    terms = {**_core_terms(), **icity_terms()}
    return Context(terms, DEFAULT_VOCABULARY, urls=(icity_context_url(),), is_platform=True)


def icity_context_url() -> str:
    return get_settings().public_url + ICITY_CONTEXT_PATH


def stored_name(term: str, context: Context) -> str:
    """The name a term of `context` is stored under."""
    if context.is_platform:
        return term
    return platform_context().compact(context.expand(term))


def shown_name(name: str, context: Context) -> str:
    """A stored name as `context` shows it."""
    if context.is_platform:
        return name
    return context.compact(platform_context().expand(name))


# ---- resolving a request's context ------------------------------------------------------------


def from_link_header(link: str | None) -> Context:
    """The context named by a `Link` header (rel json-ld#context), else iCity's."""
    if not link:
        return platform_context()
    urls = []
    for part in _split_links(link):
        match = LINK.match(part)
        if match is None:
            raise bad_request_data(f"The Link header '{part.strip()}' is not <url>; rel=\"{JSON_LD_CONTEXT_REL}\"")
        if JSON_LD_CONTEXT_REL in match["params"]:
            urls.append(match["url"].strip())
    if len(urls) > 1:
        raise bad_request_data("Send one JSON-LD context in the Link header (NGSI-LD allows only one)")
    return resolve(urls[0] if urls else None)


def _split_links(header: str) -> list[str]:
    return [part for part in re.split(r",(?=\s*<)", header) if part.strip()]


def resolve(context: Any) -> Context:
    """The active context for a request's @context value (a URL, an object, or a list of them)."""
    if context is None:
        return platform_context()
    items = context if isinstance(context, list) else [context]
    if not items:
        return platform_context()
    for item in items:
        if not isinstance(item, (str, dict)):
            raise bad_request_data("@context must be a URL, an object or a list of them")
    own = [item for item in items if not (isinstance(item, str) and (item in CORE_CONTEXT_URLS or item == icity_context_url()))]
    if not own:  # the core and/or iCity's: iCity's (the core is in it)
        return platform_context()
    key = json.dumps(items, sort_keys=True)
    return _resolved(key)


@lru_cache(maxsize=256)
def _resolved(key: str) -> Context:
    items = json.loads(key)
    terms, vocabulary = _process(items)
    urls = tuple(item for item in items if isinstance(item, str))
    inline = None if len(urls) == len(items) else (items if len(items) > 1 else items[0])
    return Context(terms, vocabulary, urls=urls, inline=inline)


def _process(items: list[Any]) -> tuple[dict[str, str], str | None]:
    """pyld's context processing (the core first, as NGSI-LD says): term → IRI, and @vocab."""
    processor = jsonld.JsonLdProcessor()
    options = {"documentLoader": _load_document, "isFrame": False, "keepFreeFloatingNodes": False}
    try:
        active = processor.process_context(processor._get_initial_context(options), [CORE_CONTEXT_URL, *items], options)
    except jsonld.JsonLdError as error:
        fetch_failure = _our_error(error)
        if fetch_failure is not None:
            raise fetch_failure from None
        raise ld_context_not_available(f"The @context could not be used: {_reason(error)}") from None
    terms = {
        term: definition["@id"]
        for term, definition in active["mappings"].items()
        if definition and isinstance(definition.get("@id"), str) and not definition["@id"].startswith("@")
    }
    return terms, active.get("@vocab")


def _our_error(error: BaseException) -> Exception | None:
    """The fetch failure (ours, with its reason) pyld wrapped, if that is what stopped it."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, ICityError):
            return error
        error = getattr(error, "cause", None) or error.__cause__ or error.__context__
        seen += 1
    return None


def _reason(error: Exception) -> str:
    cause = getattr(error, "cause", None)
    while isinstance(cause, jsonld.JsonLdError) and getattr(cause, "cause", None) is not None:
        cause = cause.cause
    if isinstance(cause, Exception) and str(cause):
        return str(cause)
    return str(getattr(error, "message", "")) or str(error).splitlines()[0]


# ---- fetching a client's context -------------------------------------------------------------


class _RemoteContexts:
    """Contexts fetched over HTTP, kept for ICITY_LD_CONTEXT_CACHE_S (failures are not kept)."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Any:
        settings = get_settings()
        with self._lock:
            cached = self._documents.get(url)
        if cached and time.monotonic() - cached[0] < settings.ld_context_cache_s:
            return cached[1]
        document = _fetch(url)
        with self._lock:
            if len(self._documents) >= 512:
                self._documents.pop(next(iter(self._documents)))
            self._documents[url] = (time.monotonic(), document)
        return document

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()


REMOTE = _RemoteContexts()


def _load_document(url: str, options: Any = None) -> dict[str, Any]:
    if url in CORE_CONTEXT_URLS or url == CORE_CONTEXT_URL:
        document = _core()
    elif url == icity_context_url():
        document = icity_context_document()
    else:
        document = REMOTE.get(url)
    return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url, "document": document}


def _fetch(url: str) -> Any:
    settings = get_settings()
    if not url.startswith(("http://", "https://")):
        raise ld_context_not_available(f"The @context {url} is not an http(s) URL")
    refusal = outbound.refusal(url)
    if refusal:
        raise ld_context_not_available(f"The @context {url} is not fetched: {refusal}")
    limit = settings.ld_context_max_bytes
    try:
        with httpx.Client(timeout=settings.ld_context_timeout_s, follow_redirects=False) as client:
            with client.stream("GET", url, headers={"Accept": "application/ld+json, application/json"}) as response:
                if response.status_code != 200:
                    raise ld_context_not_available(f"The @context {url} answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise ld_context_not_available(f"The @context {url} is larger than {limit} bytes")
    except httpx.HTTPError as error:
        raise ld_context_not_available(f"The @context {url} could not be fetched: {type(error).__name__}") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise ld_context_not_available(f"The @context {url} is not JSON") from None
    if not isinstance(document, dict) or "@context" not in document:
        raise ld_context_not_available(f"The @context {url} is not a JSON-LD context (no @context member)")
    return document
