"""The site a browser loads: the kit's index.html, the toolchain's own wasm_exec.js and
the .wasm, in one directory beside the cached build (so it lives as long as the build,
and the next checks and runs find it), made through the context's own commands (a
suite container's GOROOT and file system, not this machine's).

A site is made once per build and page: its directory name hashes the index.html and
wasm_exec.js, and it is made aside and renamed, so racing runs never see half of one.
The gzipped size is measured once and kept beside it (gzip of a 38 MB .wasm takes
seconds: a warm run must not pay it again).
"""

from __future__ import annotations

import dataclasses
import hashlib
import shlex
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.web.wasmexec import NAME as WASM_EXEC
from pytest_fynecheck.web.wasmexec import find_wasm_exec

WASM = "app.wasm"
_SIZES = "sizes"  # "RAW GZIPPED" bytes, beside the site's files

# Go's loader as its docs show it: wasm_exec.js defines Go; instantiateStreaming needs
# the server to say application/wasm (web.serve checks it). Fyne's driver makes its own
# full-window <canvas>; the body only has to let it fill the page.
INDEX_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>html, body {{ margin: 0; width: 100%; height: 100%; overflow: hidden; }}</style>
<script src="{wasm_exec}"></script>
<script>
const go = new Go();
WebAssembly.instantiateStreaming(fetch("{wasm}"), go.importObject)
  .then((result) => go.run(result.instance))
  .catch((err) => console.error("fynecheck: loading {wasm} failed: " + err));
</script>
</head>
<body></body>
</html>
"""


@dataclasses.dataclass(frozen=True)
class Site:
    dir: Path
    wasm: Path
    wasm_exec: Path  # the GOROOT file it copied
    raw: int
    gzipped: int

    def sizes(self) -> str:
        return f"{_mb(self.raw)} raw, {_mb(self.gzipped)} gzipped"


def make_site(ctx: Context, wasm: Path, title: str) -> Site:
    """The site of the built `wasm` (a file of the build cache): made once, then found."""
    source = find_wasm_exec(ctx)
    page = INDEX_HTML.format(title=_html(title), wasm_exec=WASM_EXEC, wasm=WASM)
    glue = ctx.run(["sha256sum", str(source)], timeout=60)
    if not glue.ok:
        raise CheckFailed(f"cannot read {source}: {glue.output[-500:]}",
                          "check that the GOROOT is readable")
    key = hashlib.sha256(page.encode() + glue.stdout.split()[0].encode()).hexdigest()[:12]
    site = wasm.parent / f"site-{key}"
    # Aside, then renamed: a racing run's rename wins and this one's copy goes.
    script = r"""
set -e
site=$1; tmp=$1.$$.tmp; wasm=$2; glue=$3; page=$4
if [ ! -f "$site/sizes" ]; then
  rm -rf "$tmp"; mkdir "$tmp"
  cp "$glue" "$tmp/wasm_exec.js"
  ln "$wasm" "$tmp/app.wasm" 2>/dev/null || cp "$wasm" "$tmp/app.wasm"
  printf '%s' "$page" > "$tmp/index.html"
  raw=$(wc -c < "$tmp/app.wasm")
  gz=$(gzip -c -6 < "$tmp/app.wasm" | wc -c)
  echo "$raw $gz" > "$tmp/sizes"
  mv -T "$tmp" "$site" 2>/dev/null || rm -rf "$tmp"
fi
cat "$site/sizes"
"""
    done = ctx.run(["sh", "-c", script, "sh", str(site), str(wasm), str(source), page],
                   timeout=300)
    try:
        raw, gzipped = (int(n) for n in done.stdout.split())
    except ValueError:
        shown = " ".join(shlex.quote(a) for a in ("sh", "-c", "...", str(site), str(wasm)))
        raise CheckFailed(
            f"making the site {site} failed (`{shown}`, exit {done.returncode}): "
            f"{done.output[-1500:]}",
            "check that the kit's cache directory is writable and has room",
        ) from None
    return Site(site, site / WASM, source, raw, gzipped)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
