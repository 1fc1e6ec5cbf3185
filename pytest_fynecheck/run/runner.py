"""Runs checks once per context and session, in parallel where they do not depend on each other."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait

from pytest_fynecheck.checks import Check, Found, catalogue
from pytest_fynecheck.core import process
from pytest_fynecheck.core.context import Context, running_check
from pytest_fynecheck.core.model import CheckFailed, Result, Status


class Runner:
    def __init__(
        self,
        make_context: Callable[[str], Context],
        workers: int = 16,
        idle: Callable[[], None] = lambda: None,
    ) -> None:
        # A check that runs alongside its requirements holds its thread until they end
        # (its result is dropped if one fails): with 6 threads, the checks queued behind
        # three such waiters (gl.context behind cc.works') started only when cc.works did.
        # The work is in subprocesses: a thread per check of a context costs nothing.
        # Contexts (the host, containers) are made on first use: a container starts only
        # when one of its checks runs.
        self._make_context = make_context
        # Called often while a caller waits for a result: it writes the checks' progress.
        self._idle = idle
        self.contexts: dict[str, Context] = {}
        self.checks = catalogue()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fynecheck")
        self._futures: dict[tuple[str, str], Future[Result]] = {}
        self._lock = threading.RLock()  # submit() recurses into requirements
        self._context_lock = threading.Lock()

    def submit(self, context: str, check_id: str) -> Future[Result]:
        """Start a check (and what it requires) unless it is already under way."""
        check = self.checks[check_id]
        with self._lock:
            key = (context, check_id)
            if key not in self._futures:
                deps = {d: self.submit(context, d) for d in check.requires}
                self._futures[key] = self._pool.submit(self._run, context, check, deps)
            return self._futures[key]

    def result(self, context: str, check_id: str) -> Result:
        return self._wait(self.submit(context, check_id))

    def results(self, context: str, ids: Iterable[str]) -> list[Result]:
        futures = [self.submit(context, i) for i in ids]
        return [self._wait(f) for f in futures]

    def _wait(self, future: Future[Result]) -> Result:
        while not wait([future], timeout=0.2).done:
            self._idle()
        self._idle()
        return future.result()

    def context(self, name: str) -> Context:
        with self._context_lock:
            if name not in self.contexts:
                self.contexts[name] = self._make_context(name)
            return self.contexts[name]

    def _run(self, context: str, check: Check, deps: dict[str, Future[Result]]) -> Result:
        start = time.monotonic()

        def result(
            status: Status, detail: str, hint: str = "", artifacts: dict[str, str] | None = None
        ) -> Result:
            return Result(
                check.id,
                check.title,
                status,
                detail,
                hint,
                where=context,
                required=check.required,
                seconds=round(time.monotonic() - start, 3),
                artifacts=artifacts or {},
            )

        def blocked() -> Result | None:
            unmet = [r for r in (d.result() for d in deps.values())
                     if r.status in (Status.FAIL, Status.NOT_RUN)]
            if not unmet:
                return None
            roots = self.failed_roots(context, check.id)
            failed = [r.id for r in unmet if r.status is Status.FAIL]
            skipped = [r.id for r in unmet if r.status is Status.NOT_RUN]
            why = [f"needs {', '.join(failed)}, which failed"] if failed else []
            if skipped:
                below = dict.fromkeys(x for d in skipped for x in self.failed_roots(context, d))
                why.append(f"needs {', '.join(skipped)}, which "
                           f"{'was' if len(skipped) == 1 else 'were'} not run "
                           f"({', '.join(below)} failed)")
            fix = f"fix {', '.join(roots)} first"
            return result(Status.NOT_RUN, f"not run: {'; '.join(why)}", fix)

        if check.waits and (stop := blocked()):
            return stop
        try:
            # Set here, in the pool's thread: submit() runs in another one.
            with running_check(check.id):
                found = check.run(self.context(context), _Needs(deps))
        except CheckFailed as exc:
            return blocked() or result(exc.status, exc.detail, exc.hint or check.hint,
                                       getattr(exc, "artifacts", None))
        except Exception as exc:  # a bug in the kit, not in the machine: say so plainly
            return blocked() or result(
                Status.FAIL,
                f"internal error in check {check.id}: {type(exc).__name__}: {exc}",
                "this is a pytest-fynecheck bug; please report it with this line",
            )
        if stop := blocked():
            return stop
        if isinstance(found, Found):
            return result(Status.OK, found.detail, artifacts=found.artifacts)
        return result(Status.OK, found)

    def failed_roots(self, context: str, check_id: str) -> list[str]:
        """The failed checks that kept this one from running: its failed requirements,
        and those of its requirements that were not run, in turn. Waits for them."""
        roots: list[str] = []
        for dep in self.checks[check_id].requires:
            found = self.submit(context, dep).result()
            if found.status is Status.FAIL:
                roots.append(dep)
            elif found.status is Status.NOT_RUN:
                roots += self.failed_roots(context, dep)
        return list(dict.fromkeys(roots))

    def close(self) -> None:
        if process.interrupted():
            # Stop what the checks run first (a container's exec is no wait the process
            # layer can cut short), so no thread waits on it; then the threads.
            self._pool.shutdown(wait=False, cancel_futures=True)
            for ctx in list(self.contexts.values()):
                ctx.close()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for ctx in list(self.contexts.values()):
            ctx.close()


class _Needs(Mapping[str, Result]):
    """A check's requirements' results; reading one waits for it (a check that does
    should wait, see Check.waits)."""

    def __init__(self, deps: dict[str, Future[Result]]) -> None:
        self._deps = deps

    def __getitem__(self, check_id: str) -> Result:
        return self._deps[check_id].result()

    def __iter__(self) -> Iterator[str]:
        return iter(self._deps)

    def __len__(self) -> int:
        return len(self._deps)
