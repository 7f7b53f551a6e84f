"""PDF rendering through WeasyPrint: one shared font configuration, no file or network access.

Every PDF in the portal (certificates, instruction records, evidence exports) goes through
render_pdf(). Two traps make this module necessary (../shared/TRAPS.md):
- WeasyPrint's default fetcher reads file:// URLs and the network, so HTML that carries a
  person's name or an instruction's text could pull /etc/passwd into a PDF
  (<img src="file:///…">, <link rel=attachment href="file:///…">). PortalURLFetcher serves
  only files under portal/static/ and small raster data: URLs; everything else is refused.
- A FontConfiguration per render leaks memory and is slow; one module-level instance is
  shared by every render in the process, one render at a time: Pango and fontconfig behind it
  are not thread-safe (two threads of a `portal worker --workers 2` rendering two parts at once
  crashed the consumer: "realloc(): invalid next size"), and the GIL gave threads no speed anyway.

Japanese text needs the IPAex fonts (Debian fonts-ipaexfont-gothic / -mincho): use CSS
font-family "IPAexMincho" or "IPAexGothic". Without them WeasyPrint prints empty boxes and
says nothing, so tests check the embedded fonts with pdffonts.
"""
from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import threading
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_DIR = (Path(__file__).resolve().parent.parent / "static").resolve()
#: Relative URLs in PDF templates (e.g. href="css/pdf-report.css") resolve against this.
STATIC_BASE_URL = STATIC_DIR.as_uri() + "/"

#: Shared by every render: keeps memory flat and renders fast (see the module docstring).
FONT_CONFIG = FontConfiguration()
#: Held while WeasyPrint uses FONT_CONFIG: one render at a time per process (see the module docstring).
RENDER_LOCK = threading.RLock()

_DATA_IMAGE = re.compile(r"^data:(image/(?:png|jpeg|gif|webp));base64,(.*)$", re.DOTALL | re.IGNORECASE)
_MAX_DATA_BYTES = 5 * 1024 * 1024


class RefusedURL(ValueError):
    """A resource the PDF renderer may not load."""


class PortalURLFetcher(URLFetcher):
    """Serves files under portal/static/ and base64 raster data: URLs; refuses everything else."""

    def __init__(self) -> None:
        super().__init__(timeout=1, allowed_protocols=("file", "data"), allow_redirects=False)

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:  # noqa: D102
        if url.lower().startswith("data:"):
            return _data_image(url)
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise RefusedURL(f"only the portal's own static files may be loaded, not {url[:80]!r}")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(STATIC_DIR) or not path.is_file():
            raise RefusedURL(f"not a portal static file: {url[:80]!r}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})


def _data_image(url: str) -> URLFetcherResponse:
    """A base64 PNG/JPEG/GIF/WebP data: URL (a seal image, a QR code); no SVG, no text."""
    match = _DATA_IMAGE.match(url)
    if not match:
        raise RefusedURL("only base64 PNG, JPEG, GIF or WebP data: URLs may be loaded")
    try:
        body = base64.b64decode(match.group(2), validate=False)
    except (binascii.Error, ValueError) as error:
        raise RefusedURL("undecodable data: URL") from error
    if len(body) > _MAX_DATA_BYTES:
        raise RefusedURL("data: URL too large")
    return URLFetcherResponse("data:", body, {"Content-Type": match.group(1).lower()})


@lru_cache(maxsize=16)
def static_stylesheet(relative_path: str) -> CSS:
    """A stylesheet under portal/static/, parsed once per process and reused by every render.

    Parsing a linked stylesheet costs a few milliseconds per render; PDFs rendered in bulk
    (certificates) pass this to render_pdf instead of a <link>. Same fetcher rules apply.
    """
    path = (STATIC_DIR / relative_path).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise RefusedURL(f"not a portal static file: {relative_path!r}")
    with RENDER_LOCK:
        return CSS(filename=str(path), font_config=FONT_CONFIG, url_fetcher=PortalURLFetcher(),
                   base_url=STATIC_BASE_URL)


def render_pdf(html: str, base_url: str = STATIC_BASE_URL, stylesheets: list[str | CSS] | None = None) -> bytes:
    """Render trusted-template HTML to PDF bytes with the shared fonts and the restricted fetcher.

    base_url: where relative URLs resolve; the fetcher still serves only portal/static/.
    stylesheets: extra CSS source strings (e.g. a page size) or parsed ones (static_stylesheet),
    applied after the document's own.
    """
    fetcher = PortalURLFetcher()
    with RENDER_LOCK:
        extra = [source if isinstance(source, CSS) else
                 CSS(string=source, font_config=FONT_CONFIG, url_fetcher=fetcher, base_url=base_url)
                 for source in stylesheets or ()]
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        return document.write_pdf(stylesheets=extra, font_config=FONT_CONFIG)
