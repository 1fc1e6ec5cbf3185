"""Watcher figures, each against a baseline measured in the same run.

    python bench/watcher.py [--steps N] [--base DIR] [--skip-catch] [--mode MODE ...]
                            [--adapter NAME ...] [--shrink-vs-forward]
                            [--attach-vs-cli [--repeat N]]

MODE: local (default), container:SUITE, bind:SUITE, bind:SUITE:reverse; each mode gets
every figure. Container modes need a Docker engine and build the suite image once.
--adapter (inotifywait, fswatch, watchman, fsnotify; repeatable) gives the built-in
watchers' figures instead of the shipped broken ones':

4. per built-in watcher and mode: verified ops/s (same churn as 1, ratio to the reference
   watcher's in the same run), time to its first catch (no shrinking), and the length of
   its shrunk reproducer with the tries a replay needs (or "passed" when nothing was
   caught in the kit's default 30 examples x 25 steps)

1. verified file operations per second with the reference watcher (churn, a cookie
   barrier and the oracle after every step), vs the raw rate of the same operations
   with no watcher and no barriers                               goal >= 500 verified ops/s
2. time to catch each shipped broken watcher with the kit's default settings
   (30 examples x 25 steps, shrinking included)                  goal <= 30 s each
3. length of the shrunk reproducer                                goal <= 6 steps
5. with --shrink-vs-forward, per broken watcher: on the very failure Hypothesis left,
   the step-dropping shrinker (run.minimize) vs the baseline single front-to-back pass
   it replaced: steps left, replays and seconds each, and the time ratio
6. with --attach-vs-cli, in a container mode that watches inside: one watcher's life
   (start, `{"ready": true}`, stop), attached through the SDK (the kit's way) vs
   through a `docker exec -i` CLI child (the way before issue 12); medians and ratio
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from hypothesis import Phase, settings
from stopwatch import median

from pytest_fynecheck.churn.stateful import hypothesis_settings
from pytest_fynecheck.containers.start import start_suite
from pytest_fynecheck.core.paths import cache_dir
from pytest_fynecheck.core.process import Child
from pytest_fynecheck.watcher import adapters, harness, run
from pytest_fynecheck.watcher.build import build_go, reference_watcher
from pytest_fynecheck.watcher.harness import WatcherCheckFailed, check_watcher
from pytest_fynecheck.watcher.machine import ChurnMachine, machine_for
from pytest_fynecheck.watcher.modes import ContainerSandbox, Mode, parse_mode
from pytest_fynecheck.watcher.options import DEFAULT_MAX_EXAMPLES, DEFAULT_STEPS, Options
from pytest_fynecheck.watcher.protocol import WatcherProcess, command_argv
from pytest_fynecheck.watcher.run import Stats, StepFailed, consistent

BROKEN_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "watchers"
BROKEN = ("norecurse", "newdirrace", "droprename", "statdrop", "chan1", "overflow", "debounce")
NAMES = ["a", "main.go", "my file", "café", "cafe\u0301", "-dash", "x" * 200]


def churn(m: ChurnMachine, rng: random.Random, steps: int) -> None:
    """The machine's own rules with random arguments: same steps, barrier and oracle."""
    for _ in range(steps):
        if m.failure is not None:
            break  # a lossy watcher: its verified rate ends at its first loss
        t = m.tree
        pick, name, data = rng.randrange(1 << 16), rng.choice(NAMES), rng.randbytes(16)
        choices = ["create", "mkdir", "symlink", "burst"]
        if t.files:
            choices += ["write", "append", "atomic_save", "chmod"]
        if any(t.files.values()):
            choices.append("truncate")
        if t.leaves():
            choices += ["rename", "remove"]
        if t.files and len(t.leaves()) >= 2:
            choices.append("rename_over")
        if t.sub_dirs():
            choices.append("rmtree")
        rule = rng.choice(choices)
        if rule == "create":
            m.create(parent=pick, name=name, data=data)
        elif rule == "mkdir":
            m.mkdir(parent=pick, name=name, files=NAMES[:3], nested=bool(pick % 2))
        elif rule == "symlink":
            m.symlink(parent=pick, name=name, aim=pick, dangling=bool(pick % 2))
        elif rule == "burst":
            m.burst(parent=pick, count=rng.randrange(1 << 20))
        elif rule in ("write", "append", "atomic_save"):
            getattr(m, rule)(pick=pick, data=data)
        elif rule in ("chmod", "truncate", "remove", "rmtree"):
            getattr(m, rule)(pick=pick)
        elif rule == "rename":
            m.rename(pick=pick, parent=rng.randrange(1 << 16), name=name)
        else:
            m.rename_over(pick=pick, over=rng.randrange(1 << 16))


