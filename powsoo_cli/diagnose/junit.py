"""``--junit FILE``: each check as a JUnit test case, for CI test reports.

One ``<testsuite>`` per diagnosed widget inside ``<testsuites>``. A failed
check gets a ``<failure>`` (its detail and fix), a skipped one a
``<skipped>``, and a warning passes with its detail in ``<system-out>``.
The verdict and the causes are suite properties.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from powsoo_cli.diagnose.verdict import Diagnosis
from powsoo_cli.redact import redact


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _suite(diagnosis: Diagnosis) -> ET.Element:
    checks = diagnosis.checks
    suite = ET.Element(
        "testsuite",
        {
            "name": f"powsoo diagnose {diagnosis.widget} @ {diagnosis.origin or '-'}",
            "tests": str(len(checks)),
            "failures": str(sum(c.status == "fail" for c in checks)),
            "errors": "0",
            "skipped": str(sum(c.status == "skipped" for c in checks)),
            "time": _seconds(diagnosis.duration),
        },
    )
    properties = ET.SubElement(suite, "properties")
    facts = [
        ("verdict", diagnosis.verdict),
        ("widget", diagnosis.widget),
        ("origin", diagnosis.origin or ""),
        ("apiBaseUrl", diagnosis.api_base_url),
    ] + [(f"cause.{n}", c.code) for n, c in enumerate(diagnosis.causes, start=1)]
    for name, value in facts:
        ET.SubElement(properties, "property", {"name": name, "value": value})

    classname = f"powsoo.diagnose.{diagnosis.widget}"
    for check in checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": classname,
                "name": f"{check.id}: {check.title}",
                "time": _seconds(check.duration),
            },
        )
        detail = redact(check.detail)
        ids = ", ".join(check.request_ids)
        if check.status == "fail":
            failure = ET.SubElement(
                case,
                "failure",
                {"message": detail, "type": check.data.get("cause", "")},
            )
            lines = [detail]
            if check.fix:
                lines.append(f"fix: {redact(check.fix)}")
            if ids:
                lines.append(f"request ids: {ids}")
            failure.text = "\n".join(lines)
        elif check.status == "skipped":
            ET.SubElement(case, "skipped", {"message": detail})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{check.status}: {detail}" + (
                f"\nrequest ids: {ids}" if ids else ""
            )
    return suite


def document(diagnoses: Sequence[Diagnosis]) -> ET.ElementTree[ET.Element]:
    root = ET.Element(
        "testsuites",
        {
            "name": "powsoo diagnose",
            "tests": str(sum(len(d.checks) for d in diagnoses)),
            "failures": str(
                sum(c.status == "fail" for d in diagnoses for c in d.checks)
            ),
            "skipped": str(
                sum(c.status == "skipped" for d in diagnoses for c in d.checks)
            ),
            "time": _seconds(sum(d.duration for d in diagnoses)),
        },
    )
    root.extend(_suite(d) for d in diagnoses)
    return ET.ElementTree(root)


def write(path: Path, diagnoses: Sequence[Diagnosis]) -> None:
    tree = document(diagnoses)
    ET.indent(tree)
    tree.write(path, encoding="utf-8", xml_declaration=True)
