"""The pure parts of diagnose: verdict rules, policies, fleets, annotations."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from powsoo_cli.diagnose import batch, csp, github
from powsoo_cli.diagnose.base import CheckResult, Status
from powsoo_cli.diagnose.origin_rules import infer_entries, variants
from powsoo_cli.diagnose.page import (
    mic_allowed,
    microphone_allowlist,
    read_embed,
    secure_context,
)
from powsoo_cli.diagnose.verdict import Diagnosis, decide, rank_hidden
from powsoo_cli.errors import UsageError
from powsoo_cli.origins import parse_origin
from powsoo_cli.render.diagnose import diagnosis_view

# ----------------------------------------------------------------- verdict


def fact(check_id: str, status: Status, **data: Any) -> CheckResult:
    return CheckResult(check_id, check_id, status, f"{check_id} saw things", data=data)


def results(*checks: CheckResult) -> dict[str, CheckResult]:
    base = {
        "api.reachable": fact("api.reachable", "pass"),
        "config.localhost": fact("config.localhost", "pass", http=200, members={}),
        "config.origin": fact("config.origin", "pass", http=200, members={}),
    }
    base.update({c.id: c for c in checks})
    return base


def codes(found: dict[str, CheckResult]) -> list[str]:
    return [cause.code for cause in decide(found)]


def test_a_hidden_404_without_config_members_leaves_three_possible_causes():
    causes = decide(results(fact("mint.origin", "fail", http=404)))

    assert [c.code for c in causes] == [
        "voice_platform_not_connected",
        "retell_agent_not_configured",
        "decryption_failed",
    ]
    assert {c.certainty for c in causes} == {"possible"}


def test_an_ambiguous_diagnosis_names_all_its_alternatives():
    causes = decide(results(fact("mint.origin", "fail", http=404)))
    diagnosis = Diagnosis("wid_x", "https://a.example", None, "u", False, [], causes, 0)

    assert diagnosis.ambiguous
    assert len(diagnosis.alternatives) == 3
    assert diagnosis.verdict == "voice_platform_not_connected"


def test_a_config_naming_a_platform_narrows_a_hidden_404_to_two():
    found = results(
        fact("config.origin", "pass", http=200, members={"platform": "retell"}),
        fact("mint.origin", "fail", http=404),
    )

    assert codes(found) == ["retell_agent_not_configured", "decryption_failed"]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        ({"platform": None, "agent": None}, ["voice_platform_not_connected"]),
        ({"platform": "retell", "agent": None}, ["retell_agent_not_configured"]),
        ({"platform": "retell", "agent": {"name": "a"}}, ["decryption_failed"]),
        (
            {"agent": {"name": "a"}},
            ["voice_platform_not_connected", "decryption_failed"],
        ),
    ],
)
def test_config_members_rank_the_hidden_reasons(members, expected):
    assert [code for code, _, _ in rank_hidden(members)] == expected


def test_localhost_refused_means_the_widget_is_not_found_whatever_else_failed():
    found = results(
        fact("config.localhost", "fail", http=404),
        fact("config.origin", "fail", http=404),
    )

    assert codes(found) == ["widget_not_found"]


def test_only_the_page_origin_refused_is_the_allowlist_with_its_fix():
    rules = fact("origin.rules", "fail", cause="origin_not_allowed")
    rules.fix = 'Add "www.a.example".'
    found = results(fact("config.origin", "fail", http=404), rules)

    causes = decide(found)
    assert [c.code for c in causes] == ["origin_not_allowed"]
    assert causes[0].fix == 'Add "www.a.example".'
    assert causes[0].certainty == "confirmed"


@pytest.mark.parametrize(
    ("http", "code", "expected", "certainty"),
    [
        (402, "plan_limit_exceeded", "plan_limit_exceeded", "confirmed"),
        (502, "retell_auth_failed", "retell_auth_failed", "confirmed"),
        (502, None, "retell_auth_failed", "likely"),
        (500, None, "server_error", "confirmed"),
    ],
)
def test_visible_mint_failures_are_named_by_their_status(
    http, code, expected, certainty
):
    causes = decide(results(fact("mint.origin", "fail", http=http, code=code)))

    assert causes[0].code == expected
    assert causes[0].certainty == certainty


def test_an_unreachable_api_hides_api_causes_but_not_page_ones():
    found = {
        "api.reachable": fact("api.reachable", "fail", cause="api_unreachable"),
        "config.localhost": fact("config.localhost", "skipped"),
        "page.csp": fact("page.csp", "fail", cause="csp_blocks_widget"),
    }

    assert codes(found) == ["api_unreachable", "csp_blocks_widget"]


def test_causes_found_twice_gather_their_evidence():
    found = results(
        fact("mint.origin", "pass", http=200),
        fact("cors.preflight.mint", "fail", cause="cors_blocked"),
        fact("cors.responses", "fail", cause="cors_blocked"),
    )

    causes = decide(found)
    assert [c.code for c in causes] == ["cors_blocked"]
    assert len(causes[0].evidence) == 2


def test_warnings_alone_leave_the_widget_healthy():
    found = results(
        fact("mint.origin", "pass", http=200),
        fact("cors.responses", "warn"),
        fact("token.sanity", "warn"),
    )

    assert codes(found) == []


def test_a_crashed_check_is_reported_not_swallowed():
    found = results(fact("page.embed", "fail", internal=True))

    assert codes(found) == ["check_error"]


def test_the_view_of_an_ambiguous_verdict_says_it_cannot_tell():
    checks = [fact("mint.origin", "fail", http=404)]
    diagnosis = Diagnosis(
        "wid_x",
        "https://a.example",
        None,
        "https://api",
        False,
        checks,
        decide(results(*checks)),
        0.1,
    )
    buffer = io.StringIO()

    Console(file=buffer, width=90, color_system=None).print(diagnosis_view(diagnosis))

    text = buffer.getvalue()
    assert "cannot tell these apart" in text
    assert "verdict: voice_platform_not_connected or retell_agent_not_configured" in (
        text.replace("\n", "")
    )


# ---------------------------------------------------------- origin probes


def test_a_www_origin_probes_its_apex_and_a_wildcard_name():
    found = variants(parse_origin("https://www.shop.example"))

    assert found == {
        "parent": "https://shop.example",
        "wildcard": "https://powsoo-probe.shop.example",
    }


def test_an_http_apex_origin_also_probes_https():
    found = variants(parse_origin("http://shop.example"))

    assert found["https"] == "https://shop.example"
    assert found["www"] == "https://www.shop.example"


@pytest.mark.parametrize(
    ("origin", "accepted", "entries"),
    [
        ("https://www.a.example", {"parent"}, ["a.example"]),
        ("https://a.example", {"www", "wildcard"}, ["*.a.example"]),
        ("https://a.example", {"www"}, ["www.a.example"]),
        ("http://a.example", {"https", "www", "wildcard"}, ["a.example"]),
        ("http://www.a.example", {"https", "wildcard"}, ["*.a.example"]),
        ("https://a.example", set(), []),
    ],
)
def test_accepted_variants_reveal_the_entries(origin, accepted, entries):
    assert infer_entries(parse_origin(origin), accepted) == entries


# ------------------------------------------------------------------ policies

PAGE = "https://shop.example/contact"
BUNDLE = "https://w.powsoo.com/widget.js"


@pytest.mark.parametrize(
    ("sources", "url", "allowed"),
    [
        (["'self'"], BUNDLE, False),
        (["https://w.powsoo.com"], BUNDLE, True),
        (["w.powsoo.com"], BUNDLE, True),
        (["*.powsoo.com"], BUNDLE, True),
        (["*.powsoo.com"], "https://powsoo.com/x", False),
        (["https:"], BUNDLE, True),
        (["*"], BUNDLE, True),
        (["'none'"], BUNDLE, False),
        (["http://w.powsoo.com"], BUNDLE, True),
        (["https://w.powsoo.com:8443"], BUNDLE, False),
        (["https://w.powsoo.com/js/"], BUNDLE, False),
        (["https://w.powsoo.com/widget.js"], BUNDLE, True),
        (["'self'"], "https://shop.example/api", True),
        (["https://api.powsoo.com"], "https://api.powsoo.com/v1/voice-tokens", True),
    ],
)
def test_csp_source_lists_match_urls_like_a_browser(sources, url, allowed):
    assert csp.url_allowed(sources, url, PAGE) is allowed


@pytest.mark.parametrize(
    ("sources", "nonce", "allowed"),
    [
        (["'self'"], None, False),
        (["'unsafe-inline'"], None, True),
        (["'unsafe-inline'", "'nonce-abc'"], None, False),
        (["'nonce-abc'"], "abc", True),
        (["'nonce-abc'"], "xyz", False),
    ],
)
def test_inline_scripts_need_unsafe_inline_a_nonce_or_a_hash(sources, nonce, allowed):
    assert csp.inline_allowed(sources, nonce, "go()") is allowed


def test_an_inline_script_whose_hash_is_listed_may_run():
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(b"go()").digest()).decode()

    assert csp.inline_allowed([f"'sha256-{digest}'"], None, "go()")


def test_script_src_elem_governs_before_script_src_and_default_src():
    policy = csp.parse_policy(
        "default-src 'none'; script-src 'self'; script-src-elem https:", "header"
    )

    assert policy.governing(csp.SCRIPT_CHAIN) == ("script-src-elem", ["https:"])
    assert policy.governing(csp.CONNECT_CHAIN) == ("default-src", ["'none'"])


def test_a_header_may_carry_two_policies_separated_by_a_comma():
    policies = csp.parse_policies(["script-src *, connect-src 'self'"], [])

    assert [p.directives for p in policies] == [
        {"script-src": ["*"]},
        {"connect-src": ["'self'"]},
    ]


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("microphone=()", False),
        ("microphone=(self)", True),
        ("microphone=*", True),
        ('microphone=("https://shop.example")', True),
        ('microphone=("https://other.example")', False),
        ("camera=(), microphone=(self);report-to=x", True),
    ],
)
def test_the_microphone_allowlist_is_judged_for_the_top_level_page(header, allowed):
    allowlist = microphone_allowlist([header])

    assert allowlist is not None
    assert mic_allowed(allowlist, "https://shop.example") is allowed


def test_a_policy_without_a_microphone_member_says_nothing_about_it():
    assert microphone_allowlist(["camera=()"]) is None


@pytest.mark.parametrize(
    ("url", "secure"),
    [
        ("https://shop.example/", True),
        ("http://shop.example/", False),
        ("http://localhost:5173/", True),
        ("http://127.0.0.1:8000/", True),
        ("http://app.localhost/", True),
        ("http://[::1]:3000/", True),
        ("http://0.0.0.0:3000/", False),
    ],
)
def test_secure_contexts_are_https_or_loopback(url, secure):
    assert secure_context(url) is secure


def test_the_embed_reader_finds_elements_scripts_and_meta_policies():
    embed = read_embed(
        '<meta http-equiv="content-security-policy" content="script-src *">'
        '<powsoo-voice widget-id="wid_a"></powsoo-voice><powsoo-voice>'
        '<script nonce="n1">load("x")</script><SCRIPT TYPE=module src="/a.js">'
    )

    assert embed.widget_ids == ["wid_a", None]
    assert embed.csp_metas == ["script-src *"]
    assert [(s.src, s.type, s.nonce, s.text) for s in embed.scripts] == [
        (None, "", "n1", 'load("x")'),
        ("/a.js", "module", None, ""),
    ]


# -------------------------------------------------------------------- fleets


def test_fleet_lines_accept_spaces_commas_pages_and_comments():
    text = (
        "# fleet\n"
        "wid_a https://a.example\n"
        "\n"
        "wid_b,https://b.example:8443,https://b.example/page\n"
        "wid_c   https://c.example   https://c.example/x\n"
    )

    entries = batch.read_entries(text, "fleet")

    assert [(e.line, e.widget, e.origin, e.page) for e in entries] == [
        (2, "wid_a", "https://a.example", None),
        (4, "wid_b", "https://b.example:8443", "https://b.example/page"),
        (5, "wid_c", "https://c.example", "https://c.example/x"),
    ]


def test_a_csv_header_may_reorder_the_columns():
    entries = batch.read_entries("page,widget\nhttps://a.example/p,wid_a\n", "f")

    assert [(e.widget, e.origin, e.page) for e in entries] == [
        ("wid_a", None, "https://a.example/p")
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("wid_a\n", "has no origin"),
        ("wid_a notanorigin\n", "f:1:"),
        ("wid_a https://a.example/ x y\n", "fields"),
        ("widget,color\nwid_a,red\n", "unknown header"),
    ],
)
def test_bad_fleet_lines_are_usage_errors_naming_the_line(text, message):
    with pytest.raises(UsageError, match=message):
        batch.read_entries(text, "f")


def test_shards_split_by_position_disjointly_and_completely():
    entries = batch.read_entries(
        "".join(f"wid_w{n} https://a.example\n" for n in range(10)), "f"
    )

    shares = [batch.shard(entries, index, 4) for index in (1, 2, 3, 4)]

    assert sorted(e.widget for share in shares for e in share) == sorted(
        e.widget for e in entries
    )
    assert [len(s) for s in shares] == [3, 3, 2, 2]
    assert shares[1][0].widget == "wid_w1"


@pytest.mark.parametrize("text", ["0/4", "5/4", "2", "a/b", "1/0"])
def test_a_shard_must_be_i_of_n(text):
    with pytest.raises(UsageError):
        batch.parse_shard(text)


# --------------------------------------------------------------- annotations


def test_workflow_command_data_and_properties_are_escaped():
    line = github.command("error", "a: b, c", "50% done\r\nnext")

    assert line == "::error title=a%3A b%2C c::50%25 done%0D%0Anext"


def test_annotations_never_carry_a_session_token():
    token = "sst_" + "x" * 32
    diagnosis = Diagnosis(
        "wid_a",
        "https://a.example",
        None,
        "u",
        False,
        [CheckResult("stream.events", "Event stream", "fail", f"refused {token}")],
        [],
        0,
    )

    lines = list(github.lines([diagnosis]))

    assert lines and token not in "".join(lines)
