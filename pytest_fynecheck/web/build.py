"""The site a browser loads, made the way users ship it: `fyne package -os wasm` where a
fyne CLI that has it is on PATH (`package_with_fyne`: in a copy of the project, since
`fyne package` writes into the tree), else the kit's index.html, the toolchain's own
wasm_exec.js and the .wasm of `go build` (`make_site`), in one directory beside the cached
build (so it lives as long as the build,
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
import re
import shlex
from pathlib import Path

from pytest_fynecheck.core.context import Context
from pytest_fynecheck.core.model import CheckFailed
from pytest_fynecheck.toolchain.fynecli import PackageFailed, package_in_copy
from pytest_fynecheck.toolchain.gobuild import InUse, prune
from pytest_fynecheck.toolchain.gotool import go_env
from pytest_fynecheck.web.wasmexec import NAME as WASM_EXEC
from pytest_fynecheck.web.wasmexec import candidates, find_wasm_exec

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


# One command whether the site is there or not (a warm run pays one fork): the first of
# the GOROOT's wasm_exec.js places that exists is copied; none is exit 4.
_SITE = r"""
set -e
site=$1; wasm=$2; page=$3; shift 3
if [ ! -f "$site/sizes" ]; then
  glue=
  for f in "$@"; do if [ -f "$f" ]; then glue=$f; break; fi; done
  [ -n "$glue" ] || exit 4
  tmp=$site.$$.tmp; rm -rf "$tmp"; mkdir "$tmp"
  cp "$glue" "$tmp/wasm_exec.js"
  ln "$wasm" "$tmp/app.wasm" 2>/dev/null || cp "$wasm" "$tmp/app.wasm"
  printf '%s' "$page" > "$tmp/index.html"
  printf '%s' "$glue" > "$tmp/from"
  echo "$(wc -c < "$tmp/app.wasm") $(gzip -c -6 < "$tmp/app.wasm" | wc -c)" > "$tmp/sizes"
  mv -T "$tmp" "$site" 2>/dev/null || rm -rf "$tmp"
fi
cat "$site/sizes" "$site/from"
"""


def make_site(ctx: Context, wasm: Path, title: str) -> Site:
    """The site of the built `wasm` (a file of the build cache): made once, then found.
    Its name hashes the page and the GOROOT; the build directory it is in is keyed by the
    toolchain already, so the wasm_exec.js it copied is still that GOROOT's."""
    env = go_env(ctx)
    page = INDEX_HTML.format(title=_html(title), wasm_exec=WASM_EXEC, wasm=WASM)
    goroot = env.get("GOROOT", "")
    key = hashlib.sha256(f"{page}\0{goroot}".encode()).hexdigest()[:12]
    site = wasm.parent / f"site-{key}"
    looked = [str(p) for p in candidates(Path(goroot), env.get("GOVERSION", ""))]
    done = ctx.run(["sh", "-c", _SITE, "sh", str(site), str(wasm), page, *looked], timeout=300)
    if done.returncode == 4:
        find_wasm_exec(ctx)  # names every place it looked in
    sizes, _, source = done.stdout.partition("\n")
    try:
        raw, gzipped = (int(n) for n in sizes.split())
    except ValueError:
        shown = " ".join(shlex.quote(a) for a in ("sh", "-c", "...", str(site), str(wasm)))
        raise CheckFailed(
            f"making the site {site} failed (`{shown}`, exit {done.returncode}): "
            f"{done.output[-1500:]}",
            "check that the kit's cache directory is writable and has room",
        ) from None
    return Site(site, site / WASM, Path(source.strip()), raw, gzipped)


# fyne.io/tools (cli v1.x) packs wasm; so did fyne.io/fyne/v2/cmd/fyne from v2.1.0.
_CLI_VERSION = re.compile(r"fyne cli version:\s*v?(\d+)\.(\d+)")
# `fyne package` stops here for a project without an icon: it is not set up to ship
# with the CLI, so the kit builds it as `go build` does (and says why).
NO_ICON = "Missing application icon"


def fyne_cli(ctx: Context) -> tuple[str, str] | None:
    """The fyne CLI on PATH that packs for the browser, and its version line; None when
    there is none (or it is too old)."""
    if ctx.which("fyne") is None:
        return None
    done = ctx.run(["fyne", "version"], timeout=60)
    found = _CLI_VERSION.search(done.output)
    if not done.ok or found is None:
        return None
    major, minor = int(found[1]), int(found[2])
    if not (major == 1 or (major == 2 and minor >= 1)):
        return None
    line = next(ln for ln in done.output.splitlines() if "fyne cli version" in ln)
    return str(ctx.which("fyne")), line.strip()


def package_with_fyne(ctx: Context, module_root: Path, package_dir: Path) -> Site | str:
    """`fyne package -os wasm` in a copy of the module under scratch (it writes wasm/ and
    metadata into the tree it packs); the site is the copy's wasm/ directory. A project
    without an icon gives the CLI's reason (str): the caller builds with `go build`."""
    try:
        wasm = package_in_copy(ctx, module_root, package_dir, "wasm", "wasm/*.wasm")
    except PackageFailed as exc:
        if NO_ICON in exc.output:
            return exc.output.strip().splitlines()[-1]
        raise
    return _keep(ctx, wasm.parent, f"{ctx.name} fyne package {package_dir}")


# Kept in the kit's cache like a build (cache/fyne-packages/site-KEY/site, KEY from the
# .wasm's bytes): the next checks and the report's link find it after scratch is gone, a
# run holds it in use, and `prune` keeps the newest few per project (the sweep bounds the
# rest, least recently used first).
_KEEP = r"""
set -e
src=$1; root=$2
set -- "$src"/*.wasm
if [ $# -ne 1 ] || [ ! -f "$1" ]; then echo "not one .wasm in $src: $*" >&2; exit 3; fi
key=$(sha256sum "$1" | cut -c1-20)
dest=$root/site-$key
if [ ! -f "$dest/sizes" ]; then
  mkdir -p "$root"; tmp=$root/.site-$key.$$.tmp; rm -rf "$tmp"; mkdir "$tmp"
  cp -a "$src" "$tmp/site"
  echo "$(wc -c < "$1") $(gzip -c -6 < "$1" | wc -c)" > "$tmp/sizes"
  mv -T "$tmp" "$dest" 2>/dev/null || rm -rf "$tmp"
fi
echo "$dest"; echo "$dest/site/${1##*/}"; cat "$dest/sizes"
"""


def _keep(ctx: Context, site: Path, owner: str) -> Site:
    root = ctx.cache / "fyne-packages"
    done = ctx.run(["sh", "-c", _KEEP, "sh", str(site), str(root)], timeout=300)
    lines = done.stdout.split("\n")
    try:
        dest, wasm, raw, gzipped = Path(lines[0]), Path(lines[1]), *map(int, lines[2].split())
    except (ValueError, IndexError):
        raise CheckFailed(
            f"`fyne package -os wasm` left no single .wasm in {site}, or keeping it in "
            f"{root} failed: {done.output[-800:]}",
            "run `fyne package -os wasm` in the project and look into its wasm/ directory",
        ) from None
    use = InUse.take(dest)
    if use is not None:
        ctx.on_close(use.release)  # no sweep or prune removes it while this run uses it
        (dest / "owner").write_text(owner)
        prune(root, owner)
    return Site(dest / "site", wasm, dest / "site" / WASM_EXEC, raw, gzipped)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
