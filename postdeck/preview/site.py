"""Write the preview site: one index.html with its CSS, script and data inline (no CDN, no network,
works from file://), thumbs/ beside it, and version.json for `--serve`'s reload.

Safety of campaign text: the data is JSON inside <script type="application/json">, with every `<`,
`>` and `&` escaped (`\\u003c`...), so no caption can close the element; the script builds the page
with textContent only. Static text from Python goes through html.escape. The Content-Security-Policy
allows exactly the one inline script (by its hash) and no network but the page's own origin.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from importlib.resources import files
from pathlib import Path
from typing import Any

_ASSETS = files("postdeck.preview") / "assets"
_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"}


def embedded_json(document: dict[str, Any]) -> str:
    """JSON that is safe inside a <script> element: nothing in it can end the element or open a comment."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_JSON_ESCAPES).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def page(document: dict[str, Any], data: str | None = None) -> str:
    """The whole index.html for `document` (model.build's); `data`: its embedded_json, if made already."""
    script = (_ASSETS / "preview.js").read_text(encoding="utf-8")
    style = (_ASSETS / "preview.css").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    policy = (
        "default-src 'none'; img-src 'self' file:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; connect-src 'self'; base-uri 'none'; form-action 'none'"
    )
    names = ", ".join(c["name"] for c in document["campaigns"]) or "no campaign"
    return _TEMPLATE.format(
        policy=html.escape(policy, quote=False),  # no double quote in it: the attribute holds
        title=html.escape(f"postdeck preview: {names}"),
        style=style,
        data=embedded_json(document) if data is None else data,
        script=script,
    )


def write_site(document: dict[str, Any], out: Path) -> Path:
    """Write index.html and version.json into `out` (thumbnails are already there); the index's path.

    The build id (which `--serve`'s reload compares) hashes what the page shows, made_at aside, so
    an idle rebuild does not reload the page. The JSON is encoded once (10,000 cards: 6 MB).
    """
    shown = embedded_json({k: v for k, v in document.items() if k != "made_at"})
    build = hashlib.sha256(shown.encode()).hexdigest()[:16]
    data = shown[:-1] + "," + embedded_json({"made_at": document["made_at"], "build": build})[1:]
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    temporary = out / ".index.html.tmp"  # the server never serves half a page
    temporary.write_text(page(document, data), encoding="utf-8")
    temporary.replace(index)
    (out / "version.json").write_text(json.dumps({"build": build}), encoding="utf-8")
    return index


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<title>{title}</title>
<style>
{style}</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p id="summary"></p>
</header>
<main>
<nav class="toolbar" aria-label="Calendar">
<button type="button" id="prev" aria-label="Previous period" aria-keyshortcuts="PageUp">&#8249; Prev</button>
<h2 id="period" aria-live="polite"></h2>
<button type="button" id="next" aria-label="Next period" aria-keyshortcuts="PageDown">Next &#8250;</button>
<button type="button" id="first">First delivery</button>
<span role="group" aria-label="View">
<button type="button" id="view-month" aria-pressed="true" aria-keyshortcuts="m">Month</button>
<button type="button" id="view-week" aria-pressed="false" aria-keyshortcuts="w">Week</button>
</span>
</nav>
<form id="filters" aria-label="Filters"></form>
<details id="legend"><summary>Legend: what each plan action and ledger status means</summary>
<dl class="legend"></dl>
</details>
<p id="shown" aria-live="polite"></p>
<section id="calendar" aria-labelledby="period"></section>
<section id="loose"></section>
<details><summary>Keyboard</summary>
<p>Tab to a card, Enter opens it, Escape closes it; &#8592; and &#8594; move between cards; PageUp and
PageDown (or p and n) change the month or week; m and w switch the view.</p>
</details>
<noscript><p>This preview needs JavaScript to draw its calendar.</p></noscript>
</main>
<dialog id="detail" aria-labelledby="detail-title">
<div class="dialog-head"><h2 id="detail-title"></h2>
<button type="button" id="detail-close" aria-label="Close">Close</button></div>
<div id="detail-body"></div>
</dialog>
<script type="application/json" id="postdeck-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""
