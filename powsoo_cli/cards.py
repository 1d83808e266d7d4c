"""Cards and card results, built from files or flags and checked before sending.

Pure functions, no I/O beyond reading the one file asked for. Every problem
is a `UsageError` (exit 2) whose message says exactly where it is, in the
style ``actions[1].value: required``, so that nothing malformed is sent.

Quick-flag grammar of ``send-card`` (each flag may be repeated):

    --field LABEL[=VALUE]        a row; VALUE is the pre-filled text
    --field-type LABEL=TYPE      one of the eight field types (§8.2)
    --option LABEL=ID[:TEXT]     a choice of a select/multiselect; TEXT
                                 defaults to ID; ID holds no ':'
    --read-only LABEL            editable: false
    --action LABEL=VALUE[:STYLE] a button; STYLE is primary, secondary or
                                 danger; a VALUE holding ':' needs a STYLE

Labels are taken literally up to the first ``=``. Result flags of
``post-result`` use ``--field LABEL=VALUE`` (the ``=`` is required there).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO, Any

from powsoo_cli.errors import UsageError
from powsoo_cli.models import ACTION_STYLES, FIELD_TYPES, RESULT_STATUSES

MAX_DOCUMENT_BYTES = 1024 * 1024
CHOICE_TYPES = ("select", "multiselect")
# §13 #27: the widget reports these action values as "skipped".
SKIP_VALUES = ("skip", "cancel")
# Keys the tool schema defines; anything else is reported, not refused.
CARD_KEYS = ("title", "description", "fields", "actions")
FIELD_KEYS = ("label", "value", "type", "editable", "options")
ACTION_KEYS = ("label", "value", "style")
RESULT_KEYS = ("status", "action", "fields", "edited")
BODY_KEYS = ("toolCallId", "result")
# Keys of what people paste instead of a card: a Retell or Vapi tool
# definition, or a whole show-card webhook body.
WRAPPER_KEYS = frozenset({"args", "call", "function", "parameters", "name"})
_MAX_LISTED_PROBLEMS = 3


# Reading JSON documents


def read_document(source: str, what: str, stdin: IO[bytes] | None = None) -> Any:
    """Parse the JSON document in file ``source`` (``-`` = stdin).

    ``what`` names the document in messages ("card", "result"). The file must
    be UTF-8 (a BOM is tolerated), non-empty, at most 1 MiB, strict JSON.
    """
    import sys

    if source == "-":
        stream = stdin if stdin is not None else sys.stdin.buffer
        name = "<stdin>"
        raw = stream.read(MAX_DOCUMENT_BYTES + 1)
    else:
        name = source
        raw = _read_file(source, what)

    if len(raw) > MAX_DOCUMENT_BYTES:
        raise UsageError(
            f"{name}: the {what} is larger than 1 MiB",
            hint=f"a {what} is a few KiB at most; is this the right file?",
        )
    return parse_document(raw, name, what)


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_DOCUMENT_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such file",
            hint=f"give the {what} file's path, or - to read it from stdin",
        ) from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a folder, not a {what} file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def parse_document(raw: bytes, name: str, what: str) -> Any:
    """Decode and parse one JSON document, naming the spot of any problem."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        # Counted in characters, as editors do; what precedes is valid UTF-8.
        column = len(raw[line_start : exc.start].decode("utf-8-sig")) + 1
        raise UsageError(
            f"{name}:{line}:{column}: the {what} is not UTF-8 text "
            f"(byte 0x{raw[exc.start]:02x})",
            hint="save the file as UTF-8",
        ) from None

    if not text.strip():
        raise UsageError(f"{name}: the {what} is empty", hint=f"expected a JSON {what}")

    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constants,
        )
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{name}:{exc.lineno}:{exc.colno}: the {what} is not valid JSON: {exc.msg}"
        ) from None
    except _JsonProblem as exc:
        raise UsageError(f"{name}: the {what} is not usable JSON: {exc}") from None
    except RecursionError:
        raise UsageError(f"{name}: the {what} is nested too deeply") from None


