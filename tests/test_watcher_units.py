"""The watcher harness's parts, on real files: the model, the oracle, the protocol
parser and the replay script's shell."""

from __future__ import annotations

import os
import subprocess
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_fynecheck.churn.prims import LocalFilesystem, Prim
from pytest_fynecheck.churn.script import shell
from pytest_fynecheck.core.model import InputError
from pytest_fynecheck.watcher.churn import Kind, Tree, names
from pytest_fynecheck.watcher.oracle import judge
from pytest_fynecheck.watcher.protocol import Event, WatcherProcess, command_argv


def test_root_is_substituted_or_appended() -> None:
    assert command_argv("w --dir={root} -v", "/r") == ["w", "--dir=/r", "-v"]
    assert command_argv("w -v", "/my root") == ["w", "-v", "/my root"]
    assert command_argv(["w", "{root}/x"], "/r") == ["w", "/r/x"]
    with pytest.raises(InputError, match="empty"):
        command_argv("  ", "/r")


def _ev(op: str, path: str) -> Event:
    return Event(op, path, 0.0)


def test_each_kind_needs_its_own_ops_and_chmod_covers_nothing() -> None:
    tree = Tree()
    step = tree.create("", "f", b"data")
    assert [(e.path, e.kind) for e in step.expects] == [("f", Kind.APPEARED)]
    assert judge(step.expects, [_ev("create", "f")], [], step.touched).missing == []
    assert judge(step.expects, [_ev("rename", "f")], [], step.touched).missing == []
    # A write for a path that was never there is not an appearance.
    assert judge(step.expects, [_ev("write", "f")], [], step.touched).missing == step.expects
    write = tree.write("f", b"new")
    assert judge(write.expects, [_ev("chmod", "f")], [], write.touched).missing == write.expects
    assert judge(write.expects, [_ev("write", "f")], [], write.touched).missing == []
    gone = tree.remove("f")
    assert judge(gone.expects, [_ev("write", "f")], [], gone.touched).missing == gone.expects
    assert judge(gone.expects, [_ev("remove", "f")], [], gone.touched).missing == []


def test_declared_loss_and_strays_are_told_apart() -> None:
    step = Tree().create("", "f", b"")
    silent = judge(step.expects, [], [], step.touched)
    assert silent.silent_loss
    declared = judge(step.expects, [], ["queue overflow"], step.touched)
    assert declared.missing and not declared.silent_loss
    strays = judge(step.expects, [_ev("create", "f"), _ev("write", "elsewhere")], [], {"f"})
    assert [e.path for e in strays.strays] == ["elsewhere"]
    # Parent directories count as touched; cookies never count as strays.
    ok = judge([], [_ev("write", "d"), _ev("create", ".fynecheck-cookie-3")], [], {"d/f"})
    assert ok.strays == []


def test_paths_are_read_relative_to_the_root(tmp_path: Path) -> None:
    script = (
        'printf \'%s\\n\' \'{"ready": true}\' "{\\"op\\": \\"CREATE\\", \\"path\\": \\"$1/a b\\"}" '
        '\'{"op": "write", "path": "./d/../e", "extra": 1}\' \'{"error": "lost"}\'; sleep 30'
    )
    with WatcherProcess(["sh", "-c", script, "sh", str(tmp_path)], str(tmp_path)) as w:
        w.wait_ready(10)
        assert w.wait_for(lambda evs: len(evs) == 2, 10)
        assert [(e.op, e.path) for e in w.events] == [("create", "a b"), ("write", "e")]
        assert w.wait_for(lambda _evs: bool(w.errors), 10)
        assert w.errors == ["lost"]
        w.check_garbage()


def _snapshot(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath, name)
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = ("file", p.stat().st_size)
    return out


def _expected(tree: Tree) -> dict[str, object]:
    out: dict[str, object] = {d: "dir" for d in tree.dirs if d}
    out.update({f: ("file", size) for f, size in tree.files.items()})
    out.update({lnk: ("link", to) for lnk, to in tree.links.items()})
    return out


OPS = st.lists(
    st.tuples(st.sampled_from(range(12)), st.integers(0, 99), names(), st.binary(max_size=8)),
    max_size=25,
)


