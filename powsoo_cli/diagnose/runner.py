"""The schedule: every check starts as soon as the checks it needs are done.

The client is synchronous, so checks run in a thread pool; what one check
learns reaches the others through the shared `Run`. Only the API gate
(api.reachable) and the page fetch (when the origin comes from the page)
hold others back; everything independent runs at the same time.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from powsoo_cli.diagnose import config, cors, mint, origin_rules, page, reach, session
from powsoo_cli.diagnose import stream as stream_check
from powsoo_cli.diagnose.base import Check, CheckResult, Options, Run, Target
from powsoo_cli.diagnose.verdict import Diagnosis, decide
from powsoo_cli.redact import redact

if TYPE_CHECKING:
    from powsoo_cli.client import PowsooClient

# Enough threads for every check that can run at once in one diagnosis.
WORKERS = 8
# How long an interrupted run waits for its checks to let go.
GRACE_SECONDS = 1.0
SIGNAL_CHECK_SECONDS = 0.1


def plan(target: Target) -> list[Check]:
    """All checks in report order, each with what it waits for."""
    # With --page and no --origin, the origin is known only after the fetch.
    origin = (
        ("api.reachable", "page.fetch") if target.origin is None else ("api.reachable",)
    )
    responses = ("config.origin", "mint.origin", "stream.events", "results.token")
    return [
        Check(reach.ID, reach.TITLE, (), reach.check),
        Check(
            config.LOCAL_ID,
            config.LOCAL_TITLE,
            ("api.reachable",),
            config.check_localhost,
        ),
        Check(config.ORIGIN_ID, config.ORIGIN_TITLE, origin, config.check_origin),
        Check(
            origin_rules.ID,
            origin_rules.TITLE,
            ("config.origin", "config.localhost"),
            origin_rules.check,
        ),
        Check(
            mint.LOCAL_ID,
            mint.LOCAL_TITLE,
            ("config.origin", "config.localhost"),
            mint.check_localhost,
        ),
        Check(mint.ORIGIN_ID, mint.ORIGIN_TITLE, ("config.origin",), mint.check_origin),
        Check(mint.TOKEN_ID, mint.TOKEN_TITLE, ("mint.origin",), mint.check_token),
        Check(
            stream_check.ID, stream_check.TITLE, ("mint.origin",), stream_check.check
        ),
        Check(session.ID, session.TITLE, ("mint.origin",), session.check),
        Check(
            cors.PREFLIGHT_MINT_ID,
            cors.PREFLIGHT_MINT_TITLE,
            origin,
            cors.check_preflight_mint,
        ),
        Check(
            cors.PREFLIGHT_RESULTS_ID,
            cors.PREFLIGHT_RESULTS_TITLE,
            origin,
            cors.check_preflight_results,
        ),
        Check(cors.RESPONSES_ID, cors.RESPONSES_TITLE, responses, cors.check_responses),
        Check(page.FETCH_ID, page.FETCH_TITLE, (), page.check_fetch),
        Check(page.EMBED_ID, page.EMBED_TITLE, ("page.fetch",), page.check_embed),
        Check(page.CSP_ID, page.CSP_TITLE, ("page.fetch",), page.check_csp),
        Check(
            page.PERMISSIONS_ID,
            page.PERMISSIONS_TITLE,
            ("page.fetch",),
            page.check_permissions,
        ),
        Check(page.SECURE_ID, page.SECURE_TITLE, ("page.fetch",), page.check_secure),
    ]


def _timed(check: Check, run: Run) -> CheckResult:
    started = time.perf_counter()
    try:
        found = check.run(run)
    except Exception as exc:  # a bug in one check must not hide the others
        found = CheckResult(
            check.id,
            check.title,
            "fail",
            redact(f"the check itself failed: {type(exc).__name__}: {exc}"),
            data={"internal": True},
        )
    if not found.duration and found.status != "skipped":
        found.duration = time.perf_counter() - started
    return found


_shared_pool: ThreadPoolExecutor | None = None
_shared_pool_lock = threading.Lock()


def check_pool() -> ThreadPoolExecutor:
    """One pool for every diagnosis in this process.

    A fleet run diagnoses several widgets at once; a pool per widget would
    start thousands of threads that then fight over the GIL.
    """
    global _shared_pool
    with _shared_pool_lock:
        if _shared_pool is None:
            _shared_pool = ThreadPoolExecutor(WORKERS, "powsoo-check")
        return _shared_pool


def run_checks_in_turn(run: Run, checks: list[Check]) -> list[CheckResult]:
    """Run ``checks`` one after another, each once the ones it needs are done."""
    pending = list(checks)
    known = {c.id for c in checks}
    while pending:
        check = next(
            c for c in pending if all(n in run.results for n in c.needs if n in known)
        )
        pending.remove(check)
        run.results[check.id] = _timed(check, run)
        if run.cancelled.is_set():
            raise KeyboardInterrupt
    return [run.results[c.id] for c in checks]


def run_checks(run: Run, checks: list[Check]) -> list[CheckResult]:
    """Run ``checks`` in dependency order, independent ones concurrently."""
    pending = {c.id: c for c in checks}
    known = set(pending)
    pool = check_pool()
    running: dict[Future[CheckResult], Check] = {}
    try:
        while pending or running:
            for check in list(pending.values()):
                needs = [n for n in check.needs if n in known]
                if all(n in run.results for n in needs):
                    running[pool.submit(_timed, check, run)] = check
                    del pending[check.id]
            if not running:  # a cycle; cannot happen with plan()
                raise RuntimeError(f"checks wait on each other: {sorted(pending)}")
            # Short waits: a blocked main thread would not run the Ctrl-C handler.
            finished, _ = wait(
                running, timeout=SIGNAL_CHECK_SECONDS, return_when=FIRST_COMPLETED
            )
            for future in finished:
                check = running.pop(future)
                run.results[check.id] = future.result()
    except BaseException:
        # Ctrl-C: checks in flight see the flag; give them a moment to close
        # their connections, so that an embedded sandbox stops cleanly.
        run.cancelled.set()
        for future in running:
            future.cancel()
        wait(running, timeout=GRACE_SECONDS)
        raise
    return [run.results[c.id] for c in checks]


def diagnose(
    client: PowsooClient,
    target: Target,
    options: Options,
    *,
    api_base_url: str,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    cancelled: threading.Event | None = None,
    concurrent_checks: bool = True,
) -> Diagnosis:
    """Run every check for one widget and decide the verdict.

    ``cancelled`` lets a caller running many diagnoses stop them all. A
    fleet run is concurrent across widgets already, so it runs each widget's
    checks in turn (``concurrent_checks=False``): fewer threads, less GIL
    contention, the same results.
    """
    started = time.perf_counter()
    run = Run(
        client,
        target,
        options,
        api_base_url,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        cancelled=cancelled or threading.Event(),
    )
    run_all_checks = run_checks if concurrent_checks else run_checks_in_turn
    results = run_all_checks(run, plan(target))
    causes = decide(run.results)
    for cause in causes:
        # The catalogue's fixes name "[widget]"; this one has a name.
        cause.fix = cause.fix.replace("[widget]", target.widget)
    return Diagnosis(
        widget=target.widget,
        origin=run.origin,
        page=target.page,
        api_base_url=api_base_url,
        sandbox=options.sandbox,
        checks=results,
        causes=causes,
        duration=time.perf_counter() - started,
    )
