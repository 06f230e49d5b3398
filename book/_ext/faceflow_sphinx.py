"""Sphinx tweaks for the faceflow book.

sphinx-thebe (pulled in by Jupyter Book 1.x) registers its inline configuration script once per
document-reading pass, so pages can carry it twice and the browser reports
"Identifier 'THEBE_JS_URL' has already been declared". Drop duplicate scripts per page.
"""

from __future__ import annotations


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        body = getattr(js, "attributes", {}).get("body")
        # inline scripts carry filename None or '' depending on who added them: key on the body
        key = ("body", body) if body else ("file", getattr(js, "filename", str(js)))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