def make_mode(spec: str, base: Path | None) -> Mode:
    # Every kit-built watcher lives under the cache's go/ dir: one mount serves them all.
    return parse_mode(spec, base, start=start_suite, mounts=[cache_dir() / "go"])


def throughput(ref: Path | list[str], steps: int, mode: Mode) -> tuple[float, float, int]:
    stats = Stats()
    argv = [str(ref)] if isinstance(ref, Path) else ref
    machine = machine_for(argv, mode, Options(), stats)()
    start = time.perf_counter()
    try:
        churn(machine, random.Random(0), steps)
    finally:
        elapsed = time.perf_counter() - start
        prims = [p for s in machine.steps for p in s.prims]
        if machine.current is not None:  # not teardown(): a loss is figure 4's, not a failure
            machine.current.close()
    # Baseline: the very same primitives in the same place, no watcher, no barriers.
    box = mode.sandbox()
    try:
        t0 = time.perf_counter()
        for p in prims:
            box.fs.apply([p])
        raw = time.perf_counter() - t0
    finally:
        box.close()
    return stats.prims / elapsed, len(prims) / raw, stats.steps


def catch(
    name: str, mode: Mode, argv: list[str] | None = None, shrink: bool = True
) -> tuple[float, int | None, str, int]:
    """(seconds, shrunk length or None when not caught, what was caught, replay tries)."""
    argv = argv or [str(build_go(BROKEN_DIR, name, cache=cache_dir()))]
    phases = tuple(Phase) if shrink else (Phase.explicit, Phase.reuse, Phase.generate)
    hyp = hypothesis_settings(
        settings(database=None, phases=phases),
        max_examples=DEFAULT_MAX_EXAMPLES,
        stateful_step_count=DEFAULT_STEPS,
    )
    t0 = time.perf_counter()
    try:
        check_watcher(argv, mode, hyp=hyp)
    except WatcherCheckFailed as exc:
        f = exc.step_failure
        if f is None:
            return time.perf_counter() - t0, None, str(exc).splitlines()[0], 0
        missed = f"{f.verdict.missing[0]}" if f.verdict.missing else f.reason
        return time.perf_counter() - t0, len(f.steps), f"{f.steps[-1].label}: {missed}", \
            exc.tries.count
    return time.perf_counter() - t0, None, "NOT CAUGHT", 0


def forward_pass(
    cmd: str | list[str], mode: Mode, options: Options, failure: StepFailed, tries: int
) -> StepFailed:
    """Figure 5's baseline: the shrinker before issue 12, one front-to-back pass. A step
    that later steps need is skipped and never tried again once they are gone."""
    best, i = failure, 0
    while i < len(best.steps) - 1:
        rest = best.steps[:i] + best.steps[i + 1 :]
        found = None
        if consistent(rest):
            for _ in range(tries):
                try:
                    found = run.replay(cmd, mode, options, rest)
                except (OSError, RuntimeError):
                    break
                if found is not None:
                    break
        if found is not None and len(found.steps) < len(best.steps):
            best = found
        else:
            i += 1
    return best


