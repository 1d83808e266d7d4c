"""cards.py: building and checking cards and results, and the result view."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from powsoo_cli import cards
from powsoo_cli.errors import UsageError
from powsoo_cli.models import ACTION_STYLES, FIELD_TYPES, Card
from powsoo_cli.render.cards import card_summary, raw_line, result_view

GOOD_CARD = {
    "title": "T",
    "fields": [
        {"label": "Email", "value": "a@b.c", "type": "email", "editable": False},
        {"label": "Plan", "type": "select", "options": [{"id": "p", "label": "P"}]},
    ],
    "actions": [{"label": "OK", "value": "ok", "style": "danger"}],
}


# The card schema


def test_a_card_that_fits_the_schema_has_no_problems_and_no_warnings():
    assert cards.card_problems(GOOD_CARD) == []
    assert cards.card_warnings(GOOD_CARD) == []
    assert cards.check_card(GOOD_CARD) is GOOD_CARD


def test_every_problem_is_listed_with_its_path():
    card = {
        "title": 5,
        "description": None,
        "fields": [{"value": 1, "type": "upload"}, "row"],
        "actions": [{"label": "A", "value": ""}, {"value": "b", "style": None}],
    }

    assert cards.card_problems(card) == [
        "title: must be a string, not a number",
        "description: must be a string, not null",
        "fields[0].label: required",
        "fields[0].value: must be a string, not a number",
        "fields[0].type: must be one of text, email, phone, address, date, select, "
        "multiselect, consent; got 'upload'",
        "fields[1]: must be an object, not a string",
        "actions[0].value: must not be empty",
        "actions[1].label: required",
        "actions[1].style: must be one of primary, secondary, danger; got None",
    ]


def test_check_card_names_three_problems_and_counts_the_rest():
    with pytest.raises(UsageError) as caught:
        cards.check_card({"fields": 1, "actions": {}, "description": 2, "title": ""})

    assert caught.value.message == (
        "the card does not fit the powsoo_show_card schema: title: must not be "
        "empty; description: must be a string, not a number; fields: must be an "
        "array, not a number (and 1 more)"
    )
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    "wrapper",
    [
        {"name": "powsoo_show_card", "args": {"title": "T"}, "call": {}},
        {"type": "function", "function": {"name": "powsoo_show_card"}},
    ],
)
def test_a_wrapped_card_is_refused_with_a_hint_to_unwrap_it(wrapper):
    with pytest.raises(UsageError) as caught:
        cards.check_card(wrapper)

    assert "title: required" in caught.value.message
    assert caught.value.hint is not None
    assert "give the card alone" in caught.value.hint


def test_options_on_a_text_field_and_unknown_keys_are_warnings():
    card = {
        "title": "T",
        "extra": True,
        "fields": [{"label": "A", "options": [{"id": "x", "label": "X"}]}],
        "actions": [{"label": "A", "value": "a"}, {"label": "B", "value": "a"}],
    }

    assert cards.card_problems(card) == []
    assert cards.card_warnings(card) == [
        "card.extra: not part of the card schema",
        "fields[0].options: ignored by a text field",
        "actions: the value 'a' is used twice; the answer cannot tell the buttons "
        "apart",
    ]


# Quick flags


def test_quick_flags_build_the_card_they_describe():
    card = cards.card_from_flags(
        title="Check",
        description="We heard:",
        fields=["Email=jane@example.org", "Plan", "Note=a=b"],
        field_types=["Email=email", "Plan=multiselect"],
        options=["Plan=basic", "Plan=pro:Pro: yearly"],
        read_only=["Note"],
        actions=["Confirm=confirm:primary", "Skip=skip", "Open=url:x:secondary"],
    )

    assert card == {
        "title": "Check",
        "description": "We heard:",
        "fields": [
            {"label": "Email", "value": "jane@example.org", "type": "email"},
            {
                "label": "Plan",
                "type": "multiselect",
                "options": [
                    {"id": "basic", "label": "basic"},
                    {"id": "pro", "label": "Pro: yearly"},
                ],
            },
            {"label": "Note", "value": "a=b", "editable": False},
        ],
        "actions": [
            {"label": "Confirm", "value": "confirm", "style": "primary"},
            {"label": "Skip", "value": "skip"},
            {"label": "Open", "value": "url:x", "style": "secondary"},
        ],
    }
    assert cards.card_problems(card) == []
    Card.model_validate(card)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"title": None, "actions": ["A=a"]}, "no card given"),
        ({"title": "T"}, "the card needs at least one --action"),
        ({"title": "T", "actions": ["=a"]}, "the label is empty"),
        ({"title": "T", "actions": ["A=url:x"]}, "unknown style 'x'"),
        ({"title": "T", "actions": ["A=:primary"]}, "the value is empty"),
        ({"title": "T", "actions": ["A=a"], "fields": ["X", "X=1"]}, "given twice"),
        (
            {
                "title": "T",
                "actions": ["A=a"],
                "fields": ["X"],
                "field_types": ["X=text", "X=email"],
            },
            "typed twice",
        ),
        (
            {
                "title": "T",
                "actions": ["A=a"],
                "fields": ["X"],
                "field_types": ["X=time"],
            },
            "unknown type 'time'",
        ),
        (
            {"title": "T", "actions": ["A=a"], "options": ["X=1"]},
            "--option names the field 'X', which no --field defines",
        ),
        (
            {"title": "T", "actions": ["A=a"], "fields": ["X"], "options": ["X="]},
            "the option id is missing",
        ),
        (
            {"title": "T", "actions": ["A=a"], "fields": ["X"], "options": ["X=:t"]},
            "the option id is empty",
        ),
        ({"title": "T", "actions": ["A=a"], "read_only": ["Y"]}, "no --field defines"),
    ],
)
def test_quick_flag_mistakes_are_usage_errors(kwargs, problem):
    with pytest.raises(UsageError, match=problem.replace("(", r"\(")):
        cards.card_from_flags(**kwargs)


@given(st.text())
def test_any_text_either_parses_as_an_action_or_is_a_usage_error(text):
    try:
        action = cards.parse_action(text)
    except UsageError:
        return
    assert set(action) <= {"label", "value", "style"}
    assert action["label"] and action["value"]
    assert action.get("style", "primary") in ACTION_STYLES


@given(
    st.text(min_size=1).filter(lambda s: "=" not in s),
    st.text(min_size=1),
    st.sampled_from(ACTION_STYLES),
)
def test_an_action_flag_gives_back_its_label_value_and_style(label, value, style):
    assert cards.parse_action(f"{label}={value}:{style}") == {
        "label": label,
        "value": value,
        "style": style,
    }


@given(st.lists(st.text(max_size=12), max_size=4), st.lists(st.text(), max_size=4))
def test_any_quick_flags_build_a_card_that_fits_or_a_usage_error(texts, more):
    try:
        card = cards.card_from_flags(
            title="T",
            fields=texts,
            field_types=more,
            options=more,
            read_only=texts[:1],
            actions=[*more, "OK=ok"],
        )
    except UsageError:
        return
    # Flags can type a field select without giving options; check_card
    # catches that, and nothing else can be wrong.
    problems = cards.card_problems(card)
    assert all(problem.endswith("needs at least one option") for problem in problems)


@given(st.text())
def test_any_text_is_a_result_field_or_a_usage_error(text):
    try:
        label, value = cards.parse_result_field(text)
    except UsageError:
        return
    assert f"{label}={value}" == text and label


@pytest.mark.parametrize("kind", FIELD_TYPES)
def test_every_field_type_is_accepted_by_the_flag(kind):
    assert cards.parse_field_type(f"A={kind}") == ("A", kind)


# Reading documents


def test_a_bom_is_tolerated_and_the_document_parsed():
    assert cards.parse_document(b'\xef\xbb\xbf{"a": 1}', "f", "card") == {"a": 1}


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"a": NaN}', "f: the card is not usable JSON: NaN is not a JSON value"),
        (b'{"a": 1, "a": 2}', "f: the card is not usable JSON: the key 'a' appears"),
        (b'{\n  "\xc3\xa9": 1,\n  "x": \xff}', "f:3:8: the card is not UTF-8 text"),
        (b'{"a": 1}\n{"b": 2}', "f:2:1: the card is not valid JSON: Extra data"),
        (b"\t\n", "f: the card is empty"),
    ],
)
def test_document_problems_name_their_place(raw, problem):
    with pytest.raises(UsageError) as caught:
        cards.parse_document(raw, "f", "card")

    assert caught.value.message.startswith(problem)


def test_a_document_is_read_from_the_given_stdin():
    stdin = io.BytesIO(b'{"title": "T"}')

    assert cards.read_document("-", "card", stdin=stdin) == {"title": "T"}


def test_a_folder_is_not_a_document(tmp_path):
    with pytest.raises(UsageError, match="is a folder, not a card file"):
        cards.read_document(str(tmp_path), "card")


# Results


@pytest.mark.parametrize(
    ("action", "edited", "status"),
    [
        ("confirm", [], "confirmed"),
        ("confirm", ["A"], "edited"),
        ("Skip", ["A"], "skipped"),
        (" CANCEL ", [], "skipped"),
        ("skipper", [], "confirmed"),
    ],
)
def test_the_default_status_follows_the_widget(action, edited, status):
    assert cards.default_status(action, edited) == status


def test_a_result_from_flags_keeps_order_and_drops_repeated_edited_labels():
    result = cards.result_from_flags(
        action="ok", fields=["B=2", "A=", "C=x=y"], edited=["A", "B", "A"]
    )

    assert result == {
        "status": "edited",
        "action": "ok",
        "fields": {"B": "2", "A": "", "C": "x=y"},
        "edited": ["A", "B"],
    }


def test_a_skipped_result_may_name_edited_fields():
    result = cards.result_from_flags(
        action="cancel", fields=["A=1"], edited=["A"], status="skipped"
    )

    assert result["status"] == "skipped"


def test_a_whole_body_and_a_bare_result_give_the_same_answer():
    bare = {"status": "confirmed", "action": "ok"}

    from_body = cards.result_from_document(
        {"toolCallId": "tc_1", "result": bare}, None, "f"
    )
    from_bare = cards.result_from_document(bare, "tc_1", "f")
    agreeing = cards.result_from_document(
        {"toolCallId": "tc_1", "result": bare}, "tc_1", "f"
    )

    assert from_body == from_bare == agreeing == ("tc_1", bare)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ({"result": {"status": "confirmed", "action": "a"}}, "toolCallId: required"),
        ({"toolCallId": "", "result": {}}, "toolCallId: must be a non-empty string"),
        (
            {"toolCallId": "t", "extra": 1, "result": None},
            "extra: not part of the request body",
        ),
        ({"toolCallId": "t"}, "result: required"),
        ("text", "result: must be a JSON object, not a string"),
        (
            {"status": "skipped", "action": "a", "edited": "A"},
            "result.edited: must be an array",
        ),
        (
            {"status": "skipped", "action": "a", "edited": [1]},
            "result.edited[0]: must be a string",
        ),
        ({"status": "skipped", "action": 1}, "result.action: must be a string"),
        (
            {"action": "a", "fields": []},
            "result.status: required; result.fields: must be an object",
        ),
    ],
)
def test_result_documents_are_checked_with_paths(document, problem):
    with pytest.raises(UsageError) as caught:
        cards.result_from_document(document, None, "f")

    assert problem in caught.value.message


# The result view


def render(renderable) -> str:
    console = Console(file=io.StringIO(), width=60, no_color=True)
    console.print(renderable)
    output = console.file.getvalue()
    assert isinstance(output, str)
    return output


def test_the_result_view_shows_each_member_and_marks_edited_fields():
    raw = json.dumps(
        {
            "status": "edited",
            "action": "confirm",
            "fields": {"Email": "[b]x[/b]", "Plan": "pro"},
            "edited": ["Email"],
            "extra": 1,
        }
    )

    lines = [line.rstrip() for line in render(result_view(raw)).splitlines()]

    assert lines == [
        "status  edited",
        "action  confirm",
        "fields  Email  [b]x[/b] (edited)",
        "        Plan   pro",
        "edited  Email",
        "extra   1",
    ]


def test_a_result_that_is_not_an_object_is_flagged_and_shown_raw():
    assert "not a JSON object" in render(result_view("[1]"))
    assert render(raw_line("[1]")).strip() == "raw  [1]"


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ([], "no fields"),
        ([{"label": "A"}], "1 field"),
        ([{"label": "A"}] * 2, "2 fields"),
    ],
)
def test_the_card_summary_counts_fields_and_names_action_values(fields, shown):
    card = {"title": "T", "fields": fields, "actions": [{"label": "A", "value": "a"}]}

    assert card_summary(card) == f"'T' ({shown}; actions: a)"
