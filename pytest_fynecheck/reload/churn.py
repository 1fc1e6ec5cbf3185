"""Churn of the probe's tree as data: a model of the files, and steps made of actions
(file operations from the watcher's churn, pauses, and build holds) that can run here,
or be printed as shell in a replay script."""

from __future__ import annotations

import dataclasses
import posixpath

from pytest_fynecheck.churn.prims import Prim
from pytest_fynecheck.reload import probe


@dataclasses.dataclass(frozen=True)
class Action:
    """`fs`: apply `prim`. `pause`: sleep `seconds`. `hold`: finished builds wait before
    exiting. `await_held`: until a build is held (at most `seconds`). `release`: let it
    exit. `await_build`: until a build starts and ends (at most `seconds`)."""

    kind: str
    prim: Prim | None = None
    seconds: float = 0.0

    def __str__(self) -> str:
        if self.prim is not None:
            p = self.prim
            return f"{p.verb} {p.path}" + (f" -> {p.dest}" if p.dest else "")
        return f"{self.kind} {self.seconds:g} s" if self.seconds else self.kind


def fs(prim: Prim) -> Action:
    return Action("fs", prim)


@dataclasses.dataclass
class Step:
    label: str
    actions: list[Action]
    # The tree's hash once the step is done: a stale probe names the step it is from.
    hash_after: str = ""

    def __str__(self) -> str:
        return self.label


@dataclasses.dataclass
class ProbeTree:
    """The tree as the churn made it: path -> content."""

    files: dict[str, bytes] = dataclasses.field(default_factory=probe.initial_files)
    packages: list[str] = dataclasses.field(default_factory=list)
    rev: int = 0

    def hash(self) -> str:
        return probe.tree_hash(self.files)

    def go_files(self) -> list[str]:
        return ["main.go", *(f"{p}/{p}.go" for p in self.packages)]

    def assets(self) -> list[str]:
        return sorted(p for p in self.files if p.startswith(probe.ASSETS + "/"))

    def _next(self) -> int:
        self.rev += 1
        return self.rev

    def _content(self, path: str, rev: int) -> bytes:
        if path == "main.go":
            return probe.main_go(self.packages, rev)
        if path.startswith(probe.ASSETS + "/"):
            return probe.asset(posixpath.basename(path), rev)
        return probe.package_go(posixpath.dirname(path), rev)

    def _write(self, path: str, data: bytes, atomic: bool) -> list[Action]:
        self.files[path] = data
        if not atomic:
            return [fs(Prim("write", path, data))]
        # An editor's save: a temporary beside the file, renamed over it.
        tmp = posixpath.join(posixpath.dirname(path), "." + posixpath.basename(path) + ".swp")
        return [fs(Prim("write", tmp, data)), fs(Prim("rename", tmp, dest=path))]

    # -- steps -------------------------------------------------------------------------

    def edit(self, path: str, atomic: bool) -> Step:
        how = "atomic save of" if atomic else "edit"
        return Step(f"{how} {path}", self._write(path, self._content(path, self._next()), atomic))

    def new_package(self, gap: float) -> Step:
        """mkdir pkgN, its source, then (after `gap` s) main.go importing it."""
        name = f"pkg{len(self.packages) + 1}"
        src = f"{name}/{name}.go"
        acts = [fs(Prim("mkdir", name))]
        acts += self._write(src, probe.package_go(name, self._next()), False)
        if gap:
            acts.append(Action("pause", seconds=gap))
        self.packages.append(name)
        acts += self._write("main.go", probe.main_go(self.packages, self._next()), False)
        return Step(f"new package {name}/ imported by main.go", acts)

    def broken_build(self, atomic: bool, wait: float) -> Step:
        """main.go that does not compile, a build of it, then main.go fixed."""
        acts = self._write("main.go", probe.main_go(self.packages, self._next(), True), atomic)
        acts.append(Action("await_build", seconds=wait))
        acts += self._write("main.go", probe.main_go(self.packages, self._next()), atomic)
        return Step("break main.go (a type error), await a build, fix it", acts)

    def asset_edit(self, path: str | None, atomic: bool) -> Step:
        """Edit an embedded asset, or add one (path None)."""
        if path is None:
            path = f"{probe.ASSETS}/note{len(self.assets())}.txt"
            label = f"new embedded asset {path}"
        else:
            label = f"{'atomic save of' if atomic else 'edit'} embedded asset {path}"
        return Step(label, self._write(path, self._content(path, self._next()), atomic))

    def edit_during_build(self, first: str, second: str, wait: float) -> Step:
        """Edit `first`; once the build it triggers has compiled, edit `second` while
        the tool still waits for that build; then let the build finish."""
        acts = [Action("hold")]
        acts += self._write(first, self._content(first, self._next()), False)
        acts.append(Action("await_held", seconds=wait))
        acts += self._write(second, self._content(second, self._next()), False)
        acts.append(Action("release"))
        return Step(f"edit {first}, then {second} during the build that follows", acts)

    def pause(self, seconds: float) -> Step:
        return Step(f"pause {seconds:g} s", [Action("pause", seconds=seconds)])


def track(disk: dict[str, bytes], p: Prim) -> None:
    """What `p` does to `disk` (path -> content) when it runs."""
    if p.verb == "write":
        disk[p.path] = p.data
    elif p.verb == "rename":
        disk[p.dest] = disk.pop(p.path)
    elif p.verb != "mkdir":
        raise ValueError(f"the reload churn does not {p.verb}")


def state_label(step: int, label: str, p: Prim | None = None) -> str:
    where = f"step {step} ({label})"
    return f"during {where}, after {p.verb} {p.path}" if p is not None else f"after {where}"


def history(steps: list[Step]) -> list[tuple[str, str]]:
    """(label, tree hash) at the start, after every write and after every step."""
    disk = probe.initial_files()
    out = [("at the start", probe.tree_hash(disk))]
    for n, step in enumerate(steps, 1):
        for a in step.actions:
            if a.prim is not None:
                track(disk, a.prim)
                h = probe.tree_hash(disk)
                if h != out[-1][1]:  # as Sandbox records it
                    out.append((state_label(n, step.label, a.prim), h))
        out.append((state_label(n, step.label), probe.tree_hash(disk)))
    return out


__all__ = ["Action", "ProbeTree", "Step", "history", "state_label", "track"]
