"""`GET /host` and `GET /overlay`: plain HTML, CSS and JavaScript, no build step.

Every response carries a strict Content-Security-Policy: scripts and styles only from this
server (no inline code, so an injected `<script>` could not run even if text ever reached the
DOM as HTML, which the pages never do: user text goes through `textContent` only), the
websocket only back to this origin, no images, frames, forms or plugins. The pages take their
token from the URL fragment (`/host#token=T`), which browsers never send to the server, so it
never reaches a log. Only the files in FILES below are served; there is no directory listing.

Until its first snapshot a page says "connecting…", and a refused token replaces the whole
page with "refused: wrong or missing token" (static/common.js), so neither state can be
mistaken for an empty queue.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'none'; font-src 'none'; object-src 'none'; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

#: url path -> (file, content type)
FILES = {
    "/host": ("host.html", "text/html"),
    "/overlay": ("overlay.html", "text/html"),
    "/static/host.js": ("host.js", "text/javascript"),
    "/static/overlay.js": ("overlay.js", "text/javascript"),
    "/static/common.js": ("common.js", "text/javascript"),
    "/static/page.css": ("page.css", "text/css"),
    "/static/overlay.css": ("overlay.css", "text/css"),
}


def _handler(filename: str, content_type: str):
    async def serve(request: web.Request) -> web.Response:
        body = (STATIC / filename).read_bytes()
        return web.Response(body=body, content_type=content_type, charset="utf-8",
                            headers=HEADERS)
    return serve


def install(app: web.Application) -> None:
    """Mount the pages on `app` (called by create_app)."""
    for path, (filename, content_type) in FILES.items():
        app.router.add_get(path, _handler(filename, content_type))
