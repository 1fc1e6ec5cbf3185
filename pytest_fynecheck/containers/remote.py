"""Go for a container on a remote engine: the host's toolchain and the project's modules,
kept in engine volumes (filled once through put_archive, then reused by every container).

- GOROOT: a volume per toolchain (path and VERSION), mounted read-only at its host path.
- Modules: the host's module cache download files (what `go mod download -json` names,
  plus every .mod/.info for graph resolution) in a volume served as GOPROXY=file://;
  Go extracts them into a module-cache volume. The container stays offline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import re
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_fynecheck.containers.engine import Engine, failing, owner_labels
from pytest_fynecheck.containers.images import file_lock
from pytest_fynecheck.containers.transfer import read_file, upload_tree
from pytest_fynecheck.core.model import CheckFailed

if TYPE_CHECKING:
    import docker.types

PROXY_IN_CONTAINER = "/var/cache/fynecheck/goproxy"
MODCACHE_IN_CONTAINER = "/var/cache/fynecheck/gomod"
FILLED = ".fynecheck-filled"


@dataclasses.dataclass
class GoVolumes:
    mounts: list[docker.types.Mount]
    environ: dict[str, str]


def go_volumes(
    engine: Engine,
    image: str,
    goroot: Path,
    gomodcache: Path | None,
    project: Path,
    progress: Callable[[str], None],
) -> GoVolumes:
    import docker.types  # here, not at import: containers.engine says why

    version = (goroot / "VERSION").read_bytes() if (goroot / "VERSION").is_file() else b""
    key = hashlib.sha256(str(goroot).encode() + b"\0" + version).hexdigest()[:12]
    goroot_volume = f"fynecheck-goroot-{key}"
    _fill(engine, image, goroot_volume, str(goroot), progress,
          lambda box: upload_tree(engine.api, box, goroot, f"GOROOT {goroot}"))
    mounts = [
        docker.types.Mount(str(goroot), goroot_volume, type="volume", read_only=True),
        docker.types.Mount(MODCACHE_IN_CONTAINER, "fynecheck-gomodcache", type="volume"),
    ]
    environ = {"GOMODCACHE": MODCACHE_IN_CONTAINER}
    if gomodcache is not None:
        download = gomodcache / "cache" / "download"
        files = _wanted(engine, download, project)
        # One filled-marker per set of files: an unchanged project costs one lookup.
        listed = "\n".join(f"{p} {p.stat().st_size}" for p in files).encode()
        _fill(engine, image, "fynecheck-goproxy", PROXY_IN_CONTAINER, progress,
              lambda box: _send_modules(engine, box, download, files),
              marker=f"{FILLED}-{hashlib.sha256(listed).hexdigest()[:16]}")
        mounts.append(docker.types.Mount(PROXY_IN_CONTAINER, "fynecheck-goproxy",
                                         type="volume", read_only=True))
        # file:// is Go's own offline proxy protocol over a module cache's download dir.
        environ["GOPROXY"] = f"file://{PROXY_IN_CONTAINER}"
    return GoVolumes(mounts, environ)


def _fill(
    engine: Engine,
    image: str,
    volume: str,
    at: str,
    progress: Callable[[str], None],
    send: Callable[[str], None],
    marker: str = FILLED,
) -> None:
    """Run `send(container)` on a created (never started) container with `volume` at `at`,
    unless the volume is already marked filled; one filler per engine and volume."""
    import docker.types  # here, not at import: containers.engine says why

    lock = re.sub(r"[^A-Za-z0-9]", "_", f"{engine.address}-{volume}")
    with file_lock(engine.cache / "locks" / f"{lock}.lock"):
        with failing(f"preparing volume {volume} on the engine"):
            box = engine.client.containers.create(
                image, ["true"], network_mode="none", labels=owner_labels("volume-filler"),
                mounts=[docker.types.Mount(at, volume, type="volume")],
            )
        try:
            if read_file(engine.api, str(box.id), f"{at}/{marker}") is None:
                progress(f"copying {volume} to the remote engine (once per engine)")
                send(str(box.id))
                note = engine.cache / "locks" / marker
                note.write_text(volume)
                upload_marker(engine, str(box.id), note, f"{at}/{marker}")
        finally:
            with failing(f"removing the filler of {volume}"):
                box.remove(force=True)


def upload_marker(engine: Engine, box: str, marker: Path, dest: str) -> None:
    buf = io.BytesIO()
    data = marker.read_bytes()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(dest.lstrip("/"))
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    with failing(f"writing {dest}"):
        engine.api.put_archive(box, "/", buf.getvalue())


def _send_modules(engine: Engine, box: str, download: Path, files: list[Path]) -> None:
    """Upload the proxy files the volume does not have yet (its manifest says which)."""
    manifest = f"{PROXY_IN_CONTAINER}/.fynecheck-manifest"
    have = set((read_file(engine.api, box, manifest) or b"").decode().splitlines())
    entries = {f"{p} {p.stat().st_size}": p for p in files}
    missing = [p for entry, p in entries.items() if entry not in have]
    # At the proxy's path, not the host's: each name rewritten under PROXY_IN_CONTAINER.
    upload_as(engine, box, [(p, PROXY_IN_CONTAINER + str(p)[len(str(download)):])
                            for p in missing])
    listing = engine.cache / "locks" / "goproxy-manifest"
    listing.write_text("\n".join(sorted(have | set(entries))) + "\n")
    upload_marker(engine, box, listing, manifest)


def upload_as(engine: Engine, box: str, pairs: list[tuple[Path, str]]) -> None:
    if not pairs:
        return
    with tempfile.TemporaryFile() as buf:
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for src, dest in pairs:
                if src.is_file():
                    tar.add(src, arcname=dest.lstrip("/"), recursive=False)
        buf.seek(0)
        with failing(f"copying {len(pairs)} module files to the remote engine"):
            engine.api.put_archive(box, "/", buf)


_WANTED: dict[tuple[str, str], list[Path]] = {}


def _wanted(engine: Engine, download: Path, project: Path) -> list[Path]:
    """The proxy files for `project`, asked once per process."""
    key = (str(download), str(project))
    if key not in _WANTED:
        found = {p for p in _module_files(engine, download, project) if p.is_file()}
        _WANTED[key] = sorted(found)
    return _WANTED[key]


def _module_files(engine: Engine, download: Path, project: Path) -> Iterator[Path]:
    if not download.is_dir():
        return
    # Small files for the whole module graph: Go reads go.mod files of versions it never builds.
    for path in download.rglob("*"):
        if path.is_file() and (path.suffix in (".mod", ".info") or path.name == "list"):
            yield path
    if not (project / "go.mod").is_file():
        return
    done = engine.host.run(["go", "mod", "download", "-json"], cwd=project, timeout=600)
    if not done.ok:
        raise CheckFailed(f"`go mod download -json` failed in {project}: {done.output[-1500:]}",
                          "run it in the project to see why; containers read what it fetches")
    for module in _objects(done.stdout):
        for key in ("Zip", "Info", "GoMod"):
            if module.get(key):
                yield Path(module[key])
        if module.get("Zip"):
            yield Path(str(module["Zip"])[: -len(".zip")] + ".ziphash")


def _objects(text: str) -> Iterator[dict[str, str]]:
    """The concatenated JSON objects `go mod download -json` prints."""
    decoder = json.JSONDecoder()
    at = 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            return
        obj, at = decoder.raw_decode(text, at)
        yield obj
