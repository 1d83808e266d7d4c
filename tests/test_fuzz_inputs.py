"""Bad user input, generated: every refusal is exit 2, one line, nothing sent.

Each property runs the real CLI in-process with ``--base-url`` aimed at a
`tests.badserver.BadServer` that counts connections, and checks that input
the tool refuses never reaches the network: the count must not move. The
inputs are built to break a documented rule (the widget id pattern, the
three statuses, printable ASCII headers...); only the random JSON documents
are screened with the card and result checks, to skip the rare valid one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from powsoo_cli import cards
from powsoo_cli.catalogue import CATALOGUE, lookup
from powsoo_cli.errors import UsageError
from powsoo_cli.exit_codes import ExitCode
from powsoo_cli.models import ACTION_STYLES, FIELD_TYPES, RESULT_STATUSES
from tests.badserver import BadServer, response

ORIGIN = "https://shop.example"
TOKEN = "sst_" + "f" * 32
WIDGET_ID = re.compile(r"wid_[A-Za-z0-9]+")
# What a command line can carry on Linux: text, and undecodable bytes as
# surrogate escapes (U+DC80..U+DCFF), but never NUL.
SURROGATE_ESCAPES = st.sampled_from([chr(code) for code in range(0xDC80, 0xDD00)])
ARG_TEXT = st.text(
    st.one_of(st.characters(exclude_characters="\x00"), SURROGATE_ESCAPES),
    max_size=30,
)

fuzz = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
fuzz_light = settings(fuzz, max_examples=20)


@pytest.fixture(autouse=True)
def quick_tls_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    # With these set, httpx reads a whole CA bundle for every client; the OS
    # store used without them loads lazily. Nothing here speaks TLS.
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


@pytest.fixture(scope="module")
def server() -> Iterator[BadServer]:
    """Stands in for the API; any connection to it is a failed property."""
    with BadServer(response(500, '{"ok": false}')) as running:
        yield running


class Refusals:
    """Runs the CLI against the counting server and checks a refusal."""

    def __init__(self, run_cli: Any, server: BadServer) -> None:
        self.run_cli = run_cli
        self.server = server

    def run(self, *args: str) -> Any:
        return self.run_cli("--base-url", self.server.url, *args)

    def refused(self, *args: str) -> Any:
        before = self.server.connections
        result = self.run(*args)

        assert result.exit_code == ExitCode.USAGE, (args, result.stderr)
        assert self.server.connections == before, f"{args} reached the network"
        assert_one_error_line(result)
        assert result.stdout == ""
        return result


def assert_one_error_line(result: Any) -> None:
    assert "Traceback" not in result.stderr
    lines = [
        line
        for line in result.stderr.splitlines()
        if not line.startswith("powsoo: warning: ")
    ]
    assert lines and lines[0].startswith("powsoo: error: "), result.stderr
    assert len(lines) <= 2, result.stderr
    if len(lines) == 2:
        assert lines[1].startswith("hint: "), result.stderr


@pytest.fixture
def cli(run_cli: Any, server: BadServer) -> Refusals:
    return Refusals(run_cli, server)


# Widget ids and origins (get-config, mint-token)


ORIGIN_COMMANDS = st.sampled_from(["get-config", "mint-token"])


@fuzz
@given(command=ORIGIN_COMMANDS, widget=ARG_TEXT)
def test_a_widget_id_off_the_pattern_is_refused_before_sending(cli, command, widget):
    assume(not WIDGET_ID.fullmatch(widget))

    # After "--" even a leading dash is the WIDGET argument.
    cli.refused(command, f"--origin={ORIGIN}", "--", widget)


# Origins that break scheme://host[:port] for certain, whatever the scheme
# (browsers also send chrome-extension:// and the like).
HOST = st.sampled_from(["shop.example", "localhost", "127.0.0.1", "[::1]"])
FLAWS = st.one_of(
    st.sampled_from(["/", "/path", "?q=1", "#top", ":", ":0", ":65536", ":x"]),
    st.sampled_from([" ", "\t", "\x01", "\x7f", "é", "\udcff"]),
)
BAD_ORIGINS = st.one_of(
    ARG_TEXT.filter(lambda text: "://" not in text),
    st.builds(
        "{}://{}{}{}".format,
        st.sampled_from(["https", "http", "HTTPS", "chrome-extension", "ftp"]),
        st.sampled_from(["", "user@"]),
        HOST,
        FLAWS,
    ),
    st.builds("https://{}{}".format, FLAWS, HOST),
    st.builds("{}://shop.example".format, st.sampled_from(["", "1x", "h ttps"])),
)


@fuzz
@given(command=ORIGIN_COMMANDS, origin=BAD_ORIGINS)
def test_an_origin_that_is_not_scheme_host_port_is_refused(cli, command, origin):
    cli.refused(command, "wid_demo", f"--origin={origin}")


# post-result: LABEL=VALUE fields, --edited, --status, --action, call ids


LABEL = st.text(st.characters(exclude_characters="=\x00"), min_size=1, max_size=12)


@st.composite
def bad_result_flags(draw: st.DrawFn) -> list[str]:
    """Result flags that break one documented rule of post-result."""
    label = draw(LABEL)
    value = draw(st.text(min_size=1, max_size=10).map(str.strip))
    assume(value)
    action = [f"--action={value}"]
    broken = draw(
        st.sampled_from(
            [
                "field without =",
                "empty label",
                "label twice",
                "edited unknown",
                "bad status",
                "confirmed but edited",
                "edited without labels",
                "no action",
            ]
        )
    )
    if broken == "field without =":
        return [*action, f"--field={label}"]
    if broken == "empty label":
        return [*action, "--field", "=" + draw(st.text(max_size=8))]
    if broken == "label twice":
        return [*action, f"--field={label}=a", f"--field={label}=b"]
    if broken == "edited unknown":
        other = draw(LABEL.filter(lambda text: text != label))
        return [*action, f"--field={label}=v", f"--edited={other}"]
    if broken == "bad status":
        status = draw(ARG_TEXT.filter(lambda text: text not in RESULT_STATUSES))
        return [*action, f"--status={status}"]
    if broken == "confirmed but edited":
        return [
            *action,
            f"--field={label}=v",
            f"--edited={label}",
            "--status=confirmed",
        ]
    if broken == "edited without labels":
        return [*action, "--status=edited"]
    return [f"--field={label}=v"]


@fuzz
@given(flags=bad_result_flags(), call_id=ARG_TEXT)
def test_a_result_that_breaks_a_rule_is_refused_for_any_call(cli, flags, call_id):
    cli.refused("post-result", "-t", "tc_1", f"--token={TOKEN}", *flags, "--", call_id)


NOT_HEADER_SAFE = st.builds(
    "{}{}{}".format,
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8),
    st.one_of(
        st.characters(max_codepoint=0x1F, exclude_characters="\x00"),
        st.characters(min_codepoint=0x7F),
        SURROGATE_ESCAPES,
    ),
    st.text(max_size=8).map(lambda text: text.replace("\x00", "")),
)


@fuzz
@given(value=NOT_HEADER_SAFE, where=st.sampled_from(["token", "request id"]))
def test_a_token_or_request_id_no_header_can_carry_is_refused(cli, value, where):
    if where == "token":
        args = ["post-result", "call_1", "-t", "tc_1", "-a", "ok", f"--token={value}"]
    else:
        args = [f"--request-id={value}", "get-config", "wid_demo", f"--origin={ORIGIN}"]

    result = cli.refused(*args)

    if where == "token":
        # Refused without being echoed: a token is a secret.
        assert "the session token" in result.stderr
        assert value not in result.stderr


@pytest.mark.parametrize("call_id", ["", ".", ".."])
def test_a_call_id_that_a_url_would_drop_is_refused(cli, call_id):
    cli.refused("post-result", "-t", "tc_1", "-a", "ok", f"--token={TOKEN}", call_id)


@pytest.fixture(scope="module")
def accepting() -> Iterator[BadServer]:
    with BadServer(response(204)) as running:
        yield running


CALL_ID = st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=20)


@fuzz_light
@given(call_id=CALL_ID)
def test_any_call_id_travels_as_exactly_one_path_segment(run_cli, accepting, call_id):
    assume(call_id not in (".", ".."))
    before = len(accepting.requests)

    result = run_cli(
        "--base-url", accepting.url, "post-result", "-t", "tc_1", "-a", "ok",
        f"--token={TOKEN}", "--", call_id,
    )  # fmt: skip

    assert result.exit_code == ExitCode.SUCCESS, result.stderr
    request = accepting.requests[before]
    prefix, segment, suffix = request.target.rsplit("/", 2)
    assert (prefix, suffix) == ("/v1/sessions", "results")
    assert unquote(segment) == call_id
    assert segment == quote(call_id, safe="")


# send-card: quick flags and --wait


@st.composite
def bad_card_flags(draw: st.DrawFn) -> list[str]:
    """Quick card flags that break one rule of send-card's grammar."""
    label = draw(LABEL)
    title = ["--title", "Check"]
    ok = ["--action", "OK=ok"]
    broken = draw(
        st.sampled_from(
            [
                "action without =",
                "action empty value",
                "action unknown style",
                "unknown field type",
                "type of no field",
                "option without id",
                "read-only no field",
                "no action",
                "no title",
                "field twice",
                "select without options",
            ]
        )
    )
    if broken == "action without =":
        return [*title, f"--action={label}"]
    if broken == "action empty value":
        return [*title, f"--action={label}="]
    if broken == "action unknown style":
        style = draw(ARG_TEXT.filter(lambda s: s not in ACTION_STYLES and ":" not in s))
        return [*title, f"--action={label}=value:{style}"]
    if broken == "unknown field type":
        kind = draw(ARG_TEXT.filter(lambda text: text not in FIELD_TYPES))
        return [*title, *ok, f"--field={label}", f"--field-type={label}={kind}"]
    if broken == "type of no field":
        return [*title, *ok, f"--field-type={label}=email"]
    if broken == "option without id":
        return [*title, *ok, f"--field={label}", f"--option={label}="]
    if broken == "read-only no field":
        return [*title, *ok, f"--read-only={label}"]
    if broken == "no action":
        return title
    if broken == "no title":
        return ok
    if broken == "field twice":
        return [*title, *ok, f"--field={label}", f"--field={label}=x"]
    return [*title, *ok, f"--field={label}", f"--field-type={label}=select"]


