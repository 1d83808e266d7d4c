"""The demo widgets: one healthy, one for each documented failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEMO_ORIGINS = ("shop.example", "*.shop.example", "localhost:5173")


@dataclass(frozen=True)
class DemoWidget:
    widget_id: str
    summary: str
    # The hidden reason or visible error a mint runs into, None when healthy.
    failure: str | None = None
    allowed_origins: tuple[str, ...] = DEMO_ORIGINS
    has_platform: bool = True
    has_agent: bool = True
    theme: dict[str, Any] = field(
        default_factory=lambda: {"accent": "#2f6fed", "position": "bottom-right"}
    )

    def public_config(self) -> dict[str, Any]:
        """The embed config body (§5.1; its shape is our assumption)."""
        return {
            "widgetId": self.widget_id,
            "platform": "retell" if self.has_platform else None,
            "mode": "voice",
            "theme": dict(self.theme),
            "agent": (
                {"name": "Demo shop assistant", "language": "en-US"}
                if self.has_platform and self.has_agent
                else None
            ),
        }


DEMO_WIDGETS: dict[str, DemoWidget] = {
    widget.widget_id: widget
    for widget in (
        DemoWidget("wid_demo", "healthy: mints, streams and shows cards"),
        DemoWidget(
            "wid_noplatform",
            "no voice platform connected",
            failure="voice_platform_not_connected",
            has_platform=False,
        ),
        DemoWidget(
            "wid_noagent",
            "no Retell agent selected",
            failure="retell_agent_not_configured",
            has_agent=False,
        ),
        DemoWidget(
            "wid_badsecret",
            "stored platform key cannot be decrypted",
            failure="decryption_failed",
        ),
        DemoWidget(
            "wid_revoked",
            "Retell rejects the platform key (502)",
            failure="retell_auth_failed",
        ),
        DemoWidget(
            "wid_capped",
            "monthly call cap reached (402)",
            failure="plan_limit_exceeded",
        ),
    )
}