class _JsonProblem(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Parsers disagree on which of two equal keys wins: refuse the ambiguity.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _JsonProblem(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _JsonProblem(f"{name} is not a JSON value")


# Checking a card against the powsoo_show_card schema (§8)


def card_problems(card: Any) -> list[str]:
    """Every way ``card`` breaks the tool schema, each with its path."""
    if not isinstance(card, dict):
        return [f"card: must be a JSON object, not {_kind(card)}"]

    problems: list[str] = []
    title = card.get("title")
    if "title" not in card:
        problems.append("title: required")
    elif not isinstance(title, str):
        problems.append(f"title: must be a string, not {_kind(title)}")
    elif not title.strip():
        problems.append("title: must not be empty")

    if "description" in card and not isinstance(card["description"], str):
        problems.append(
            f"description: must be a string, not {_kind(card['description'])}"
        )

    if "fields" in card:
        fields = card["fields"]
        if not isinstance(fields, list):
            problems.append(f"fields: must be an array, not {_kind(fields)}")
        else:
            for index, item in enumerate(fields):
                problems += _field_problems(item, f"fields[{index}]")

    if "actions" not in card:
        problems.append("actions: required (at least one action)")
    elif not isinstance(card["actions"], list):
        problems.append(f"actions: must be an array, not {_kind(card['actions'])}")
    elif not card["actions"]:
        problems.append("actions: needs at least one action")
    else:
        for index, item in enumerate(card["actions"]):
            problems += _action_problems(item, f"actions[{index}]")
    return problems


def _field_problems(item: Any, path: str) -> list[str]:
    if not isinstance(item, dict):
        return [f"{path}: must be an object, not {_kind(item)}"]

    problems = _string_member(item, "label", path, required=True)
    problems += _string_member(item, "value", path, required=False)

    kind = item.get("type", "text")
    if not isinstance(kind, str) or kind not in FIELD_TYPES:
        problems.append(
            f"{path}.type: must be one of {', '.join(FIELD_TYPES)}; got {kind!r}"
        )
    if "editable" in item and not isinstance(item["editable"], bool):
        problems.append(
            f"{path}.editable: must be true or false, not {_kind(item['editable'])}"
        )

    options = item.get("options")
    if "options" in item and not isinstance(options, list):
        problems.append(f"{path}.options: must be an array, not {_kind(options)}")
    elif isinstance(options, list):
        for index, option in enumerate(options):
            where = f"{path}.options[{index}]"
            if not isinstance(option, dict):
                problems.append(f"{where}: must be an object, not {_kind(option)}")
                continue
            problems += _string_member(option, "id", where, required=True)
            problems += _string_member(option, "label", where, required=True)
    if kind in CHOICE_TYPES and not options:
        problems.append(f"{path}.options: a {kind} field needs at least one option")
    return problems


def _action_problems(item: Any, path: str) -> list[str]:
    if not isinstance(item, dict):
        return [f"{path}: must be an object, not {_kind(item)}"]

    problems = _string_member(item, "label", path, required=True)
    problems += _string_member(item, "value", path, required=True)
    if item.get("value") == "":
        # result.action needs at least one character (§5.4): unanswerable.
        problems.append(f"{path}.value: must not be empty")
    if "style" in item and item["style"] not in ACTION_STYLES:
        problems.append(
            f"{path}.style: must be one of {', '.join(ACTION_STYLES)}; "
            f"got {item['style']!r}"
        )
    return problems


def _string_member(
    item: dict[str, Any], key: str, path: str, *, required: bool
) -> list[str]:
    if key not in item:
        return [f"{path}.{key}: required"] if required else []
    if not isinstance(item[key], str):
        return [f"{path}.{key}: must be a string, not {_kind(item[key])}"]
    return []


def card_warnings(card: dict[str, Any]) -> list[str]:
    """Legal but suspicious: unknown keys, labels or values used twice."""
    warnings = _unknown_keys(card, CARD_KEYS, "card")
    labels: list[str] = []
    for index, item in enumerate(card.get("fields") or []):
        warnings += _unknown_keys(item, FIELD_KEYS, f"fields[{index}]")
        labels.append(item["label"])
        if item.get("options") and item.get("type", "text") not in CHOICE_TYPES:
            warnings.append(
                f"fields[{index}].options: ignored by a {item.get('type', 'text')} "
                "field"
            )
    values: list[str] = []
    for index, item in enumerate(card["actions"]):
        warnings += _unknown_keys(item, ACTION_KEYS, f"actions[{index}]")
        values.append(item["value"])
    for label in _twice(labels):
        warnings.append(
            f"fields: the label {label!r} is used twice; their results collide"
        )
    for value in _twice(values):
        warnings.append(
            f"actions: the value {value!r} is used twice; the answer cannot "
            "tell the buttons apart"
        )
    return warnings


def _unknown_keys(item: dict[str, Any], known: Sequence[str], path: str) -> list[str]:
    return [
        f"{path}.{key}: not part of the card schema" for key in item if key not in known
    ]


def _twice(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    repeated: list[str] = []
    for item in items:
        if item in seen and item not in repeated:
            repeated.append(item)
        seen.add(item)
    return repeated


def check_card(card: Any, source: str = "the card") -> dict[str, Any]:
    """Return ``card`` if it fits the tool schema; else raise `UsageError`."""
    problems = card_problems(card)
    if problems:
        hint = "see 'powsoo send-card --help' for the card format"
        if isinstance(card, dict) and WRAPPER_KEYS & set(card):
            hint = (
                "this looks like a tool definition or a webhook body; give the "
                "card alone (what the webhook carries in args)"
            )
        raise UsageError(
            f"{source} does not fit the powsoo_show_card schema: "
            + _list_problems(problems),
            hint=hint,
        )
    assert isinstance(card, dict)
    return card


def _list_problems(problems: list[str]) -> str:
    shown = "; ".join(problems[:_MAX_LISTED_PROBLEMS])
    more = len(problems) - _MAX_LISTED_PROBLEMS
    return shown + (f" (and {more} more)" if more > 0 else "")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# Quick flags of send-card


def split_label(text: str, flag: str, grammar: str) -> tuple[str, str | None]:
    """``LABEL=REST`` -> (LABEL, REST); ``LABEL`` -> (LABEL, None)."""
    label, sep, rest = text.partition("=")
    if not label:
        raise UsageError(f"{flag} {text!r}: the label is empty; expected {grammar}")
    return label, rest if sep else None


def parse_card_field(text: str) -> dict[str, Any]:
    """``--field LABEL[=VALUE]``."""
    label, value = split_label(text, "--field", "LABEL[=VALUE]")
    field: dict[str, Any] = {"label": label}
    if value is not None:
        field["value"] = value
    return field


def parse_field_type(text: str) -> tuple[str, str]:
    """``--field-type LABEL=TYPE``."""
    grammar = "LABEL=TYPE"
    label, kind = split_label(text, "--field-type", grammar)
    if kind is None:
        raise UsageError(f"--field-type {text!r}: expected {grammar}")
    if kind not in FIELD_TYPES:
        raise UsageError(
            f"--field-type {text!r}: unknown type {kind!r}",
            hint="types: " + ", ".join(FIELD_TYPES),
        )
    return label, kind


def parse_option(text: str) -> tuple[str, dict[str, str]]:
    """``--option LABEL=ID[:TEXT]``; TEXT defaults to ID."""
    grammar = "LABEL=ID[:TEXT]"
    label, rest = split_label(text, "--option", grammar)
    if not rest:
        raise UsageError(
            f"--option {text!r}: the option id is missing; expected {grammar}"
        )
    option_id, sep, option_text = rest.partition(":")
    if not option_id:
        raise UsageError(
            f"--option {text!r}: the option id is empty; expected {grammar}"
        )
    return label, {"id": option_id, "label": option_text if sep else option_id}


def parse_action(text: str) -> dict[str, str]:
    """``--action LABEL=VALUE[:STYLE]``; the last ``:`` introduces the style."""
    grammar = "LABEL=VALUE[:STYLE], e.g. Confirm=confirm:primary"
    label, rest = split_label(text, "--action", grammar)
    if rest is None:
        raise UsageError(f"--action {text!r}: the value is missing; expected {grammar}")
    value, sep, style = rest.rpartition(":")
    if not sep:
        value, style = rest, ""
    elif style not in ACTION_STYLES:
        raise UsageError(
            f"--action {text!r}: unknown style {style!r}",
            hint="styles: "
            + ", ".join(ACTION_STYLES)
            + "; a value holding ':' must end with an explicit style",
        )
    if not value:
        raise UsageError(f"--action {text!r}: the value is empty; expected {grammar}")
    action = {"label": label, "value": value}
    if style:
        action["style"] = style
    return action


def card_from_flags(
    *,
    title: str | None,
    description: str | None = None,
    fields: Sequence[str] = (),
    field_types: Sequence[str] = (),
    options: Sequence[str] = (),
    read_only: Sequence[str] = (),
    actions: Sequence[str] = (),
) -> dict[str, Any]:
    """Build a card from the quick flags; the result still goes through
    `check_card` before it is sent."""
    if title is None:
        raise UsageError(
            "no card given",
            hint="pass --card FILE (- for stdin), or at least --title and --action",
        )
    if not actions:
        raise UsageError(
            "the card needs at least one --action",
            hint="e.g. --action Confirm=confirm:primary --action Skip=skip",
        )

    card: dict[str, Any] = {"title": title}
    if description is not None:
        card["description"] = description

    rows: dict[str, dict[str, Any]] = {}
    for text in fields:
        field = parse_card_field(text)
        if field["label"] in rows:
            raise UsageError(
                f"--field {text!r}: the label {field['label']!r} is given twice"
            )
        rows[field["label"]] = field

    def row(flag: str, label: str) -> dict[str, Any]:
        if label not in rows:
            known = ", ".join(repr(name) for name in rows) or "none"
            raise UsageError(
                f"{flag} names the field {label!r}, which no --field defines",
                hint=f"fields defined: {known}",
            )
        return rows[label]

    for text in field_types:
        label, kind = parse_field_type(text)
        target = row("--field-type", label)
        if "type" in target:
            raise UsageError(f"--field-type: the field {label!r} is typed twice")
        target["type"] = kind
    for text in options:
        label, option = parse_option(text)
        row("--option", label).setdefault("options", []).append(option)
    for label in read_only:
        row("--read-only", label)["editable"] = False

    if rows:
        card["fields"] = list(rows.values())
    card["actions"] = [parse_action(text) for text in actions]
    return card


# Results of post-result (§5.4, §8.5)


def parse_result_field(text: str) -> tuple[str, str]:
    """``--field LABEL=VALUE`` of post-result; VALUE may be empty."""
    label, value = split_label(text, "--field", "LABEL=VALUE")
    if value is None:
        raise UsageError(
            f"--field {text!r}: expected LABEL=VALUE",
            hint=f"an empty value is written {label}=",
        )
    return label, value


def default_status(action: str, edited: Sequence[str]) -> str:
    """What the widget would report: skip/cancel actions are ``skipped``
    (§13 #27), changed fields make it ``edited``, else ``confirmed``."""
    if action.strip().lower() in SKIP_VALUES:
        return "skipped"
    return "edited" if edited else "confirmed"


def result_from_flags(
    *,
    action: str | None,
    fields: Sequence[str] = (),
    edited: Sequence[str] = (),
    status: str | None = None,
) -> dict[str, Any]:
    """Build the result object from post-result's flags, then check it."""
    if not action:
        raise UsageError(
            "no result given",
            hint="pass --action VALUE (the tapped button's value), or --result-file",
        )

    values: dict[str, str] = {}
    for text in fields:
        label, value = parse_result_field(text)
        if label in values:
            raise UsageError(f"--field {text!r}: the label {label!r} is given twice")
        values[label] = value

    changed = list(dict.fromkeys(edited))  # repeats are harmless: drop them
    result: dict[str, Any] = {
        "status": status or default_status(action, changed),
        "action": action,
    }
    if values:
        result["fields"] = values
    result["edited"] = changed
    return check_result(result, source="the result")


def check_result(result: Any, source: str = "the result") -> dict[str, Any]:
    """Return ``result`` if it is a valid, consistent result object."""
    problems = result_problems(result, "result")
    if problems:
        raise UsageError(f"{source} is invalid: " + _list_problems(problems))
    assert isinstance(result, dict)
    _check_consistency(result)
    return result


def result_problems(result: Any, path: str) -> list[str]:
    if not isinstance(result, dict):
        return [f"{path}: must be a JSON object, not {_kind(result)}"]

    problems = [
        f"{path}.{key}: not part of a result (known: {', '.join(RESULT_KEYS)})"
        for key in result
        if key not in RESULT_KEYS
    ]
    status = result.get("status")
    if "status" not in result:
        problems.append(f"{path}.status: required")
    elif status not in RESULT_STATUSES:
        problems.append(
            f"{path}.status: must be one of {', '.join(RESULT_STATUSES)}; "
            f"got {status!r}"
        )

    action = result.get("action")
    if "action" not in result:
        problems.append(f"{path}.action: required")
    elif not isinstance(action, str):
        problems.append(f"{path}.action: must be a string, not {_kind(action)}")
    elif not action:
        problems.append(f"{path}.action: must not be empty")

    if "fields" in result:
        fields = result["fields"]
        if not isinstance(fields, dict):
            problems.append(f"{path}.fields: must be an object, not {_kind(fields)}")
        else:
            problems += [
                f"{path}.fields.{key}: must be a string, not {_kind(value)}"
                for key, value in fields.items()
                if not isinstance(value, str)
            ]

    if "edited" in result:
        edited = result["edited"]
        if not isinstance(edited, list):
            problems.append(f"{path}.edited: must be an array, not {_kind(edited)}")
        else:
            problems += [
                f"{path}.edited[{index}]: must be a string, not {_kind(label)}"
                for index, label in enumerate(edited)
                if not isinstance(label, str)
            ]
    return problems


def _check_consistency(result: dict[str, Any]) -> None:
    # §13 #26 and §8.5: refuse what no widget following the spec would send.
    fields = result.get("fields") or {}
    edited: list[str] = result.get("edited") or []
    strangers = [label for label in edited if label not in fields]
    if strangers:
        names = ", ".join(repr(label) for label in strangers)
        raise UsageError(
            f"edited names {names}, but only fields with a value can be edited",
            hint="give each edited field its final value: --field LABEL=VALUE",
        )
    if result["status"] == "edited" and not edited:
        raise UsageError(
            "status 'edited' means at least one field changed, but none is listed",
            hint="name the changed fields with --edited LABEL",
        )
    if result["status"] == "confirmed" and edited:
        raise UsageError(
            "status 'confirmed' means nothing changed, but edited lists "
            + ", ".join(repr(label) for label in edited),
            hint="use --status edited, or drop the --edited labels",
        )


def result_from_document(
    document: Any, tool_call_id: str | None, source: str
) -> tuple[str, dict[str, Any]]:
    """Read ``--result-file``: a full body or a bare result object.

    A document with a ``result`` or ``toolCallId`` key is the whole request
    body; anything else is the result object and needs ``--tool-call-id``.
    Returns (toolCallId, result).
    """
    if isinstance(document, dict) and any(key in document for key in BODY_KEYS):
        problems = [
            f"{key}: not part of the request body (known: toolCallId, result)"
            for key in document
            if key not in BODY_KEYS
        ]
        in_file = document.get("toolCallId")
        if "toolCallId" not in document and not tool_call_id:
            problems.append("toolCallId: required (or pass --tool-call-id)")
        elif "toolCallId" in document and (not isinstance(in_file, str) or not in_file):
            problems.append("toolCallId: must be a non-empty string")
        if "result" not in document:
            problems.append("result: required")
        else:
            problems += result_problems(document["result"], "result")
        if problems:
            raise UsageError(f"{source} is invalid: " + _list_problems(problems))

        if isinstance(in_file, str) and tool_call_id and tool_call_id != in_file:
            raise UsageError(
                f"--tool-call-id {tool_call_id!r} differs from the toolCallId "
                f"{in_file!r} in {source}",
                hint="drop one of them",
            )
        chosen = tool_call_id or in_file
        assert isinstance(chosen, str)
        return chosen, check_result(document["result"], source)

    result = check_result(document, source)
    if not tool_call_id:
        raise UsageError(
            f"{source} holds a bare result object, so --tool-call-id is required",
            hint='or put the whole body in the file: {"toolCallId": ..., '
            '"result": {...}}',
        )
    return tool_call_id, result
