"""Embedded files (`//go:embed`) in the binary against the files on disk.

The disk side is what dev-mode reload reads (`os.DirFS` over the same tree), so every
difference is phrased as "a reload shows X, the binary shows Y".
"""

from __future__ import annotations

import base64
import dataclasses
import difflib
import hashlib
from pathlib import Path
from typing import Any

from pytest_fynecheck.core.model import Result
from pytest_fynecheck.drift.report import DRIFT, MATCH, aspect

# Files up to this size travel in full from the probe, so the report can show a diff.
DATA_MAX = 64 * 1024
_DIFF_LINES = 12


@dataclasses.dataclass(frozen=True)
class EmbedFile:
    name: str  # relative to the package directory, as go:embed records it
    size: int
    sha256: str
    data: bytes | None = None

    def shown(self) -> str:
        return f"{self.size} B sha256 {self.sha256[:12]}"


@dataclasses.dataclass(frozen=True)
class Package:
    import_path: str
    dir: Path
    names: tuple[str, ...]


def local_packages(packages: list[dict[str, Any]]) -> list[Package]:
    """Packages with embeds whose files can drift: the main module and local replaces.

    A module from the module cache is pinned by its version and go.sum hash (the
    deps aspect), so its embedded files cannot drift on their own.
    """
    out = []
    for pkg in packages:
        mod = pkg.get("Module") or {}
        rep = mod.get("Replace") or {}
        local = mod.get("Main") or (rep and not rep.get("Version"))
        if local and pkg.get("EmbedFiles"):
            out.append(Package(pkg["ImportPath"], Path(pkg["Dir"]), tuple(pkg["EmbedFiles"])))
    return out


def probe_request(packages: list[Package]) -> dict[str, Any]:
    return {
        "packages": [{"import_path": p.import_path, "names": list(p.names)} for p in packages],
        # Searched by bytes only when no embed.FS table has the name.
        "contents": [
            {"import_path": p.import_path, "name": n, "path": str(p.dir / n)}
            for p in packages
            for n in p.names
        ],
        "data_max": DATA_MAX,
    }


def disk_file(path: Path, name: str) -> EmbedFile:
    data = path.read_bytes()
    return EmbedFile(name, len(data), hashlib.sha256(data).hexdigest(), data)


def binary_files(probe: dict[str, Any], import_path: str) -> dict[str, EmbedFile] | None:
    """The embed.FS entries the probe found for a package; None when it found no table."""
    tables = [t for t in probe.get("tables") or [] if t["import_path"] == import_path]
    if not tables:
        return None
    out = {}
    for t in tables:
        for f in t["files"]:
            data = base64.b64decode(f["data"]) if "data" in f else None
            out[f["name"]] = EmbedFile(f["name"], f["size"], f["sha256"], data)
    return out


def compare(packages: list[Package], probe: dict[str, Any]) -> Result:
    if not packages:
        return aspect(
            "embed",
            MATCH,
            "no package of this module embeds files (go list -deps shows no EmbedFiles)",
        )
    lines: list[str] = []
    counts = {"changed": 0, "added": 0, "removed": 0, "same": 0}
    for pkg in packages:
        found = binary_files(probe, pkg.import_path)
        in_binary = found or {}
        for name in pkg.names:
            path = pkg.dir / name
            disk = disk_file(path, name)
            old = in_binary.get(name)
            if old is not None:
                if old.sha256 == disk.sha256:
                    counts["same"] += 1
                    continue
                counts["changed"] += 1
                lines.append(
                    f"changed: {pkg.import_path} {name}: a reload shows {disk.shown()}, "
                    f"the binary embeds {old.shown()}"
                )
                lines += _diff(old, disk)
            elif probe.get("contents", {}).get(str(path)):
                # A []byte/string embed: no name in the binary, but these exact bytes are.
                counts["same"] += 1
            elif found is not None:
                counts["added"] += 1
                lines.append(
                    f"added: {pkg.import_path} {name}: a reload shows it ({disk.shown()}); "
                    "the binary does not embed it"
                )
            else:
                counts["changed"] += 1
                lines.append(
                    f"changed: {pkg.import_path} {name}: a reload shows {disk.shown()}; the "
                    "binary has no embed.FS entry with this name and not these bytes either "
                    "(changed since the build, or embedded in a variable nothing uses, which "
                    "the linker drops)"
                )
        for name in sorted(in_binary.keys() - set(pkg.names)):
            counts["removed"] += 1
            lines.append(
                f"removed: {pkg.import_path} {name}: the binary still embeds it "
                f"({in_binary[name].shown()}); a reload would not find it"
            )
    total = sum(counts.values())
    if len(lines) == 0:
        return aspect("embed", MATCH, f"{counts['same']} embedded file(s) match the disk")
    return aspect(
        "embed",
        DRIFT,
        f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed "
        f"of {total} file(s): dev-mode reload shows a different UI than this binary",
        tuple(lines),
        "rebuild the binary, or stop editing the tree the binary is tested against",
    )


def _diff(old: EmbedFile, new: EmbedFile) -> list[str]:
    if old.data is None or new.data is None:
        return []
    try:
        a = old.data.decode().splitlines()
        b = new.data.decode().splitlines()
    except UnicodeDecodeError:
        return []
    diff = list(difflib.unified_diff(a, b, "binary", "disk", lineterm="", n=1))
    cut = diff[:_DIFF_LINES]
    if len(diff) > _DIFF_LINES:
        cut.append("...")
    return ["  " + line for line in cut]
