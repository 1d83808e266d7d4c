"""origin.rules: why the origin is refused, and the exact entry to add.

The allowlist cannot be read through the API, so this check reasons from
evidence. When the page origin is refused but localhost is not, it asks for
the config from a few nearby origins (cheap: a config fetch creates no
call): the same host over https on the default port, the parent or the
``www.`` form of the host, and a made-up subdomain that only a wildcard
entry admits. From the variants that pass it infers entries the list must
hold, then lets `powsoo_cli.origins.match_origin` explain, under exactly
the API's rules, why those entries refuse the page origin and what to add.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from powsoo_cli.diagnose.base import Answer, CheckResult, Run, ask, result, skipped
from powsoo_cli.origins import (
    ALWAYS_ALLOWED_HOSTS,
    Origin,
    OriginError,
    match_origin,
    parse_origin,
)

ID = "origin.rules"
TITLE = "Origin allowlist"
# A subdomain no one lists by name: only a wildcard entry admits it.
PROBE_LABEL = "powsoo-probe"
_IP_HOST = re.compile(r"\[.*\]|[0-9.]+")
_GENERIC_REASONS = ("No entry in the list", "The allowed-origins list has no")


def variants(origin: Origin) -> dict[str, str]:
    """Nearby origins worth a config fetch, by what each one would show."""
    host = origin.host
    found: dict[str, str] = {}
    if not (origin.scheme == "https" and origin.port == 443):
        found["https"] = f"https://{host}"
    if _IP_HOST.fullmatch(host) or "." not in host:
        return found
    labels = host.split(".")
    if len(labels) == 2:
        found["www"] = f"https://www.{host}"
        base = host
    else:
        base = ".".join(labels[1:])
        found["parent"] = f"https://{base}"
    found["wildcard"] = f"https://{PROBE_LABEL}.{base}"
    return found


def _base(host: str) -> str:
    """The domain whose wildcard entry the probes test."""
    labels = host.split(".")
    return host if len(labels) == 2 else ".".join(labels[1:])


def relevant(origin: Origin, accepted: set[str]) -> set[str]:
    """The accepted variants that explain the refusal.

    When the host itself passes over https on the default port, only the
    scheme or the port is wrong, and entries for other hosts are noise.
    """
    if "https" not in accepted:
        return accepted
    covers = "wildcard" in accepted and _base(origin.host) != origin.host
    return {"https", "wildcard"} if covers else {"https"}


def infer_entries(origin: Origin, accepted: set[str]) -> list[str]:
    """Entries the list must hold for the accepted variants to pass."""
    host = origin.host
    base = _base(host)
    wildcard = "wildcard" in accepted
    if "https" in accepted:
        return [f"*.{base}"] if wildcard and base != host else [host]
    entries = []
    if wildcard:
        entries.append(f"*.{base}")
    if "parent" in accepted:
        entries.append(base)
    if "www" in accepted and not wildcard:
        entries.append(f"www.{host}")
    return entries


def _fix(origin: Origin, widget: str, accepted: set[str], entry: str | None) -> str:
    where = f"under Widgets → {widget} → Allowed origins"
    if origin.scheme == "http" and "https" in accepted:
        return (
            f"Serve the page over https: https://{origin.host} is already "
            "accepted. Bare and wildcard entries admit only https on port 443, "
            "and browsers keep the microphone from plain http pages anyway."
        )
    if entry is None:
        return ""
    text = f'Add "{entry}" {where}.'
    parts = origin.host.split(".")
    if len(parts) > 2 and "parent" in accepted and "wildcard" not in accepted:
        text = (
            f'Add "{entry}" (or "*.{".".join(parts[1:])}" for every subdomain) {where}.'
        )
    return text + " The change applies to the next mint."


def check(run: Run) -> CheckResult:
    if run.origin is None:
        return skipped(ID, TITLE, "no origin to judge")
    if not run.passed("config.localhost"):
        return skipped(ID, TITLE, "the widget itself is not reachable")
    origin_answer = run.answers.get("config.origin")
    if origin_answer is None:
        return skipped(ID, TITLE, "the origin's config was not fetched")

    try:
        origin = parse_origin(run.origin)
    except OriginError as exc:  # the command checks this; belt and braces
        return result(ID, TITLE, "fail", str(exc), cause="origin_not_allowed")

    if origin_answer.ok:
        why = (
            "localhost and 127.0.0.1 are always allowed"
            if origin.host in ALWAYS_ALLOWED_HOSTS
            else "an entry of the list admits it"
        )
        return result(ID, TITLE, "pass", f"{origin} passes: {why}")
    if origin_answer.status != 404:
        return skipped(ID, TITLE, "the origin's config fetch failed for another reason")

    def fetch(url: str) -> Answer:
        return ask(lambda: run.client.get_embed_config(run.target.widget, url))

    nearby = variants(origin)
    with ThreadPoolExecutor(max_workers=max(1, len(nearby))) as pool:
        futures = {name: pool.submit(fetch, url) for name, url in nearby.items()}
        answers = {name: future.result() for name, future in futures.items()}
    accepted = {name for name, answer in answers.items() if answer.ok}
    shown = relevant(origin, accepted) if "https" in accepted else set(answers)
    tried = ", ".join(
        f"{nearby[name]} {'accepted' if answer.ok else 'refused'}"
        for name, answer in answers.items()
        if name in shown
    )

    entries = infer_entries(origin, accepted)
    verdict = match_origin(str(origin), entries)
    if verdict.allowed:  # the variants contradict each other; do not guess
        entries = []
        verdict = match_origin(str(origin), [])
    reasons = [r for r in verdict.reasons if not r.startswith(_GENERIC_REASONS)]
    entry = verdict.suggested_entry

    parts = [f"{origin} is refused."]
    if tried:
        parts.append(f"Tried {tried}.")
    if entries:
        listed = ", ".join(f'"{e}"' for e in entries)
        parts.append(f"So the list seems to hold {listed}.")
    elif nearby:
        parts.append(f"No entry seems to cover {origin.host}.")
    parts += reasons
    fix = _fix(origin, run.target.widget, accepted, entry)
    if not fix:
        fix = verdict.suggestion or ""

    return result(
        ID,
        TITLE,
        "fail",
        " ".join(parts),
        fix=fix,
        answers=tuple(answers.values()),
        cause="origin_not_allowed",
        inferred=entries,
        entry=entry,
        accepted=sorted(nearby[name] for name in accepted),
    )
