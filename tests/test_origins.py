"""Tests for origin allowlist matching (powsoo_cli.origins, spec §9 and §13)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powsoo_cli.origins import (
    ALWAYS_ALLOWED_HOSTS,
    AllowEntry,
    MatchResult,
    Origin,
    OriginError,
    match_origin,
    parse_entry,
    parse_origin,
)

SHOP = ["shop.example", "*.shop.example", "localhost:5173"]


def refused(origin: str | None, entries: list[str]) -> MatchResult:
    result = match_origin(origin, entries)
    assert not result.allowed
    assert result.reasons, "a refusal must explain itself"
    assert result.suggestion
    assert result.matched_entry is None
    assert not result.always_allowed
    return result


def reasons_text(result: MatchResult) -> str:
    return " ".join(result.reasons)


# ------------------------------------------------------------------ parse_origin


@pytest.mark.parametrize(
    ("value", "expected", "text"),
    [
        ("https://shop.example", Origin("https", "shop.example", 443, False), None),
        ("http://shop.example", Origin("http", "shop.example", 80, False), None),
        (
            "http://localhost:5173",
            Origin("http", "localhost", 5173, True),
            "http://localhost:5173",
        ),
        (
            "HTTPS://WWW.Shop.Example:443",
            Origin("https", "www.shop.example", 443, True),
            "https://www.shop.example",
        ),
        (
            "https://SHOP.example.",
            Origin("https", "shop.example", 443, False),
            "https://shop.example",
        ),
        ("http://[0:0::1]:80", Origin("http", "[::1]", 80, True), "http://[::1]"),
        ("http://[::1]:5173", Origin("http", "[::1]", 5173, True), None),
        ("https://127.0.0.1:9", Origin("https", "127.0.0.1", 9, True), None),
        ("ftp://shop.example", Origin("ftp", "shop.example", 21, False), None),
        (
            "chrome-extension://abcdef",
            Origin("chrome-extension", "abcdef", 0, False),
            None,
        ),
        (
            "https://xn--bcher-kva.example",
            Origin("https", "xn--bcher-kva.example", 443, False),
            None,
        ),
    ],
)
def test_parse_origin_normalises_like_a_browser_serialises(
    value: str, expected: Origin, text: str | None
) -> None:
    origin = parse_origin(value)
    assert origin == expected
    assert str(origin) == (text or value)


@pytest.mark.parametrize(
    ("value", "fragment", "suggestion"),
    [
        ("", "is empty", None),
        ("null", "sandboxed frames", None),
        (" https://shop.example", "whitespace", "https://shop.example"),
        ("https://shop.example\n", "whitespace", "https://shop.example"),
        ("https://sh op.example", "whitespace", None),
        ("https://shop.example\x00", "control character", None),
        ("shop.example", "has no scheme", "https://shop.example"),
        ("shop.example/checkout", "has no scheme", "https://shop.example"),
        ("//shop.example", "has no scheme", "https://shop.example"),
        ("localhost:5173", "has no scheme", "http://localhost:5173"),
        ("https:/shop.example", "malformed scheme separator", "https://shop.example"),
        ("HTTPS:shop.example", "malformed scheme separator", "https://shop.example"),
        ("1http://shop.example", "invalid scheme", None),
        ("https://shop.example/", 'ends with "/"', "https://shop.example"),
        (
            "https://shop.example/a?b#c",
            "path, query or fragment",
            "https://shop.example",
        ),
        ("https://shop.example?x", "path, query or fragment", "https://shop.example"),
        ("https://user:pw@shop.example", "user info", "https://shop.example"),
        ("https://shop.example:", "no port number", None),
        ("https://shop.example:abc", 'invalid port "abc"', None),
        ("https://shop.example:0", 'invalid port "0"', None),
        ("https://shop.example:65536", 'invalid port "65536"', None),
        ("https://shop.example:\uff18\uff10", "invalid port", None),
        ("https://sh%op.example", 'the character "%"', None),
        ("https://a..example", "empty label", None),
        ("https://shop.example..", "empty label", None),
        ("https://", "has no host", None),
        ("https://:443", "has no host", None),
        ("https://::1", "without [brackets]", "https://[::1]"),
        ("https://a:b:c", 'more than one ":"', None),
        ("https://[::1", "unclosed IPv6 bracket", None),
        ("https://[::1]x", 'has "x" after its IPv6 host', None),
        ("https://[zz]", "invalid IPv6 host", None),
        ("https://[fe80::1%25eth0]", "zone id", None),
        (
            "https://b\u00fccher.example:8443",
            '"xn--bcher-kva.example"',
            "https://xn--bcher-kva.example:8443",
        ),
        # IDNA 2003 would map the sharp s to "ss", unlike browsers: no guess.
        ("https://fa\u00df.example", "non-ASCII host", None),
    ],
)
def test_parse_origin_refuses_anything_but_scheme_host_port_with_a_fix(
    value: str, fragment: str, suggestion: str | None
) -> None:
    with pytest.raises(OriginError) as caught:
        parse_origin(value)
    message = str(caught.value)
    assert fragment in message
    assert "expected scheme://host[:port]" in message
    assert message.endswith(".") and message.count("; ") == 1
    assert caught.value.suggestion == suggestion
    if suggestion is not None:
        assert f'"{suggestion}"' in message
        parse_origin(suggestion)  # the fix must itself be valid


def test_origin_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_origin("nonsense")


def test_origin_error_quotes_long_values_briefly() -> None:
    with pytest.raises(OriginError) as caught:
        parse_origin("https://" + "a" * 500 + "%")
    assert len(str(caught.value)) < 300


# ------------------------------------------------------------------- parse_entry


@pytest.mark.parametrize(
    ("raw", "kind", "host", "port", "text"),
    [
        ("shop.example", "bare", "shop.example", None, "shop.example"),
        ("https://Shop.Example/", "bare", "shop.example", None, "shop.example"),
        ("  https://Shop.Example./path?q#f  ", "bare", "shop.example", None, None),
        ("http://shop.example", "bare", "shop.example", None, "shop.example"),
        ("//shop.example", "bare", "shop.example", None, "shop.example"),
        ("*.shop.example", "wildcard", "shop.example", None, "*.shop.example"),
        ("*.Shop.Example.", "wildcard", "shop.example", None, "*.shop.example"),
        ("https://*.shop.example/", "wildcard", "shop.example", None, None),
        ("localhost:5173", "host_port", "localhost", 5173, "localhost:5173"),
        ("http://localhost:5173/x", "host_port", "localhost", 5173, None),
        ("Shop.Test.:8443", "host_port", "shop.test", 8443, "shop.test:8443"),
        ("[::1]:5173", "host_port", "[::1]", 5173, "[::1]:5173"),
        ("[::1]", "bare", "[::1]", None, "[::1]"),
        ("shop.example:443", "host_port", "shop.example", 443, None),
    ],
)
def test_parse_entry_strips_scheme_path_trailing_dot_and_case(
    raw: str, kind: str, host: str, port: int | None, text: str | None
) -> None:
    entry = parse_entry(raw)
    assert entry == AllowEntry(raw, kind, host, port)
    if text is not None:
        assert str(entry) == text


@pytest.mark.parametrize(
    ("raw", "fragment", "suggestion"),
    [
        ("", "is empty", None),
        ("   ", "is empty", None),
        ("shop example", "whitespace", None),
        ("*", 'lone "*"', None),
        ("*.", 'no domain after "*."', None),
        ("*..", 'no domain after "*."', None),
        ("*.*.shop.example", 'beyond the leading "*."', None),
        ("www.*.shop.example", 'not a leading "*."', None),
        ("*shop.example", 'not a leading "*."', None),
        ("*.shop.example:8443", "wildcard with a port", None),
        ("*.[::1]", "wildcard on an IPv6 address", None),
        ("user@shop.example", "user info", "shop.example"),
        ("shop.example:", "no port number", None),
        ("shop.example:http", 'invalid port "http"', None),
        ("shop.example:70000", 'invalid port "70000"', None),
        ("shop!.example", 'the character "!"', None),
        ("::1", "without [brackets]", "[::1]"),
        ("a:b:c", 'more than one ":"', None),
        ("1nvalid://shop.example", "invalid scheme", None),
        ("b\u00fccher.example", "non-ASCII", "xn--bcher-kva.example"),
        ("*.b\u00fccher.example", "non-ASCII", "*.xn--bcher-kva.example"),
        ("b\u00fccher.example:8443", "non-ASCII", "xn--bcher-kva.example:8443"),
    ],
)
def test_parse_entry_refuses_garbage_and_names_the_accepted_forms(
    raw: str, fragment: str, suggestion: str | None
) -> None:
    with pytest.raises(OriginError) as caught:
        parse_entry(raw)
    message = str(caught.value)
    assert message.startswith("Invalid allowed-origin entry")
    assert fragment in message
    assert caught.value.suggestion == suggestion
    if suggestion is None:
        assert '"*.shop.example"' in message and '"localhost:5173"' in message
    else:
        assert f'write it as "{suggestion}"' in message
        parse_entry(suggestion)


# -------------------------------------------------------------- match: allowed


@pytest.mark.parametrize(
    ("origin", "entry"),
    [
        ("https://shop.example", "shop.example"),
        ("https://shop.example:443", "shop.example"),
        ("https://SHOP.example.", "shop.example"),
        ("https://www.shop.example", "*.shop.example"),
        ("https://a.b.shop.example", "*.shop.example"),
    ],
)
def test_bare_and_wildcard_entries_admit_https_on_the_default_port(
    origin: str, entry: str
) -> None:
    result = match_origin(origin, SHOP)
    assert result == MatchResult(
        True, str(parse_origin(origin)), entry, False, [], None
    )


@pytest.mark.parametrize(
    ("origin", "entries", "matched"),
    [
        ("https://shop.example", ["https://Shop.Example/"], "https://Shop.Example/"),
        ("https://www.shop.example", ["*.Shop.Example."], "*.Shop.Example."),
        ("http://shop.test:8443", ["shop.test:8443"], "shop.test:8443"),
        ("https://shop.test:8443", ["shop.test:8443"], "shop.test:8443"),
        ("https://shop.example", ["shop.example:443"], "shop.example:443"),
        ("http://shop.example", ["shop.example:80"], "shop.example:80"),
        ("http://[::1]:5173", ["[::1]:5173"], "[::1]:5173"),
        ("https://xn--bcher-kva.example", ["XN--BCHER-KVA.example"], None),
        ("https://shop.example", ["nope", "  shop.example  "], "  shop.example  "),
    ],
)
def test_entries_match_after_normalisation_and_report_their_raw_form(
    origin: str, entries: list[str], matched: str | None
) -> None:
    result = match_origin(origin, entries)
    assert result.allowed
    assert result.matched_entry == (matched or entries[0])
    assert result.reasons == [] and result.suggestion is None


@pytest.mark.parametrize(
    "origin",
    [
        "http://localhost:5173",
        "http://localhost:3000",
        "https://localhost",
        "http://LOCALHOST.:8080",
        "https://127.0.0.1:9",
        "http://127.0.0.1",
    ],
)
@pytest.mark.parametrize("entries", [SHOP, [], ["bad entry"]])
def test_localhost_and_127_0_0_1_are_always_allowed_on_any_port(
    origin: str, entries: list[str]
) -> None:
    result = match_origin(origin, entries)
    assert result.allowed and result.always_allowed
    assert result.matched_entry is None
    assert result.origin == str(parse_origin(origin))
    assert {"localhost", "127.0.0.1"} == ALWAYS_ALLOWED_HOSTS


# -------------------------------------------------------------- match: refused


def test_plain_http_fails_bare_and_wildcard_entries_and_recommends_https() -> None:
    result = refused("http://shop.example", SHOP)
    assert "requires https" in result.reasons[0]
    assert "bare and wildcard entries accept only https" in result.reasons[0]
    # Only a host:port entry would pass http, and the microphone needs https.
    assert result.suggestion is not None
    assert '"shop.example:80"' in result.suggestion
    assert "over https" in result.suggestion and "microphone" in result.suggestion
    assert result.suggested_entry is None


def test_plain_http_on_another_port_names_that_port_but_still_recommends_https() -> (
    None
):
    result = refused("http://www.shop.example:8080", SHOP)
    assert "plain http on port 8080" in reasons_text(result)
    assert result.suggestion is not None
    assert '"www.shop.example:8080"' in result.suggestion
    assert "over https" in result.suggestion


def test_a_non_default_https_port_needs_a_host_port_entry() -> None:
    result = refused("https://shop.example:8443", SHOP)
    assert "only the default https port 443" in result.reasons[0]
    assert "port 8443" in result.reasons[0]
    assert result.suggestion == result.suggested_entry == "shop.example:8443"


def test_a_host_outside_the_list_gets_its_own_bare_entry_suggested() -> None:
    result = refused("https://evil.example", SHOP)
    assert result.reasons == [
        "No entry in the list (3 entries) names evil.example or a parent domain of it."
    ]
    assert result.suggestion == "evil.example"


def test_a_wildcard_matches_only_on_a_dot_boundary() -> None:
    result = refused("https://notshop.example", SHOP)
    text = reasons_text(result)
    assert 'names ending in ".shop.example"' in text
    assert "different domain" in text
    assert "spelling" not in text
    assert result.suggestion == "notshop.example"


def test_a_lookalike_domain_that_merely_contains_the_entry_is_refused() -> None:
    refused("https://shop.example.evil.example", SHOP)
    refused("https://www.shop.example.evil.example", ["*.shop.example"])


def test_ipv6_loopback_is_not_covered_by_the_localhost_exemption() -> None:
    result = refused("http://[::1]:5173", SHOP)
    assert "only to localhost and 127.0.0.1" in result.reasons[0]
    assert "http://localhost:5173 would pass" in result.reasons[0]
    # Loopback is a secure context, so a host:port entry is a real fix here.
    assert result.suggestion == "[::1]:5173"


@pytest.mark.parametrize(
    ("origin", "suggestion"),
    [
        ("http://app.localhost:3000", "app.localhost:3000"),
        ("http://127.0.0.2:8000", "127.0.0.2:8000"),
        ("https://[::1]", "[::1]"),
    ],
)
def test_other_loopback_names_are_explained_and_get_a_host_port_entry(
    origin: str, suggestion: str
) -> None:
    result = refused(origin, SHOP)
    assert "not covered by the built-in exemption" in result.reasons[0]
    assert result.suggestion == suggestion


@pytest.mark.parametrize("origin", [None, "", "null", "NULL"])
def test_a_missing_or_null_origin_is_refused(origin: str | None) -> None:
    result = refused(origin, SHOP)
    assert result.origin == (origin or "")
    assert "404" in result.reasons[0]
    assert "Origin header" in (result.suggestion or "")
    assert result.suggested_entry is None


def test_a_wildcard_does_not_cover_its_apex() -> None:
    result = refused("https://shop.example", ["*.shop.example"])
    assert result.reasons == [
        'Entry "*.shop.example" covers subdomains of shop.example but not '
        'shop.example itself (list "shop.example" as well).'
    ]
    assert result.suggestion == "shop.example"


def test_a_bare_domain_excludes_subdomains_and_mentions_the_wildcard() -> None:
    result = refused("https://www.shop.example", ["shop.example"])
    assert result.reasons == [
        'Entry "shop.example" is a bare domain and excludes subdomains such as '
        'www.shop.example (a wildcard entry "*.shop.example" would cover them).'
    ]
    assert result.suggestion == "www.shop.example"


def test_a_bare_subdomain_entry_does_not_cover_the_apex() -> None:
    result = refused("https://shop.example", ["www.shop.example"])
    assert "names the subdomain www.shop.example" in result.reasons[0]
    assert result.suggestion == "shop.example"


def test_a_host_port_entry_reports_a_port_only_mismatch() -> None:
    result = refused("https://shop.test:9443", ["shop.test:8443"])
    assert result.reasons == [
        'Entry "shop.test:8443" allows only port 8443, but the origin uses port 9443.'
    ]
    assert result.suggestion == "shop.test:9443"


def test_a_host_port_entry_against_a_default_port_says_default() -> None:
    result = refused("https://shop.test", ["shop.test:8443"])
    assert "the default port 443" in result.reasons[0]
    assert result.suggestion == "shop.test"


def test_a_host_port_entry_does_not_cover_subdomains() -> None:
    result = refused("https://api.shop.test:8443", ["shop.test:8443"])
    assert "not its subdomain api.shop.test" in result.reasons[0]
    assert result.suggestion == "api.shop.test:8443"


def test_an_http_scheme_written_in_an_entry_is_called_out_as_ignored() -> None:
    result = refused("http://shop.example", ["http://shop.example"])
    assert result.reasons[0].startswith(
        'Entry "http://shop.example" (read as "shop.example"; the scheme in an '
        "entry is ignored) requires https"
    )


def test_a_normalised_entry_is_shown_as_written_and_as_read() -> None:
    result = refused("https://www.shop.example", ["https://Shop.Example/"])
    assert '"https://Shop.Example/" (read as "shop.example")' in result.reasons[0]


def test_a_misspelt_entry_is_flagged_as_a_likely_typo() -> None:
    result = refused("https://shop.example", ["shop.exmaple"])
    assert "check the spelling" in result.reasons[0]
    assert result.suggestion == "shop.example"


def test_schemes_other_than_http_and_https_never_match() -> None:
    for origin in ("ftp://shop.example", "ftp://localhost", "wss://shop.example"):
        result = refused(origin, [*SHOP, "shop.example:21"])
        assert "only http and https" in result.reasons[0]
        assert result.suggestion is not None and "https://" in result.suggestion


def test_an_unparsable_origin_is_refused_with_the_parse_error_as_reason() -> None:
    result = refused("https://shop.example/", SHOP)
    assert result.origin == "https://shop.example/"
    assert 'ends with "/"' in result.reasons[0]
    assert (
        result.suggestion == 'Send a well-formed Origin such as "https://shop.example".'
    )


def test_a_unicode_origin_is_refused_and_the_punycode_form_is_named() -> None:
    result = refused("https://b\u00fccher.example", ["xn--bcher-kva.example"])
    assert "xn--bcher-kva.example" in result.reasons[0]
    assert "https://xn--bcher-kva.example" in (result.suggestion or "")


def test_invalid_entries_are_skipped_and_listed_as_reasons() -> None:
    result = refused("https://shop.test", ["*", "shop.test:99999", "other.test"])
    assert result.reasons[:2] == [
        'Ignored an invalid allowed-origin entry "*": it is a lone "*", which is '
        'not supported; expected a domain like "shop.example", a wildcard like '
        '"*.shop.example" or host:port like "localhost:5173".',
        'Ignored an invalid allowed-origin entry "shop.test:99999": it has the '
        'invalid port "99999" (use 1 to 65535); expected a domain like '
        '"shop.example", a wildcard like "*.shop.example" or host:port like '
        '"localhost:5173".',
    ]
    assert "No entry in the list (1 entry)" in result.reasons[2]
    assert match_origin("https://other.test", ["*", "other.test"]).allowed


def test_an_empty_list_admits_only_localhost() -> None:
    result = refused("https://shop.example", [])
    assert "no usable entry" in result.reasons[0]
    assert result.suggestion == "shop.example"
    assert match_origin("http://localhost:1", []).allowed


def test_duplicate_entries_give_one_reason() -> None:
    result = refused("https://shop.example", ["*.shop.example"] * 3)
    assert len(result.reasons) == 1


def test_a_single_string_is_treated_as_one_entry_not_as_characters() -> None:
    assert match_origin("https://shop.example", "shop.example").allowed


def test_any_iterable_of_entries_is_accepted() -> None:
    assert match_origin("https://shop.example", iter(SHOP)).allowed
    assert match_origin("https://www.shop.example", (e for e in SHOP)).allowed


def test_every_reason_is_one_sentence() -> None:
    result = refused("http://www.shop.example:8080", ["shop.example", "*.example"])
    for reason in result.reasons:
        assert reason.endswith(".")
        assert ". " not in reason.replace("e.g. ", "")


# ------------------------------------------------------------------- properties

# A small vocabulary makes shared suffixes, apexes and near misses common.
_label = st.sampled_from(
    ["www", "shop", "notshop", "a", "b-2", "example", "test", "localhost"]
)
_hosts = st.lists(_label, min_size=1, max_size=4).map(".".join)
_PORTS = [80, 443, 5173, 8443]
_ports = st.one_of(st.none(), st.none(), st.sampled_from(_PORTS), st.integers(1, 65535))


@st.composite
def _origins(draw: st.DrawFn) -> tuple[str, str, int | None]:
    scheme = draw(st.sampled_from(["https", "https", "http"]))
    return scheme, draw(_hosts), draw(_ports)


def _origin_text(scheme: str, host: str, port: int | None) -> str:
    return f"{scheme}://{host}" + ("" if port is None else f":{port}")


@st.composite
def _entries_near(draw: st.DrawFn, host: str) -> list[str]:
    """Entries built around ``host`` so that matches and near misses are common."""
    labels = host.split(".")
    parents = [".".join(labels[i:]) for i in range(len(labels))]
    base = draw(st.sampled_from([*parents, "www." + host, draw(_hosts)]))
    form = draw(st.sampled_from(["bare", "wildcard", "host_port"]))
    entry = {
        "bare": base,
        "wildcard": "*." + base,
        "host_port": f"{base}:{draw(st.sampled_from(_PORTS))}",
    }[form]
    return draw(st.lists(st.just(entry), min_size=1, max_size=2)) + draw(
        st.lists(_hosts, max_size=2)
    )


_Case = tuple[str, str, int | None, list[str]]


@st.composite
def _origin_and_entries(draw: st.DrawFn) -> _Case:
    scheme, host, port = draw(_origins())
    return scheme, host, port, draw(_entries_near(host))


@settings(max_examples=40, deadline=None, database=None)
@given(case=_origin_and_entries(), data=st.data())
def test_verdicts_do_not_depend_on_host_letter_case(
    case: _Case, data: st.DataObject
) -> None:
    scheme, host, port, entries = case
    mask = data.draw(st.integers(0, 2 ** len(host) - 1))
    mixed = "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(host))
    before = match_origin(_origin_text(scheme, host, port), entries)
    after = match_origin(
        _origin_text(scheme, mixed, port), [e.upper() for e in entries]
    )
    assert after.allowed == before.allowed
    assert after.always_allowed == before.always_allowed
    assert after.origin == before.origin


@settings(max_examples=50, deadline=None, database=None)
@given(case=_origin_and_entries())
def test_adding_the_suggested_entry_makes_a_refused_origin_pass(case: _Case) -> None:
    scheme, host, port, entries = case
    origin = _origin_text(scheme, host, port)
    result = match_origin(origin, entries)
    if result.allowed:
        assert result.reasons == [] and result.suggestion is None
        return
    assert result.reasons and result.suggestion
    if result.suggested_entry is not None:
        fixed = match_origin(origin, [*entries, result.suggested_entry])
        assert fixed.allowed and fixed.matched_entry == result.suggested_entry
    else:  # plain http on a public host: the sentence names a working entry
        assert parse_origin(origin).scheme == "http"
        working = result.suggestion.split('"')[3]
        assert match_origin(origin, [working]).allowed


@settings(max_examples=80, deadline=None, database=None)
@given(origin=st.one_of(st.none(), st.text()), entries=st.lists(st.text()))
def test_match_origin_never_raises_and_always_explains_a_refusal(
    origin: str | None, entries: list[str]
) -> None:
    result = match_origin(origin, entries)
    if result.allowed:
        assert result.reasons == [] and result.suggestion is None
    else:
        assert result.reasons and result.suggestion
        assert all(isinstance(reason, str) and reason for reason in result.reasons)


@settings(max_examples=60, deadline=None, database=None)
@given(
    origin=st.tuples(
        st.sampled_from(["https://", "http://", "HTTP://", "ftp://", "https:/", ""]),
        st.text(alphabet="aB0.:[]@_%-/?#", max_size=16),
    ).map("".join)
)
def test_parse_origin_either_round_trips_or_raises_origin_error(origin: str) -> None:
    try:
        parsed = parse_origin(origin)
    except OriginError as error:
        assert str(error).endswith(".")
        if error.suggestion is not None:
            parse_origin(error.suggestion)
        return
    again = parse_origin(str(parsed))
    assert (again.scheme, again.host, again.port) == (
        parsed.scheme,
        parsed.host,
        parsed.port,
    )
    assert str(again) == str(parsed)


@settings(max_examples=60, deadline=None, database=None)
@given(raw=st.text(alphabet="abc.*:/[]1@ -", max_size=20))
def test_parse_entry_is_idempotent_on_its_normalised_form(raw: str) -> None:
    try:
        entry = parse_entry(raw)
    except OriginError:
        return
    again = parse_entry(str(entry))
    assert (again.kind, again.host, again.port) == (entry.kind, entry.host, entry.port)


# ---------------------------------------------------------------- small helpers


@pytest.mark.parametrize(
    ("entry", "origin", "expected"),
    [
        ("shop.example", "https://shop.example", True),
        ("shop.example", "ftp://shop.example:443", False),
        ("shop.example:21", "ftp://shop.example", False),
        ("*.shop.example", "https://www.shop.example:443", True),
        ("*.shop.example", "wss://www.shop.example", False),
        ("localhost:5173", "http://localhost:5173", True),
        ("localhost:5173", "http://localhost:5174", False),
    ],
)
def test_allow_entry_matches_applies_the_entry_rule_alone(
    entry: str, origin: str, expected: bool
) -> None:
    assert parse_entry(entry).matches(parse_origin(origin)) is expected


def test_suggested_entry_is_none_for_an_allowed_origin() -> None:
    assert match_origin("https://shop.example", SHOP).suggested_entry is None


def test_a_unicode_host_without_a_valid_punycode_form_gets_no_guess() -> None:
    with pytest.raises(OriginError) as caught:
        parse_origin("https://" + "\u00fc" * 70 + ".example")
    assert "non-ASCII host" in str(caught.value)
    assert caught.value.suggestion is None


def test_an_absurdly_long_host_is_refused_without_fuzzy_comparison() -> None:
    host = "a" * 300 + ".example"
    result = refused(f"https://{host}", ["b" + host[1:]])
    assert "spelling" not in reasons_text(result)