def shrink_figures(spec: str, mode: Mode) -> None:
    """Both shrinkers on each failure check_watcher hands its shrinker, replays counted."""
    replays = [0]
    real_replay, real_minimize = run.replay, run.minimize

    def counted(*a: object) -> StepFailed | None:
        replays[0] += 1
        return real_replay(*a)  # type: ignore[arg-type]

    def both(cmd: str | list[str], m: Mode, o: Options, f: StepFailed, tries: int) -> StepFailed:
        out = []
        for fn in (forward_pass, real_minimize):
            replays[0], start = 0, time.perf_counter()
            got = fn(cmd, m, o, f, tries)
            out.append((got, replays[0], time.perf_counter() - start))
        (old, r0, t0), (new, r1, t1) = out
        print(f"[{spec}] 5. {name:11s} Hypothesis left {len(f.steps)} step(s), {tries} "
              f"tries each: forward pass (baseline) -> {len(old.steps)} steps, {r0} replays, "
              f"{t0:.1f} s; minimize -> {len(new.steps)} steps, {r1} replays, {t1:.1f} s; "
              f"time ratio x{t1 / max(t0, 1e-9):.2f}")
        return new

    # Instrumentation, not a change: the harness's own calls go through both shrinkers.
    swap = [(run, "replay", counted), (harness, "minimize", both)]
    for module, attr, fn in swap:
        setattr(module, attr, fn)
    try:
        for name in BROKEN:
            secs, length, _, _ = catch(name, mode)
            if length is None:
                print(f"[{spec}] 5. {name:11s} not caught in {secs:.1f} s")
    finally:
        for (module, attr, _), real in zip(swap, (real_replay, real_minimize), strict=True):
            setattr(module, attr, real)


def attach_figures(spec: str, ref: Path, mode: Mode, repeat: int) -> None:
    box = mode.sandbox()
    try:
        if not isinstance(box, ContainerSandbox) or not box.watch_inside:
            print(f"[{spec}] 6. needs a mode whose watcher runs in the container")
            return
        ctx, argv = box.ctx, command_argv([str(ref)], box.watcher_root)
        docker = shutil.which("docker")
        assert docker is not None and ctx.container is not None, "the baseline needs the CLI"

        def life(started: Callable[[], WatcherProcess]) -> None:
            w = started()
            try:
                w.wait_ready(30)
            finally:
                w.stop()

        def sdk() -> WatcherProcess:
            return box.start_watcher([str(ref)])

        def cli() -> WatcherProcess:
            wrapped, token = ctx.session_argv(argv)
            child = Child([docker, "exec", "-i", "--workdir", "/", str(ctx.container), *wrapped])
            return WatcherProcess(argv, box.watcher_root, started=child,
                                  signal_fn=box.signaller(token))

        life(sdk)  # warm both
        life(cli)
        base = median(lambda: life(cli), repeat)
        now = median(lambda: life(sdk), repeat)
        print(f"[{spec}] 6. a watcher's life (start, ready, stop), median of {repeat}: "
              f"`docker exec -i` CLI (baseline) {base * 1000:.0f} ms; attached through the "
              f"SDK {now * 1000:.0f} ms; ratio x{now / base:.2f}")
    finally:
        box.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--base", type=Path, default=None, help="temp dir for roots (default TMPDIR)")
    ap.add_argument("--skip-catch", action="store_true")
    ap.add_argument("--mode", action="append", help="repeatable; default: local")
    ap.add_argument("--adapter", action="append", choices=adapters.NAMES,
                    help="figure 4 for these built-in watchers (repeatable)")
    ap.add_argument("--shrink-vs-forward", action="store_true",
                    help="figure 5 only: this shrinker vs the single forward pass")
    ap.add_argument("--attach-vs-cli", action="store_true",
                    help="figure 6 only: watcher start and stop, SDK vs docker CLI")
    ap.add_argument("--repeat", type=int, default=20, help="figure 6's runs per side")
    args = ap.parse_args()
    base = args.base
    print(
        f"watcher bench: base={base or tempfile.gettempdir()}, cpus={os.cpu_count()}, "
        f"load={os.getloadavg()[0]:.1f}"
    )
    ref = reference_watcher(cache_dir())
    for name in BROKEN:
        build_go(BROKEN_DIR, name, cache=cache_dir())  # before a container mounts go/
    project = Path(__file__).resolve().parent.parent / "fixtures" / "hello"
    builtins = {a: adapters.resolve(a, project, cache_dir()) for a in args.adapter or []}
    ok = True
    for spec in args.mode or ["local"]:
        mode = make_mode(spec, base)
        try:
            mode.sandbox().close()  # start the container outside the figures
            if args.attach_vs_cli:
                attach_figures(spec, ref, mode, args.repeat)
            elif args.shrink_vs_forward:
                shrink_figures(spec, mode)
            elif builtins:
                builtin_figures(spec, ref, mode, args.steps, builtins)
            else:
                ok &= figures(spec, ref, mode, args.steps, args.skip_catch)
        finally:
            mode.close()
    return 0 if ok else 1


