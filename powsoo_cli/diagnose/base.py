"""What every check shares: the target, the answers seen so far, the results.

A check is a function from a `Run` to a `CheckResult`. Checks talk to each
other only through the `Run`: the answers they record (``run.answers``) and
the results already decided (``run.results``). The runner guarantees that a
check's ``needs`` are decided before it starts.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from powsoo_cli.errors import ApiError, BadResponse, TransportError, UsageError

if TYPE_CHECKING:
    from powsoo_cli.client import PowsooClient, Reply
    from powsoo_cli.models import VoiceToken

Status = Literal["pass", "fail", "warn", "skipped"]

#: Accepted whatever the allowlist says (§9), so it separates origin problems
#: from widget problems.
LOCALHOST = "http://localhost"


@dataclass(frozen=True)
class Target:
    """What to diagnose: a widget, seen from an origin and maybe a page."""

    widget: str
    origin: str | None
    page: str | None = None


@dataclass(frozen=True)
class Options:
    no_mint: bool = False
    ready_wait: float = 5.0
    heartbeat_wait: float = 20.0
    # Outside the sandbox a mint creates a real web call upstream (§5.2).
    sandbox: bool = False


@dataclass
class CheckResult:
    """One check's outcome, as reports show it.

    ``data`` holds the machine facts the verdict reads (HTTP status, error
    code, config members, the cause a failure points to); reports leave it
    out.
    """

    id: str
    title: str
    status: Status
    detail: str = ""
    fix: str | None = None
    duration: float = 0.0
    request_ids: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def request_id(self) -> str | None:
        return self.request_ids[0] if self.request_ids else None


@dataclass
class Answer:
    """One HTTP exchange, whatever became of it.

    ``status`` is None when no usable HTTP answer came back; ``failure``
    then says why: a transport kind (``dns``, ``connect``, ``tls``,
    ``timeout``...) or ``bad_response`` for an answer we could not read.
    """

    status: int | None
    code: str | None = None
    message: str = ""
    request_id: str | None = None
    elapsed: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None and self.status is not None and self.status < 300

    @property
    def reached(self) -> bool:
        """The server answered, even if with an error or an unreadable body."""
        return self.failure is None or self.failure == "bad_response"

    def describe(self) -> str:
        """``HTTP 404 widget_unavailable`` and the like, for details."""
        if self.status is None:
            return self.message
        text = f"HTTP {self.status}"
        if self.code:
            text += f" {self.code}"
        return text


def refused(exc: ApiError, elapsed: float) -> Answer:
    """The answer behind an `ApiError`."""
    return Answer(
        exc.status,
        exc.code,
        exc.api_message,
        exc.request_id,
        elapsed,
        exc.headers or {},
        # An error envelope on a success status is no success.
        failure="bad_response" if exc.status < 300 else None,
    )


def ask(call: Callable[[], Reply[Any]]) -> Answer:
    """Run one client call and keep its answer, good or bad."""
    started = time.perf_counter()
    try:
        reply = call()
    except ApiError as exc:
        return refused(exc, time.perf_counter() - started)
    except BadResponse as exc:
        return Answer(
            None,
            None,
            exc.message,
            exc.request_id,
            time.perf_counter() - started,
            failure="bad_response",
        )
    except (TransportError, UsageError) as exc:
        kind = exc.kind if isinstance(exc, TransportError) else "usage"
        return Answer(
            None, None, exc.message, None, time.perf_counter() - started, failure=kind
        )
    return Answer(
        reply.status,
        None,
        "",
        reply.request_id,
        reply.elapsed,
        reply.headers,
        reply.body,
    )


@dataclass
class PageFacts:
    """The page as fetched: where it ended up and what it said."""

    url: str
    final_url: str
    origin: str | None
    status: int
    headers: Mapping[str, str]
    header_lists: dict[str, list[str]]
    html: str
    truncated: bool = False  # only the first MAX_PAGE_BYTES were read


@dataclass
class Run:
    """The state one diagnosis shares between its checks."""

    client: PowsooClient
    target: Target
    options: Options
    api_base_url: str
    # Set by page.fetch when the origin comes from the page.
    origin: str | None = None
    page: PageFacts | None = None
    token: VoiceToken | None = None
    answers: dict[str, Answer] = field(default_factory=dict)
    results: dict[str, CheckResult] = field(default_factory=dict)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    # Set on Ctrl-C so that long waits (the stream) end early.
    cancelled: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        if self.origin is None:
            self.origin = self.target.origin

    def passed(self, check_id: str) -> bool:
        result = self.results.get(check_id)
        return result is not None and result.status in ("pass", "warn")

    def status_of(self, check_id: str) -> Status | None:
        result = self.results.get(check_id)
        return result.status if result is not None else None


@dataclass(frozen=True)
class Check:
    """A named step, what it waits for, and the function that runs it."""

    id: str
    title: str
    needs: tuple[str, ...]
    run: Callable[[Run], CheckResult]


def result(
    check: str,
    title: str,
    status: Status,
    detail: str,
    *,
    fix: str | None = None,
    answers: tuple[Answer | None, ...] = (),
    **data: Any,
) -> CheckResult:
    """A result whose request ids and duration come from its answers."""
    ids = [a.request_id for a in answers if a is not None and a.request_id]
    elapsed = sum(a.elapsed for a in answers if a is not None)
    return CheckResult(
        check,
        title,
        status,
        detail,
        fix,
        elapsed,
        list(dict.fromkeys(ids)),
        data,
    )


def skipped(check: str, title: str, why: str) -> CheckResult:
    return CheckResult(check, title, "skipped", why)


def config_members(answer: Answer | None) -> dict[str, Any] | None:
    """The embed config's members, from a successful config answer."""
    if answer is None or not answer.ok or answer.body is None:
        return None
    dumped: dict[str, Any] = answer.body.model_dump(exclude_unset=True)
    return dumped


def answer_data(answer: Answer) -> dict[str, Any]:
    """The facts of an answer the verdict reads."""
    return {
        "http": answer.status,
        "code": answer.code,
        "failure": answer.failure,
    }
