"""File churn as data: a model of the tree, the steps that change it, and what each
step must make a watcher report.

A step is a list of primitive file operations (so it can run on the host, be sent to
another place, or be printed as shell) plus the expectations the oracle checks.
"""

from __future__ import annotations

import dataclasses
import enum
import posixpath
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from pytest_fynecheck.churn.prims import Prim

if TYPE_CHECKING:
    from hypothesis import strategies as st

COOKIE_PREFIX = ".fynecheck-cookie-"
# Leave room under NAME_MAX (255 bytes) for the atomic-save temporary suffix.
MAX_NAME_BYTES = 230
MAX_DEPTH = 4


class Kind(enum.Enum):
    """What happened to a path, and which reported ops cover it."""

    CONTENT = "content changed"
    GONE = "path disappeared"
    APPEARED = "path appeared"

    @property
    def covered_by(self) -> frozenset[str]:
        return _COVER[self]


_COVER = {
    Kind.CONTENT: frozenset({"create", "write"}),
    Kind.GONE: frozenset({"remove", "rename"}),
    Kind.APPEARED: frozenset({"create", "rename"}),
}


@dataclasses.dataclass(frozen=True)
class Expect:
    path: str
    kind: Kind

    def __str__(self) -> str:
        ops = " or ".join(sorted(self.kind.covered_by))
        return f"{ops} for {self.path!r} ({self.kind.value})"


@dataclasses.dataclass
class Step:
    label: str
    prims: list[Prim]
    expects: list[Expect]
    touched: set[str]

    def __str__(self) -> str:
        return self.label


# -- names -----------------------------------------------------------------------------

_PLAIN = "abcdefghijklmnopqrstuvwxyz0123456789"
_ACCENTED = "éèêëàâäôöûüçñåøÅÉ"


def _fit(name: str) -> str:
    while len(name.encode()) > MAX_NAME_BYTES:
        name = name[:-1]
    return name