def builtin_figures(
    spec: str, ref: Path, mode: Mode, steps: int, builtins: dict[str, adapters.Resolved]
) -> None:
    base, _, _ = throughput(ref, steps, mode)
    print(f"[{spec}] 4. baseline: the reference watcher verifies {base:.0f} ops/s")
    for name, found in builtins.items():
        suite = spec.split(":")[1] if ":" in spec else ""
        if suite and not spec.endswith(":reverse") and (name, suite) in adapters.UNAVAILABLE:
            print(f"[{spec}] 4. {name:11s} cannot run here: "
                  f"{adapters.UNAVAILABLE[(name, suite)]}")
            continue
        verified, _, done = throughput(found.argv, steps, mode)
        first, length, what, _ = catch(name, mode, found.argv, shrink=False)
        if length is None:
            print(f"[{spec}] 4. {name:11s} {verified:5.0f} verified ops/s "
                  f"(x{verified / base:.2f} the reference's) over {done} steps; nothing "
                  f"caught in {first:.1f} s ({DEFAULT_MAX_EXAMPLES} x {DEFAULT_STEPS}): {what}")
            continue
        secs, length, what, tries = catch(name, mode, found.argv)
        print(f"[{spec}] 4. {name:11s} {verified:5.0f} verified ops/s "
              f"(x{verified / base:.2f} the reference's) over {done} steps; first catch in "
              f"{first:.1f} s; shrunk in {secs:.1f} s to {length} step(s), replay needs up "
              f"to {tries} tries: {what}")


def figures(spec: str, ref: Path, mode: Mode, steps: int, skip_catch: bool) -> bool:
    verified, raw, done = throughput(ref, steps, mode)
    print(
        f"[{spec}] 1. verified ops/s with the reference watcher: {verified:.0f} over {done} "
        f"steps (barrier after every step); raw ops/s, no watcher: {raw:.0f}; "
        f"ratio {verified / raw:.3f}  goal >= 500 verified ops/s: "
        f"{'met' if verified >= 500 else 'NOT met'}"
    )
    if skip_catch:
        return True
    worst_t, worst_len, ok = 0.0, 0, True
    for name in BROKEN:
        secs, length, reason, _ = catch(name, mode)
        caught = length is not None
        ok &= caught
        worst_t, worst_len = max(worst_t, secs), max(worst_len, length or 0)
        print(
            f"[{spec}] 2/3. {name:11s} caught={caught!s:5s} in {secs:6.1f} s, shrunk to "
            f"{length} step(s) ({reason})"
        )
    print(
        f"[{spec}] 2. slowest catch {worst_t:.1f} s  goal <= 30 s: "
        f"{'met' if worst_t <= 30 else 'NOT met'}"
    )
    print(
        f"[{spec}] 3. longest shrunk reproducer {worst_len} steps  goal <= 6: "
        f"{'met' if worst_len <= 6 else 'NOT met'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(main())
