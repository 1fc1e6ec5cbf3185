"""A one-page summary of a matrix run: the table (check x cell) with screenshot thumbnails,
then each failure's cause and fix. Markdown (a CI step summary) or self-contained HTML."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_fynecheck.core.model import Result, Status
from pytest_fynecheck.core.report import earned
from pytest_fynecheck.displays.images import THUMB_WIDTH, png_bytes, read_png, thumbnail_path

# Cell -> data: URI of its screenshot's thumbnail.
Thumbnails = Mapping[str, str]


def thumbnail(path: str | Path) -> str | None:
    """A small PNG of a screenshot as a data: URI: the one written beside it
    (images.write_screenshot), else made from it; None when it is gone or no PNG."""
    try:
        small = thumbnail_path(Path(path)).read_bytes()
    except OSError:
        try:
            small = png_bytes(read_png(Path(path).read_bytes()).scaled(THUMB_WIDTH))
        except (OSError, ValueError):
            return None
    return f"data:image/png;base64,{base64.b64encode(small).decode()}"


def thumbnails(results: Sequence[Result]) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in results:
        shot = r.artifacts.get("screenshot")
        if shot and r.where not in out and (uri := thumbnail(shot)):
            out[r.where] = uri
    return out


def _grid(results: Sequence[Result]) -> tuple[list[str], dict[tuple[str, str], Result]]:
    rows: list[str] = []
    cell: dict[tuple[str, str], Result] = {}
    for r in results:
        if r.id not in rows:
            rows.append(r.id)
        cell[(r.id, r.where)] = r
    return rows, cell


def verdict(results: Sequence[Result], interrupted: str | None = None) -> str:
    """`interrupted`: why the run stopped early; then the verdict is never "ready"."""
    blocking = [r for r in results if r.blocking]
    if interrupted:
        failed = f"; {len(blocking)} required check(s) failed before it" if blocking else ""
        return f"INTERRUPTED ({interrupted}): not every check ran, so this is no verdict{failed}"
    if blocking:
        cells = sorted({r.where for r in blocking})
        return f"NOT READY: {len(blocking)} required check(s) failed in {', '.join(cells)}"
    cells = sorted({r.where for r in results})
    unearned = [c for c in cells if not earned([r for r in results if r.where == c])]
    if unearned:
        return (f"NO VERDICT: no required check passed in {', '.join(unearned)}, so this is "
                "not ready")
    return "ready: every required check passed in every cell"


def markdown(results: Sequence[Result], columns: Sequence[str], thumbs: Thumbnails,
             interrupted: str | None = None) -> str:
    rows, cell = _grid(results)
    out = [f"## fynecheck matrix: {verdict(results, interrupted)}", ""]
    out.append("| check | " + " | ".join(f"`{c}`" for c in columns) + " |")
    out.append("| --- |" + " :-: |" * len(columns))
    for check_id in rows:
        marks = [_mark(cell.get((check_id, c))) for c in columns]
        out.append(f"| `{check_id}` | " + " | ".join(marks) + " |")
    if any(c in thumbs for c in columns):
        imgs = [
            f'<img src="{thumbs[c]}" width="{THUMB_WIDTH}" alt="{c}">' if c in thumbs else ""
            for c in columns
        ]
        out.append("| screenshot | " + " | ".join(imgs) + " |")
    out.append("")
    out.append(", ".join(f"{s.mark} {s.value}" for s in Status))
    problems = _problems(results, columns)
    if problems:
        out += ["", "### Failures and warnings", ""]
        for r in problems:
            first = (r.detail.splitlines() or [""])[0]
            out.append(f"- {r.status.mark} `{r.id}` in `{r.where}`: {first}")
            if r.hint:
                out.append(f"  - fix: {r.hint}")
    return "\n".join(out) + "\n"


def html_page(results: Sequence[Result], columns: Sequence[str], thumbs: Thumbnails,
              interrupted: str | None = None) -> str:
    rows, cell = _grid(results)
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = []
    for check_id in rows:
        tds = []
        for c in columns:
            r = cell.get((check_id, c))
            title = f' title="{e(r.detail)}"' if r else ""
            tds.append(f'<td class="{_css(r)}"{title}>{_mark(r)}</td>')
        body.append(f"<tr><th>{e(check_id)}</th>{''.join(tds)}</tr>")
    if any(c in thumbs for c in columns):
        imgs = "".join(
            f'<td><img src="{thumbs[c]}" width="{THUMB_WIDTH}" alt="{e(c)}"></td>'
            if c in thumbs else "<td></td>"
            for c in columns
        )
        body.append(f"<tr><th>screenshot</th>{imgs}</tr>")
    problems = "".join(
        f"<li>{r.status.mark} <code>{e(r.id)}</code> in <code>{e(r.where)}</code>: "
        f"<pre>{e(r.detail)}</pre>{'fix: ' + e(r.hint) if r.hint else ''}</li>"
        for r in _problems(results, columns)
    )
    return (
        "<!doctype html><meta charset=utf-8><title>fynecheck matrix</title><style>"
        "td,th{border:1px solid #ccc;padding:4px;text-align:center}table{border-collapse:"
        "collapse}.fail{background:#fdd}.warn{background:#ffd}.ok{background:#dfd}</style>"
        f"<h2>fynecheck matrix: {e(verdict(results, interrupted))}</h2>"
        f"<table><tr><th>check</th>{head}</tr>{''.join(body)}</table>"
        + (f"<h3>Failures and warnings</h3><ul>{problems}</ul>" if problems else "")
        + "\n"
    )


def write(path: Path, results: Sequence[Result], columns: Sequence[str], thumbs: Thumbnails,
          append: bool = False, interrupted: str | None = None) -> Path:
    """HTML when PATH ends in .html/.htm, else Markdown; `append` for $GITHUB_STEP_SUMMARY,
    which other steps also write to. `interrupted`: why the run stopped early."""
    page = (html_page if path.suffix.lower() in (".html", ".htm") else markdown)(
        results, columns, thumbs, interrupted
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as f:
        f.write(page)
    return path


def _problems(results: Sequence[Result], columns: Sequence[str]) -> list[Result]:
    order = {c: i for i, c in enumerate(columns)}
    bad = [r for r in results if r.status in (Status.FAIL, Status.WARN)]
    return sorted(bad, key=lambda r: order.get(r.where, len(order)))


def _mark(r: Result | None) -> str:
    return r.status.mark if r else ""


def _css(r: Result | None) -> str:
    return {Status.FAIL: "fail", Status.WARN: "warn", Status.OK: "ok"}.get(
        r.status, "na") if r else "none"
