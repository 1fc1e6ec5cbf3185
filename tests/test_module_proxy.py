"""A module proxy that refuses a pinned version: a real HTTP proxy on 127.0.0.1 that Go
really asks, answering 403 (or 404/410) for one module. The report says what happened,
once, and the hint is about GOPROXY/GOPRIVATE, not `go mod tidy`."""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import run_fynecheck
from support.sample import MODULE

from pytest_fynecheck.toolchain.gotool import dedupe_errors

REFUSED = "example.com/refused"
PSEUDO = "v0.0.0-20240101000000-abcdefabcdef"
REASONS = {403: "Forbidden", 404: "Not Found", 410: "Gone"}


class _Proxy(http.server.ThreadingHTTPServer):
    status = 403
    asked: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Proxy

    def do_GET(self) -> None:
        self.server.asked.append(self.path)
        # Every other module the build needs is in the module cache: Go never asks for it.
        code = self.server.status if self.path.startswith(f"/{REFUSED}/") else 404
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(f"{REASONS[code]}\n".encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[_Proxy]:
    server = _Proxy(("127.0.0.1", 0), _Handler)
    server.asked = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def pinned(hello: Path) -> Path:
    """hello, with three packages importing four packages of a module pinned at a
    pseudo-version that go.sum lists (so Go goes to fetch it, and nothing else fails)."""
    subprocess.run(["go", "mod", "edit", f"-require={REFUSED}@{PSEUDO}"], cwd=hello, check=True,
                   timeout=60)
    fake = "h1:" + "A" * 43 + "="
    with (hello / "go.sum").open("a") as f:
        f.write(f"{REFUSED} {PSEUDO} {fake}\n{REFUSED} {PSEUDO}/go.mod {fake}\n")
    for n, pkg in enumerate(("a", "b", "c")):
        (hello / pkg).mkdir()
        (hello / pkg / f"{pkg}.go").write_text(
            f'package {pkg}\n\nimport (\n\t_ "{REFUSED}"\n\t_ "{REFUSED}/p{n}"\n)\n'
        )
    main = hello / "main.go"
    imports = "".join(f'\t_ "{MODULE}/{p}"\n' for p in ("a", "b", "c"))
    main.write_text(main.read_text().replace("import (\n", "import (\n" + imports, 1))
    return hello


@pytest.mark.parametrize("status", [403, 410])
def test_proxy_refusal_is_named_once_with_a_proxy_hint(
    pytester: pytest.Pytester, pinned: Path, proxy: _Proxy, status: int
) -> None:
    proxy.status = status
    port = proxy.server_address[1]
    env = {"GOPROXY": f"http://127.0.0.1:{port}", "GOFLAGS": "-mod=mod", "GONOSUMDB": REFUSED}
    run = run_fynecheck(pytester, pinned, "-k", "project.gomod", env=env,
                        unset=["GOPRIVATE", "GONOPROXY"])
    assert any(p.startswith(f"/{REFUSED}/@v/{PSEUDO}.") for p in proxy.asked), proxy.asked
    assert run.status("project.gomod") == "fail", run
    check = run.checks["project.gomod"]
    reason = f"{status} {REASONS[status]}"
    what = "refused" if status == 403 else "does not have"
    assert check["detail"].startswith(f"the module proxy {what} {REFUSED}@{PSEUDO}: GET "), check
    # Go printed it once per import (four); the report says it once, and how often.
    assert check["detail"].count(reason) == 2, check["detail"]  # the summary and Go's line
    assert "the same error 3 more time(s)" in check["detail"], check["detail"]
    assert "GOPRIVATE" in check["hint"] and "go mod tidy` fails the same way" in check["hint"]
    assert not check["hint"].startswith("run `go mod tidy`"), check["hint"]
    # Go's download line became a progress line, past capture.
    downloading = f"  fynecheck: project.gomod: downloading {REFUSED} {PSEUDO} *"
    run.result.stdout.fnmatch_lines([downloading])

    # The hint's claim: `go mod tidy` meets the same refusal.
    tidy = subprocess.run(["go", "mod", "tidy"], cwd=pinned, capture_output=True, text=True,
                          timeout=300, env=_env(env))
    assert tidy.returncode != 0
    assert f"{REFUSED}@{PSEUDO}: reading http://127.0.0.1:{port}/" in tidy.stderr, tidy.stderr
    assert reason in tidy.stderr


def _env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GOPRIVATE", "GONOPROXY")}
    return {**env, **extra}


def test_dedupe_keeps_distinct_errors_and_their_order() -> None:
    err = (
        "go: downloading m v1\n"
        "a/a.go:4:2: m@v1: reading http://x/m/@v/v1.zip: 403 Forbidden\n"
        "\tserver response: Forbidden\n"
        "b/b.go:5:2: m@v1: reading http://x/m/@v/v1.zip: 403 Forbidden\n"
        "\tserver response: Forbidden\n"
        "c/c.go:1:1: another problem\n"
    )
    assert dedupe_errors(err) == (
        "go: downloading m v1\n"
        "a/a.go:4:2: m@v1: reading http://x/m/@v/v1.zip: 403 Forbidden\n"
        "\tserver response: Forbidden\n"
        "(the same error 1 more time(s), at b/b.go:5:2)\n"
        "c/c.go:1:1: another problem"
    )