@fuzz
@given(flags=bad_card_flags())
def test_a_quick_card_that_breaks_the_grammar_is_refused(cli, flags):
    cli.refused("send-card", "call_1", *flags)


def number_text(below: float | None = None, above: float | None = None) -> Any:
    """Text for a number option: out of range, or not a number at all."""
    choices = [
        st.sampled_from(["nan", "-inf", "", " ", "1,5", "0x10", "one"]),
        st.text(st.characters(categories=["L", "P", "S"]), min_size=1, max_size=6),
    ]
    if below is not None:
        choices.append(st.floats(max_value=below, allow_nan=False).map(repr))
    if above is not None:
        choices.append(st.floats(min_value=above, exclude_min=True).map(repr))
        choices.append(st.sampled_from(["inf", "1e400"]))
    return st.one_of(choices)


# (command, option, largest value that is too small, largest value allowed;
# None where the option has no upper bound)
NUMBER_OPTIONS = [
    ("global", "--read-timeout", 0.0, 3600.0),
    ("global", "--connect-timeout", 0.0, 300.0),
    ("send-card", "--wait", 0.09, 86400.0),
    ("watch-events", "--timeout", 0.0, None),
    ("watch-events", "--heartbeat-interval", 0.0, 3600.0),
    ("watch-events", "--max-events", 0.0, None),
    ("watch-events", "--max-retries", 0.0, None),
    ("watch-events", "--max-event-bytes", 0.0, None),
    ("diagnose", "--ready-wait", 0.0, None),
    ("diagnose", "--concurrency", 0.0, 64.0),
]
COMMAND_ARGS = {
    "global": ["get-config", "wid_demo", f"--origin={ORIGIN}"],
    "send-card": ["send-card", "call_1", "--title", "T", "--action", "OK=ok"],
    # --no-reconnect: were a value let through, one failed attempt ends it.
    "watch-events": ["watch-events", "call_1", f"--token={TOKEN}", "--no-reconnect"],
    "diagnose": ["diagnose", "wid_demo", f"--origin={ORIGIN}", "--no-mint"],
}