def names() -> st.SearchStrategy[str]:
    """File names a real project meets, and the odd ones watchers trip on."""
    # Imported here: the plugin loads churn (through modes) on every run, Hypothesis is slow.
    from hypothesis import strategies as st

    # Letters drawn by index shrink toward "a" (st.text shrinks toward "0", and a path
    # like '0/0' reads as a fraction in a report).
    plain = st.lists(st.sampled_from(_PLAIN), min_size=1, max_size=8).map("".join)
    spaced = st.tuples(plain, plain).map(lambda t: f"{t[0]} {t[1]}")
    accented = st.tuples(plain, st.text(_ACCENTED, min_size=1, max_size=4))
    nfc = accented.map(lambda t: unicodedata.normalize("NFC", t[0] + t[1]))
    nfd = accented.map(lambda t: unicodedata.normalize("NFD", t[0] + t[1]))
    dash = plain.map(lambda s: "-" + s)
    long = st.tuples(plain, st.integers(150, 260)).map(lambda t: _fit(t[0] * (t[1] // len(t[0]))))
    return st.one_of(plain, spaced, nfc, nfd, dash, long)


# -- the model ----------------------------------------------------------------------------


@dataclasses.dataclass
class Tree:
    """What the churn root holds, as the churn made it. "" is the root."""

    files: dict[str, int] = dataclasses.field(default_factory=dict)  # path -> size
    links: dict[str, str] = dataclasses.field(default_factory=dict)  # path -> target
    dirs: set[str] = dataclasses.field(default_factory=lambda: {""})
    modes: dict[str, int] = dataclasses.field(default_factory=dict)

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.links or path in self.dirs

    def fresh(self, parent: str, name: str) -> str:
        """`parent/name`, made unique in parent without changing the name's character."""
        base, n = _join(parent, name), 0
        path = base
        while self.exists(path) or posixpath.basename(path).startswith(COOKIE_PREFIX):
            n += 1
            path = f"{base}~{n}"
        return path

    def under(self, d: str) -> list[str]:
        prefix = d + "/"
        every = [*self.files, *self.links, *self.dirs]
        return sorted(p for p in every if p.startswith(prefix))

    def depth_ok(self, parent: str) -> bool:
        return parent.count("/") + (1 if parent else 0) < MAX_DEPTH

    def leaves(self) -> list[str]:
        return sorted([*self.files, *self.links])

    def sub_dirs(self) -> list[str]:
        return sorted(d for d in self.dirs if d)

    def parents(self) -> list[str]:
        return sorted(d for d in self.dirs if self.depth_ok(d))

    def forget(self, path: str) -> None:
        self.files.pop(path, None)
        self.links.pop(path, None)
        self.modes.pop(path, None)
        self.dirs.discard(path)

    # -- steps: each builds its primitives and expectations and updates the model --------

    def create(self, parent: str, name: str, data: bytes) -> Step:
        path = self.fresh(parent, name)
        self.files[path] = len(data)
        return Step(
            f"create {path!r} with {len(data)} bytes",
            [Prim("write", path, data)],
            [Expect(path, Kind.APPEARED)],
            {path},
        )

    def write(self, path: str, data: bytes) -> Step:
        self.files[path] = len(data)
        return Step(
            f"overwrite {path!r} with {len(data)} bytes",
            [Prim("write", path, data)],
            [Expect(path, Kind.CONTENT)],
            {path},
        )

    def append(self, path: str, data: bytes) -> Step:
        self.files[path] += len(data)
        return Step(
            f"append {len(data)} bytes to {path!r}",
            [Prim("append", path, data)],
            [Expect(path, Kind.CONTENT)],
            {path},
        )

    def truncate(self, path: str) -> Step:
        # Only called on non-empty files: truncating an empty file changes nothing.
        self.files[path] = 0
        return Step(
            f"truncate {path!r} to 0 bytes",
            [Prim("truncate", path)],
            [Expect(path, Kind.CONTENT)],
            {path},
        )

    def rename(self, src: str, parent: str, name: str) -> Step:
        dst = self.fresh(parent, name)
        self._move(src, dst)
        return Step(
            f"rename {src!r} to {dst!r}",
            [Prim("rename", src, dest=dst)],
            [Expect(src, Kind.GONE), Expect(dst, Kind.APPEARED)],
            {src, dst},
        )

    def rename_over(self, src: str, dst: str) -> Step:
        self.forget(dst)
        self._move(src, dst)
        return Step(
            f"rename {src!r} over existing {dst!r}",
            [Prim("rename", src, dest=dst)],
            [Expect(src, Kind.GONE), Expect(dst, Kind.CONTENT)],
            {src, dst},
        )

    def atomic_save(self, path: str, data: bytes) -> Step:
        # An editor's save: write a temporary beside the file, then rename it over.
        tmp = self.fresh(posixpath.dirname(path), "." + _fit(posixpath.basename(path)) + ".swp")
        self.files[path] = len(data)
        return Step(
            f"atomic save of {path!r} ({len(data)} bytes via {tmp!r})",
            [Prim("write", tmp, data), Prim("rename", tmp, dest=path)],
            [Expect(path, Kind.CONTENT)],
            {path, tmp},
        )

    def remove(self, path: str) -> Step:
        self.forget(path)
        return Step(f"remove {path!r}", [Prim("remove", path)], [Expect(path, Kind.GONE)], {path})

    def mkdir(
        self, parent: str, name: str, files: Sequence[str] = (), nested: bool = False
    ) -> Step:
        """mkdir, then at once files inside it (and in a subdirectory when nested):
        the race every recursive watcher on fsnotify must handle."""
        d = self.fresh(parent, name)
        self.dirs.add(d)
        prims, made = [Prim("mkdir", d)], [d]
        inner = [d]
        if nested:
            sub = self.fresh(d, "sub")
            self.dirs.add(sub)
            prims.append(Prim("mkdir", sub))
            made.append(sub)
            inner.append(sub)
        for i, fname in enumerate(files):
            f = self.fresh(inner[i % len(inner)], fname)
            self.files[f] = 1
            prims.append(Prim("write", f, b"x"))
            made.append(f)
        what = f" with {len(made) - 1} entries inside" if len(made) > 1 else ""
        return Step(
            f"mkdir {d!r}{what}", prims, [Expect(p, Kind.APPEARED) for p in made], set(made)
        )

    def rmtree(self, d: str) -> Step:
        gone = [*self.under(d), d]
        for p in gone:
            self.forget(p)
        return Step(
            f"remove directory {d!r} and its {len(gone) - 1} entries",
            [Prim("rmtree", d)],
            [Expect(p, Kind.GONE) for p in gone],
            set(gone),
        )

    def chmod(self, path: str) -> Step:
        # Metadata only: nothing is expected, and a chmod event covers nothing else.
        mode = 0o600 if self.modes.get(path, 0o644) == 0o644 else 0o644
        self.modes[path] = mode
        return Step(f"chmod {mode:o} {path!r}", [Prim("chmod", path, mode=mode)], [], {path})

    def symlink(self, parent: str, name: str, target: str) -> Step:
        link = self.fresh(parent, name)
        rel = posixpath.relpath(target, parent or ".") if target else "missing-target"
        self.links[link] = rel
        return Step(
            f"symlink {link!r} -> {rel!r}",
            [Prim("symlink", link, dest=rel)],
            [Expect(link, Kind.APPEARED)],
            {link},
        )

    def burst(self, parent: str, count: int) -> Step:
        made = [self.fresh(parent, f"burst{i}") for i in range(count)]
        for p in made:
            self.files[p] = 1
        return Step(
            f"burst of {count} new files in {parent or '.'!r}",
            [Prim("write", p, b"b") for p in made],
            [Expect(p, Kind.APPEARED) for p in made],
            set(made),
        )

    def _move(self, src: str, dst: str) -> None:
        if src in self.files:
            self.files[dst] = self.files.pop(src)
        else:
            self.links[dst] = self.links.pop(src)
        if src in self.modes:
            self.modes[dst] = self.modes.pop(src)


def _join(parent: str, name: str) -> str:
    return f"{parent}/{name}" if parent else name


def ancestors(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for p in paths:
        while p:
            p = posixpath.dirname(p)
            out.add(p)
    return out


# -- shorter names (the minimizer's) -----------------------------------------------------

SHORT_NAMES = "abcdefghijklmnopqrstuvwxyz"


def step_paths(steps: Iterable[Step]) -> set[str]:
    """Every path the steps name (rename and symlink targets too), with its parents."""
    out: set[str] = set()
    for step in steps:
        out |= step.touched | {e.path for e in step.expects}
        for p in step.prims:
            out.add(p.path)
            if p.verb == "rename":
                out.add(p.dest)
            elif p.verb == "symlink":
                out.add(_link_target(p))
    return out | ancestors(out)


def _link_target(p: Prim) -> str:
    return posixpath.normpath(posixpath.join(posixpath.dirname(p.path), p.dest))


def renamed(steps: Sequence[Step], old: str, new: str) -> list[Step]:
    """`steps` with the path `old`, and every path under it, called `new` (same parent):
    what each step does and expects, and its label."""

    def m(path: str) -> str:
        if path == old:
            return new
        if path.startswith(old + "/"):
            return new + path[len(old):]
        return path

    def prim(p: Prim) -> Prim:
        if p.verb == "rename":
            return dataclasses.replace(p, path=m(p.path), dest=m(p.dest))
        if p.verb == "symlink":
            link = m(p.path)
            target = m(_link_target(p))
            rel = posixpath.relpath(target, posixpath.dirname(link) or ".")
            return dataclasses.replace(p, path=link, dest=rel)
        return dataclasses.replace(p, path=m(p.path))

    out = []
    for step in steps:
        prims = [prim(p) for p in step.prims]
        changed = {repr(x): repr(m(x)) for x in step_paths([step]) if m(x) != x}
        label = step.label
        if len(prims) == 1 and prims[0].verb == "symlink":
            label = f"symlink {prims[0].path!r} -> {prims[0].dest!r}"
        elif changed:
            # One pass: a new name never gets renamed again.
            label = _substitute(label, changed)
        out.append(Step(label, prims, [Expect(m(e.path), e.kind) for e in step.expects],
                        {m(t) for t in step.touched}))
    return out


def _short_names() -> Iterable[str]:
    """a .. z, then aa .. zz: the names the minimizer gives, shortest first."""
    yield from SHORT_NAMES
    yield from (x + y for x in SHORT_NAMES for y in SHORT_NAMES)


# Names the churn itself makes (a burst's files, mkdir's subdirectory, an atomic save's
# temporary) are short and say what made them: the minimizer keeps them.
_KIT_NAME = re.compile(r"burst\d+|sub|\..*\.swp")


def shorter_names(steps: Sequence[Step]) -> Iterable[tuple[str, str]]:
    """(path, the same path with a shorter name) for each path the steps make whose name
    Hypothesis drew and that is not one letter yet, in the order the steps make them:
    the minimizer's candidates."""
    made: list[str] = []
    for step in steps:
        for p in step.prims:
            path = p.dest if p.verb == "rename" else p.path
            if path not in made:
                made.append(path)
    every = step_paths(steps)
    for path in made:
        name = posixpath.basename(path)
        if (len(name) == 1 and name in SHORT_NAMES) or _KIT_NAME.fullmatch(name):
            continue
        parent = posixpath.dirname(path)
        taken = {posixpath.basename(x) for x in every if posixpath.dirname(x) == parent}
        free = next(c for c in _short_names() if c not in taken or c == name)
        if free != name and len(free) <= len(name):
            yield path, _join(parent, free)


def _substitute(text: str, changed: dict[str, str]) -> str:
    """Each key of `changed` in `text` replaced, in one pass (a new name is never replaced
    again), longest keys first."""
    pattern = "|".join(re.escape(k) for k in sorted(changed, key=len, reverse=True))
    return re.sub(pattern, lambda mt: changed[mt.group(0)], text)
