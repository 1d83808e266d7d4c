"""GitHub Actions annotations for diagnoses (when GITHUB_ACTIONS=true).

Workflow commands are lines of the form ``::error title=T::message``. The
documentation says the runner reads them from stdout; the runner also
parses stderr of a ``run`` step (it attaches its command parser to both
streams), which is where they go when stdout must hold only JSON. Data is
escaped as the runner unescapes it: ``%`` as ``%25``, CR as ``%0D``, LF as
``%0A``; property values also escape ``:`` and ``,``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from powsoo_cli.diagnose.verdict import Diagnosis
from powsoo_cli.redact import redact


def enabled() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, title: str, message: str) -> str:
    return f"::{kind} title={escape_property(title)}::{escape_data(redact(message))}"


def lines(diagnoses: Iterable[Diagnosis]) -> Iterator[str]:
    """The verdict of each unhealthy widget, then its failed and warned checks."""
    for diagnosis in diagnoses:
        where = f"{diagnosis.widget} @ {diagnosis.origin or '-'}"
        if not diagnosis.healthy:
            top = diagnosis.causes[0]
            codes = " or ".join(c.code for c in diagnosis.alternatives)
            yield command(
                "error",
                f"powsoo diagnose {where}: {codes}",
                f"{top.title}. Fix: {top.fix}",
            )
        for check in diagnosis.checks:
            if check.status not in ("fail", "warn"):
                continue
            message = check.detail
            if check.fix:
                message += f"\nFix: {check.fix}"
            yield command(
                "error" if check.status == "fail" else "warning",
                f"{where}: {check.title}",
                message,
            )