@settings(max_examples=40, deadline=None)
@given(ops=OPS)
def test_model_matches_the_real_tree(tmp_path_factory: pytest.TempPathFactory, ops: list) -> None:  # type: ignore[type-arg]
    """Whatever steps run, the files on disk are what the model (and so the oracle) thinks."""
    root = tmp_path_factory.mktemp("churn")
    tree, fs = Tree(), LocalFilesystem(root)
    for kind, pick, name, data in ops:
        files, leaves, dirs = sorted(tree.files), tree.leaves(), tree.sub_dirs()
        parent = tree.parents()[pick % len(tree.parents())]
        if kind == 0:
            step = tree.create(parent, name, data)
        elif kind == 1 and files:
            step = tree.write(files[pick % len(files)], data or b"x")
        elif kind == 2 and files:
            step = tree.append(files[pick % len(files)], data or b"x")
        elif kind == 3 and any(tree.files.values()):
            step = tree.truncate(sorted(p for p, s in tree.files.items() if s)[0])
        elif kind == 4 and leaves:
            step = tree.rename(leaves[pick % len(leaves)], parent, name)
        elif kind == 5 and files and len(leaves) > 1:
            dst = files[pick % len(files)]
            step = tree.rename_over(next(p for p in leaves if p != dst), dst)
        elif kind == 6 and files:
            step = tree.atomic_save(files[pick % len(files)], data or b"x")
        elif kind == 7 and leaves:
            step = tree.remove(leaves[pick % len(leaves)])
        elif kind == 8:
            step = tree.mkdir(parent, name, [name, name + "2"], nested=bool(pick % 2))
        elif kind == 9 and dirs:
            step = tree.rmtree(dirs[pick % len(dirs)])
        elif kind == 10:
            step = tree.symlink(parent, name, files[0] if files and pick % 2 else "")
        else:
            step = tree.burst(parent, 3)
        fs.apply(step.prims)
    assert _snapshot(root) == _expected(tree)


def test_odd_names_survive_the_file_system(tmp_path: Path) -> None:
    nfc = unicodedata.normalize("NFC", "café")
    nfd = unicodedata.normalize("NFD", "café")
    tree, fs = Tree(), LocalFilesystem(tmp_path)
    for name in (nfc, nfd, "-dash", "a b", "x" * 230):
        fs.apply(tree.create("", name, b"1").prims)
    assert sorted(os.listdir(tmp_path)) == sorted(tree.files)
    assert len(tree.files) == 5  # NFC and NFD are different names on Linux


def test_replay_shell_makes_the_same_bytes_and_names(tmp_path: Path) -> None:
    data = bytes(range(256))
    name = "it's -odd %s\\n é"
    prims = [
        Prim("mkdir", "d"),
        Prim("write", f"d/{name}", data),
        Prim("append", f"d/{name}", b"%%"),
        Prim("symlink", "d/ln", dest="-target"),
        Prim("rename", f"d/{name}", dest="moved"),
        Prim("chmod", "moved", mode=0o600),
    ]
    script = "\n".join(shell(p) for p in prims)
    subprocess.run(["sh", "-c", script], check=True, env={**os.environ, "ROOT": str(tmp_path)})
    assert (tmp_path / "moved").read_bytes() == data + b"%%"
    assert os.readlink(tmp_path / "d" / "ln") == "-target"
    assert (tmp_path / "moved").stat().st_mode & 0o777 == 0o600


def test_a_rest_that_changes_meaning_is_no_shrink_candidate() -> None:
    # Dropping the rename makes the burst rewrite 'burst0' instead of creating it: such a
    # rest would fail falsely, so the step-dropping pass must not try it.
    from pytest_fynecheck.watcher.run import consistent

    t = Tree()
    made, moved, burst = t.create("", "burst0", b"1"), t.rename("burst0", "", "x"), t.burst("", 2)
    assert consistent([made, moved, burst])
    assert not consistent([made, burst])
    assert consistent([burst])
    d = Tree()
    mk, inside = d.mkdir("", "d"), d.create("d", "f", b"")
    assert consistent([mk, inside]) and not consistent([inside])