@st.composite
def bad_number(draw: st.DrawFn) -> tuple[str, str, str]:
    where, option, below, above = draw(st.sampled_from(NUMBER_OPTIONS))
    return where, option, draw(number_text(below, above))


@fuzz
@given(case=bad_number())
def test_a_number_out_of_range_or_not_a_number_is_refused(cli, case):
    where, option, value = case
    assume(not value.strip().lstrip("+").isdigit())  # may be a valid count
    args = COMMAND_ARGS[where]
    if where == "global":
        cli.refused(f"{option}={value}", *args)
    else:
        cli.refused(*args, f"{option}={value}")


@pytest.mark.parametrize(
    ("where", "option"),
    [
        ("watch-events", "--timeout"),
        ("diagnose", "--ready-wait"),
        ("diagnose", "--heartbeat-wait"),
    ],
)
def test_an_endless_wait_is_refused_because_every_wait_must_end(cli, where, option):
    cli.refused(*COMMAND_ARGS[where], f"{option}=1e400")


# Input files: --card FILE and --result-file FILE


def file_args(kind: str, path: str) -> list[str]:
    if kind == "card":
        return ["send-card", "call_1", "--card", path]
    result = ["post-result", "call_1", "-t", "tc_1", f"--token={TOKEN}"]
    return [*result, "--result-file", path]


JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.one_of(
                st.sampled_from(
                    ["title", "actions", "fields", "status", "action", "result"]
                ),
                st.text(max_size=8),
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


def usable(kind: str, document: Any) -> bool:
    """Whether the document would pass; used only to skip the rare valid one."""
    try:
        if kind == "card":
            cards.check_card(document)
        else:
            cards.result_from_document(document, "tc_1", "f")
    except UsageError:
        return False
    return True


@fuzz
@given(kind=st.sampled_from(["card", "result"]), document=JSON_VALUES)
def test_a_json_document_of_the_wrong_shape_is_refused(cli, tmp_path, kind, document):
    assume(not usable(kind, document))
    path = tmp_path / "document.json"
    path.write_text(json.dumps(document), encoding="utf-8")

    cli.refused(*file_args(kind, str(path)))


@fuzz
@given(kind=st.sampled_from(["card", "result"]), raw=st.binary(max_size=200))
def test_arbitrary_bytes_as_an_input_file_are_refused(cli, tmp_path, kind, raw):
    path = tmp_path / "document.json"
    path.write_bytes(raw)

    cli.refused(*file_args(kind, str(path)))


NAMED_FILES = [
    pytest.param(b"", "is empty", id="empty"),
    pytest.param(b" \n\t ", "is empty", id="blank"),
    pytest.param(b"\xef\xbb\xbf", "is empty", id="a BOM only"),
    pytest.param(b'{"title": "caf\xe9"}', "is not UTF-8", id="Latin-1"),
    pytest.param('{"a": 1}'.encode("utf-16"), "is not UTF-8", id="UTF-16"),
    pytest.param(b'{"a": NaN}', "NaN is not a JSON value", id="NaN"),
    pytest.param(b'{"a": 1, "a": 2}', "appears twice", id="a repeated key"),
    pytest.param(b"[" * 100_000, "nested too deeply", id="deeply nested"),
    pytest.param(b"{'a': 1}", "is not valid JSON", id="single quotes"),
    pytest.param(b'{"a": 1,}', "is not valid JSON", id="trailing comma"),
    pytest.param(b'{"a": 1} {"b": 2}', "is not valid JSON", id="two documents"),
    pytest.param(b" " * (1024 * 1024) + b"{}", "larger than 1 MiB", id="huge"),
    pytest.param(b"[]", "", id="an array"),
    pytest.param(b'"text"', "", id="a string"),
]


@pytest.mark.parametrize("kind", ["card", "result"])
@pytest.mark.parametrize(("raw", "fragment"), NAMED_FILES)
def test_a_malformed_input_file_is_refused_with_its_reason(
    cli, tmp_path, kind, raw, fragment
):
    path = tmp_path / "document.json"
    path.write_bytes(raw)

    result = cli.refused(*file_args(kind, str(path)))

    assert fragment in result.stderr


@pytest.mark.parametrize("kind", ["card", "result"])
def test_a_missing_file_or_a_folder_is_refused(cli, tmp_path: Path, kind):
    missing = cli.refused(*file_args(kind, str(tmp_path / "absent.json")))
    folder = cli.refused(*file_args(kind, str(tmp_path)))

    assert "no such file" in missing.stderr
    assert "is a folder" in folder.stderr


# Commands that send nothing at all: check-origin, explain, config show


@fuzz
@given(origin=ARG_TEXT, entries=st.lists(ARG_TEXT, min_size=1, max_size=3))
def test_check_origin_answers_any_input_with_a_verdict_or_a_usage_error(
    cli, origin, entries
):
    before = cli.server.connections
    allowed = [f"--allowed={entry}" for entry in entries]

    result = cli.run("check-origin", *allowed, "--", origin)

    assert result.exit_code in (ExitCode.SUCCESS, ExitCode.PROBLEM, ExitCode.USAGE)
    assert "Traceback" not in result.stderr
    assert cli.server.connections == before
    if result.exit_code == ExitCode.USAGE:
        assert_one_error_line(result)
    else:
        verdict = "allowed" if result.exit_code == ExitCode.SUCCESS else "refused"
        assert result.stdout.startswith(verdict)


@fuzz_light
@given(code=st.one_of(ARG_TEXT, st.sampled_from(sorted(CATALOGUE))))
def test_explain_knows_a_code_or_says_it_does_not(cli, code):
    result = cli.run("explain", "--", code)

    if lookup(code) is not None:
        assert result.exit_code == ExitCode.SUCCESS
        assert lookup(code).code in result.stdout
    else:
        assert result.exit_code == ExitCode.USAGE
        assert_one_error_line(result)
        assert "unknown error code" in result.stderr


SETTING_VARIABLES = [
    "POWSOO_READ_TIMEOUT",
    "POWSOO_CONNECT_TIMEOUT",
    "POWSOO_HEARTBEAT_INTERVAL",
    "POWSOO_ENV",
]


@fuzz_light
@given(
    variable=st.sampled_from(SETTING_VARIABLES),
    value=st.text(st.characters(exclude_characters="\x00"), min_size=1, max_size=10),
)
def test_a_bad_setting_in_the_environment_is_a_usage_error(
    cli, monkeypatch, variable, value
):
    valid = {"production", "staging", "sandbox"}
    if variable == "POWSOO_ENV":
        assume(value not in valid)
    else:
        try:
            number = float(value)
        except ValueError:
            number = None
        limit = 300 if variable == "POWSOO_CONNECT_TIMEOUT" else 3600
        assume(number is None or not 0 < number <= limit)
    monkeypatch.setenv(variable, value)

    result = cli.refused("config", "show")

    assert "invalid setting" in result.stderr


@fuzz_light
@given(text=st.text(max_size=60))
def test_any_config_file_is_read_or_refused_in_one_line(cli, text):
    from powsoo_cli.settings import config_dir

    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(text, encoding="utf-8")

    result = cli.run("config", "show", "--json")

    assert result.exit_code in (ExitCode.SUCCESS, ExitCode.USAGE), result.stderr
    if result.exit_code == ExitCode.USAGE:
        assert_one_error_line(result)
    else:
        assert json.loads(result.stdout)["configFile"].endswith("config.toml")
