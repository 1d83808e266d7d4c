"""``powsoo diagnose --json``: one stable object per diagnosis.

Schema ``powsoo.diagnose/1``. Keys are always present, in this order; a
value that does not apply is ``null``. New keys may be added within
version 1; nothing is renamed, removed or retyped without a new version.

.. code-block:: text

    {
      "schema":      "powsoo.diagnose/1",
      "verdict":     "healthy" | cause code of the most likely cause,
      "healthy":     bool,            # true when no cause was found
      "ambiguous":   bool,            # the top causes cannot be told apart
      "causes": [                     # most likely first; [] when healthy
        {
          "code":      str,           # e.g. "origin_not_allowed"
          "title":     str,
          "certainty": "confirmed" | "likely" | "possible",
          "evidence":  [str, ...],    # what the checks saw
          "fix":       str            # what to change, where
        }
      ],
      "widget":      "wid_...",
      "origin":      str | null,      # the Origin presented (from --page if
                                      # --origin was not given)
      "page":        str | null,      # --page as given
      "apiBaseUrl":  str,
      "sandbox":     bool,            # the API was a sandbox (no real calls)
      "webCallCreated": bool,         # a mint created a real web call upstream
      "durationMs":  number,
      "checks": [                     # every check, always in this order
        {
          "id":         str,          # see CHECK_IDS
          "title":      str,
          "status":     "pass" | "fail" | "warn" | "skipped",
          "durationMs": number,
          "requestId":  str | null,   # the x-request-id the check used
          "requestIds": [str, ...],   # all of them, when it sent several
          "detail":     str,          # what the check saw
          "fix":        str | null    # set when the check has its own fix
        }
      ]
    }

Cause codes: healthy, api_unreachable, widget_not_found, origin_not_allowed,
voice_platform_not_connected, retell_agent_not_configured, decryption_failed,
retell_auth_failed, plan_limit_exceeded, rate_limited, invalid_request,
server_error, invalid_session_token, stream_unavailable, cors_blocked,
page_unreachable, page_embed_missing, csp_blocks_widget, microphone_blocked,
insecure_context, check_error. ``powsoo explain CODE`` describes most of them.

``powsoo diagnose --from FILE --json`` writes ``powsoo.diagnose-batch/1``:

.. code-block:: text

    {
      "schema":  "powsoo.diagnose-batch/1",
      "shard":   "I/N" | null,
      "summary": {"total": int, "healthy": int, "unhealthy": int,
                  "unreachable": int},
      "durationMs": number,
      "results": [ one powsoo.diagnose/1 object per entry, in file order ]
    }
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from powsoo_cli.diagnose.verdict import Diagnosis
from powsoo_cli.redact import redact

SCHEMA = "powsoo.diagnose/1"
BATCH_SCHEMA = "powsoo.diagnose-batch/1"
CHECK_IDS = (
    "api.reachable",
    "config.localhost",
    "config.origin",
    "origin.rules",
    "mint.localhost",
    "mint.origin",
    "token.sanity",
    "stream.events",
    "results.token",
    "cors.preflight.mint",
    "cors.preflight.results",
    "cors.responses",
    "page.fetch",
    "page.embed",
    "page.csp",
    "page.permissions",
    "page.secure_context",
)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def to_dict(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "verdict": diagnosis.verdict,
        "healthy": diagnosis.healthy,
        "ambiguous": diagnosis.ambiguous,
        "causes": [
            {
                "code": cause.code,
                "title": cause.title,
                "certainty": cause.certainty,
                "evidence": [redact(e) for e in cause.evidence],
                "fix": redact(cause.fix),
            }
            for cause in diagnosis.causes
        ],
        "widget": diagnosis.widget,
        "origin": diagnosis.origin,
        "page": diagnosis.page,
        "apiBaseUrl": diagnosis.api_base_url,
        "sandbox": diagnosis.sandbox,
        "webCallCreated": diagnosis.web_call_created,
        "durationMs": _ms(diagnosis.duration),
        "checks": [
            {
                "id": check.id,
                "title": check.title,
                "status": check.status,
                "durationMs": _ms(check.duration),
                "requestId": check.request_id,
                "requestIds": list(check.request_ids),
                "detail": redact(check.detail),
                "fix": redact(check.fix) if check.fix else None,
            }
            for check in diagnosis.checks
        ],
    }


def batch_to_dict(
    diagnoses: Sequence[Diagnosis], *, shard: str | None, duration: float
) -> dict[str, Any]:
    return {
        "schema": BATCH_SCHEMA,
        "shard": shard,
        "summary": summary(diagnoses),
        "durationMs": _ms(duration),
        "results": [to_dict(d) for d in diagnoses],
    }


def summary(diagnoses: Sequence[Diagnosis]) -> dict[str, int]:
    return {
        "total": len(diagnoses),
        "healthy": sum(d.healthy for d in diagnoses),
        "unhealthy": sum(not d.healthy for d in diagnoses),
        "unreachable": sum(d.unreachable for d in diagnoses),
    }
