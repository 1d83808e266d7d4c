"""Origin allowlist matching, with explanations an operator can act on.

The Powsoo API compares a request's ``Origin`` header with the widget's *Allowed
origins* list on the mint and config endpoints and answers 404 on a mismatch
(spec §2.1). The sandbox, ``check-origin`` and ``diagnose`` all use this module, so
every refusal carries the reasons and the exact entry that would fix it.

Rules (spec §9; the items marked [§13] are the spec's working assumptions):

* ``shop.example`` (bare domain) matches only ``https://shop.example`` on the
  default port 443; subdomains are excluded. [§13 rows 11, 9]
* ``*.shop.example`` (wildcard) matches subdomains at any depth
  (``www.shop.example``, ``a.b.shop.example``) over https on port 443, never the
  apex ``shop.example``. The suffix must sit on a dot boundary, so
  ``notshop.example`` is not covered. [§13 rows 9-11]
* ``host:port`` (e.g. ``localhost:5173``) matches exactly that host and port, over
  http or https. [§13 row 12]
* Entries are normalised: scheme, path, one trailing dot and surrounding
  whitespace are stripped and hosts compare lower-case, so ``https://Shop.Example/``
  means ``shop.example``. [§13 row 13]
* ``localhost`` and ``127.0.0.1`` are always accepted, any port, http or https;
  ``[::1]`` is not. [§13 row 15]
* A missing, empty or ``null`` Origin is refused. [§13 row 14]

Decisions where the spec is silent:

* The Origin value is parsed strictly: exactly ``scheme://host[:port]``. A path,
  even a lone trailing ``/``, is refused, because browsers never send one. Letter
  case and one trailing dot in the host are normalised the same way as in entries,
  so ``https://SHOP.example.`` counts as ``https://shop.example``.
* An explicit default port counts as the default (``https://shop.example:443`` is
  ``https://shop.example``), as a browser would serialise it.
* Hosts must be ASCII: browsers send IDNs in punycode (``xn--...``), so a Unicode
  host, in an origin or an entry, is refused and the error names the punycode
  form when it can be derived without loss.
* Schemes other than http and https are parsed but never match, not even for
  localhost.
* Invalid entries are skipped, and a refusal lists them among its reasons.
* ``suggestion`` is the exact entry to add whenever one makes the origin pass and
  still leaves a working widget. Plain http outside loopback passes a
  ``host:port`` entry, but browsers give the microphone only to secure contexts,
  so the suggestion there is a sentence recommending https.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ALWAYS_ALLOWED_HOSTS",
    "AllowEntry",
    "MatchResult",
    "Origin",
    "OriginError",
    "match_origin",
    "parse_entry",
    "parse_origin",
]

#: Hosts accepted whatever the list says, on any port, over http or https (§9).
ALWAYS_ALLOWED_HOSTS: frozenset[str] = frozenset({"localhost", "127.0.0.1"})

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_WEB_SCHEMES = ("http", "https")
_SCHEME_RE = re.compile(r"[a-z][a-z0-9+.-]*")
_HOST_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.")
_EXAMPLE_ORIGIN = '"https://shop.example"'
_ENTRY_FORMS = (
    'a domain like "shop.example", a wildcard like "*.shop.example" '
    'or host:port like "localhost:5173"'
)


class OriginError(ValueError):
    """An origin or allowlist entry that cannot be parsed.

    ``str()`` is one sentence saying what is wrong and the expected form;
    ``suggestion`` holds a corrected value when one can be derived safely.
    """

    def __init__(self, message: str, *, suggestion: str | None = None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


class _Problem(Exception):
    """Internal: a clause describing a bad host or port, plus a corrected host."""

    def __init__(self, clause: str, fixed_host: str | None = None) -> None:
        super().__init__(clause)
        self.clause = clause
        self.fixed_host = fixed_host


@dataclass(frozen=True)
class Origin:
    """A parsed ``Origin`` header value.

    ``port`` is explicit or the scheme default; it is 0 for a scheme with no known
    default when no port is given (such origins never match anyway).
    """

    scheme: str
    host: str
    port: int
    explicit_port: bool

    def __str__(self) -> str:
        # Browsers omit the port when it is the scheme's default.
        if self.explicit_port and self.port != _DEFAULT_PORTS.get(self.scheme):
            return f"{self.scheme}://{self.host}:{self.port}"
        return f"{self.scheme}://{self.host}"


@dataclass(frozen=True)
class AllowEntry:
    """One normalised entry of a widget's allowed-origins list."""

    raw: str
    kind: str  # "bare" | "wildcard" | "host_port"
    host: str  # for a wildcard: the suffix without "*."
    port: int | None  # only for host_port

    def __str__(self) -> str:
        if self.kind == "wildcard":
            return f"*.{self.host}"
        if self.kind == "host_port":
            return f"{self.host}:{self.port}"
        return self.host

    def matches(self, origin: Origin) -> bool:
        """Whether this entry admits ``origin`` (the localhost exemption aside)."""
        if origin.scheme not in _WEB_SCHEMES:
            return False
        if self.kind == "host_port":
            return origin.host == self.host and origin.port == self.port
        if origin.scheme != "https" or origin.port != 443:
            return False
        if self.kind == "wildcard":
            return origin.host.endswith("." + self.host)
        return origin.host == self.host


@dataclass(frozen=True)
class MatchResult:
    """The verdict for one origin against one list, with its explanation."""

    allowed: bool
    origin: str  # normalised; the raw value if unparsable; "" if missing
    matched_entry: str | None  # raw form of the entry that matched
    always_allowed: bool  # the localhost / 127.0.0.1 exemption applied
    reasons: list[str]  # why not, one sentence each; empty when allowed
    suggestion: str | None  # entry to add, or a sentence; None when allowed

    @property
    def suggested_entry(self) -> str | None:
        """``suggestion`` when it is an entry that can be added verbatim."""
        if self.suggestion is None:
            return None
        try:
            parse_entry(self.suggestion)
        except OriginError:
            return None
        return self.suggestion


# --------------------------------------------------------------------- parsing


def _q(text: str) -> str:
    """Quote a user-supplied value for a message, bounded and printable."""
    if len(text) > 80:
        text = text[:77] + "..."
    return f'"{text}"' if text.isprintable() else repr(text)


def _punycode(host: str) -> str | None:
    """The ASCII form of a Unicode host, if Python's codec maps it losslessly."""
    try:
        ascii_host = host.encode("idna").decode("ascii")
        # IDNA 2003 maps e.g. "ß" to "ss" where browsers keep it; refuse those.
        if ascii_host.encode("ascii").decode("idna") != host:
            return None
    except UnicodeError:
        return None
    return ascii_host


def _normalise_host(text: str) -> str:
    """Lower-case, strip one trailing dot and validate; IPv6 stays bracketed."""
    if text.startswith("["):
        inner = text[1:-1] if text.endswith("]") else text[1:]
        if "%" in inner:  # zone ids are host-local; browsers refuse them in URLs
            raise _Problem(f"has an IPv6 zone id in {_q(text)}")
        try:
            address = ipaddress.IPv6Address(inner)
        except ValueError:
            raise _Problem(f"has an invalid IPv6 host {_q(text)}") from None
        return f"[{address.compressed}]"
    if ":" in text:
        try:
            fixed = f"[{ipaddress.IPv6Address(text).compressed}]"
        except ValueError:
            raise _Problem(f'has more than one ":" in {_q(text)}') from None
        raise _Problem("has an IPv6 host without [brackets]", fixed)
    host = text.lower()
    if host.endswith("."):
        host = host[:-1]  # a fully qualified name; same host (§13 row 13)
    if not host:
        raise _Problem("has no host")
    if not host.isascii():
        puny = _punycode(host)
        hint = f' (browsers send the punycode form "{puny}")' if puny else ""
        raise _Problem(f"has a non-ASCII host {_q(host)}{hint}", puny)
    if _HOST_RE.fullmatch(host) is None:
        bad = sorted(set(host) - _HOST_CHARS)
        if bad:
            raise _Problem(
                f"has the character {_q(bad[0])} in its host, but a host may hold "
                'only letters, digits, "-", "_" and dots'
            )
        raise _Problem(f"has an empty label in its host {_q(host)}")
    return host


def _parse_port(text: str) -> int:
    if not text:
        raise _Problem('has a ":" but no port number')
    if not (text.isascii() and text.isdigit()) or int(text) not in range(1, 65536):
        raise _Problem(f"has the invalid port {_q(text)} (use 1 to 65535)")
    return int(text)


def _split_host_port(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        end = authority.find("]")
        if end == -1:
            raise _Problem(f"has an unclosed IPv6 bracket in {_q(authority)}")
        host, rest = authority[: end + 1], authority[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise _Problem(f"has {_q(rest)} after its IPv6 host")
        return host, rest[1:]
    if authority.count(":") > 1:
        return authority, None  # bare IPv6; _normalise_host explains
    host, colon, port = authority.partition(":")
    return host, port if colon else None


def _first_cut(text: str) -> int:
    """Index of the first path, query or fragment delimiter, or -1."""
    cuts = [i for i in (text.find(c) for c in "/?#") if i != -1]
    return min(cuts) if cuts else -1


def _try_origin(candidate: str) -> str | None:
    try:
        return str(parse_origin(candidate))
    except OriginError:
        return None


def _origin_error(value: str, what: str, fixed: str | None) -> OriginError:
    example = f'"{fixed}"' if fixed else _EXAMPLE_ORIGIN
    return OriginError(
        f"The origin {_q(value)} {what}; expected scheme://host[:port], "
        f"e.g. {example}.",
        suggestion=fixed,
    )


def _is_loopback_like(host: str) -> bool:
    """Hosts browsers treat as secure contexts even over plain http."""
    return (
        host in ALWAYS_ALLOWED_HOSTS
        or host == "[::1]"
        or host.endswith(".localhost")
        or re.fullmatch(r"127(?:\.[0-9]{1,3}){3}", host) is not None
    )


def parse_origin(value: str) -> Origin:
    """Parse an ``Origin`` value strictly: ``scheme://host[:port]`` and nothing else.

    Raises ``OriginError`` whose message names the problem and a corrected form.
    """
    if value == "":
        raise _origin_error(value, "is empty", None)
    if value.lower() == "null":
        raise _origin_error(
            value,
            "is what browsers send for file:// pages and sandboxed frames, "
            "and it never matches",
            None,
        )
    if any(c.isspace() for c in value):
        trimmed = value.strip()
        fixed = _try_origin(trimmed) if trimmed != value else None
        raise _origin_error(value, "contains whitespace", fixed)
    if not value.isprintable():
        raise _origin_error(value, "contains a control character", None)

    sep = value.find("://")
    if sep == -1:
        scheme_typo = re.fullmatch(r"(https?|wss?):/*(.*)", value, re.IGNORECASE)
        if scheme_typo:
            fixed = _try_origin(f"{scheme_typo[1]}://{scheme_typo[2]}")
            raise _origin_error(value, "has a malformed scheme separator", fixed)
        head = value.lstrip("/")
        cut = _first_cut(head)
        head = head if cut == -1 else head[:cut]
        fixed = _try_origin(f"https://{head}")
        if fixed is not None and _is_loopback_like(parse_origin(fixed).host):
            fixed = _try_origin(f"http://{head}")  # dev servers rarely have TLS
        raise _origin_error(value, "has no scheme", fixed)

    scheme = value[:sep].lower()
    if _SCHEME_RE.fullmatch(scheme) is None:
        raise _origin_error(value, f"has the invalid scheme {_q(value[:sep])}", None)
    rest = value[sep + 3 :]
    cut = _first_cut(rest)
    if cut != -1:
        fixed = _try_origin(f"{scheme}://{rest[:cut]}")
        what = (
            'ends with "/", which browsers never send'
            if rest[cut:] == "/"
            else f"has a path, query or fragment ({_q(rest[cut:])}) after the host"
        )
        raise _origin_error(value, what, fixed)
    if "@" in rest:
        fixed = _try_origin(f"{scheme}://{rest.rpartition('@')[2]}")
        raise _origin_error(value, "contains user info before the host", fixed)

    host_text = rest
    try:
        host_text, port_text = _split_host_port(rest)
        host = _normalise_host(host_text)
        port = None if port_text is None else _parse_port(port_text)
    except _Problem as problem:
        fixed = None
        if problem.fixed_host is not None:
            port_tail = rest[len(host_text) :]  # keep the port the user wrote
            fixed = _try_origin(f"{scheme}://{problem.fixed_host}{port_tail}")
        raise _origin_error(value, problem.clause, fixed) from None
    if port is None:
        return Origin(scheme, host, _DEFAULT_PORTS.get(scheme, 0), False)
    return Origin(scheme, host, port, True)


def _entry_error(raw: str, what: str, fixed: str | None = None) -> OriginError:
    expected = f'write it as "{fixed}"' if fixed else f"expected {_ENTRY_FORMS}"
    return OriginError(
        f"Invalid allowed-origin entry {_q(raw)}: it {what}; {expected}.",
        suggestion=fixed,
    )


def parse_entry(raw: str) -> AllowEntry:
    """Parse and normalise one allowed-origins entry (§9, §13 row 13).

    Raises ``OriginError`` for entries that cannot mean anything.
    """
    text = raw.strip()  # stored lists may carry stray spaces around an entry
    if not text:
        raise _entry_error(raw, "is empty")
    if any(c.isspace() for c in text) or not text.isprintable():
        raise _entry_error(raw, "contains whitespace or a control character")
    sep = text.find("://")
    if sep != -1:
        if _SCHEME_RE.fullmatch(text[:sep].lower()) is None:
            raise _entry_error(raw, f"has the invalid scheme {_q(text[:sep])}")
        text = text[sep + 3 :]
    elif text.startswith("//"):
        text = text[2:]
    cut = _first_cut(text)
    if cut != -1:
        text = text[:cut]
    if "@" in text:
        fixed = _try_entry(text.rpartition("@")[2])
        raise _entry_error(raw, "contains user info before the host", fixed)

    if text == "*":
        raise _entry_error(raw, 'is a lone "*", which is not supported')
    if text.startswith("*."):
        suffix = text[2:]
        if "*" in suffix:
            raise _entry_error(raw, 'has a "*" beyond the leading "*."')
        if not suffix or suffix == ".":
            raise _entry_error(raw, 'has no domain after "*."')
        if suffix.startswith("["):
            raise _entry_error(raw, "puts a wildcard on an IPv6 address")
        if ":" in suffix:
            raise _entry_error(raw, "is a wildcard with a port, which is not supported")
        try:
            host = _normalise_host(suffix)
        except _Problem as problem:
            fixed = None if problem.fixed_host is None else f"*.{problem.fixed_host}"
            raise _entry_error(raw, problem.clause, fixed) from None
        return AllowEntry(raw, "wildcard", host, None)
    if "*" in text:
        raise _entry_error(raw, 'has a "*" that is not a leading "*."')

    host_text = text
    try:
        host_text, port_text = _split_host_port(text)
        host = _normalise_host(host_text)
        port = None if port_text is None else _parse_port(port_text)
    except _Problem as problem:
        fixed = None
        if problem.fixed_host is not None:
            fixed = _try_entry(problem.fixed_host + text[len(host_text) :])
        raise _entry_error(raw, problem.clause, fixed) from None
    if port is None:
        return AllowEntry(raw, "bare", host, None)
    return AllowEntry(raw, "host_port", host, port)


def _try_entry(candidate: str) -> str | None:
    try:
        return str(parse_entry(candidate))
    except OriginError:
        return None


# -------------------------------------------------------------------- matching


def _label(entry: AllowEntry) -> str:
    """How a reason names an entry: as written, plus its reading if different."""
    written, normal = entry.raw.strip(), str(entry)
    if written == normal:
        return f'"{normal}"'
    if written.lower().startswith("http://") and entry.kind != "host_port":
        # The misleading case: "http://" in an entry does not admit http pages.
        return f'{_q(written)} (read as "{normal}"; the scheme in an entry is ignored)'
    return f'{_q(written)} (read as "{normal}")'


def _port_phrase(origin: Origin) -> str:
    if origin.explicit_port and origin.port != _DEFAULT_PORTS[origin.scheme]:
        return f"port {origin.port}"
    return f"the default port {origin.port}"


def _https_only(label: str, origin: Origin) -> str:
    """Why a bare/wildcard entry covering the host still refuses the origin."""
    if origin.scheme == "https":
        return (
            f"Entry {label} allows only the default https port 443, but the origin "
            f"uses port {origin.port}."
        )
    if origin.port == 80:
        return (
            f"Entry {label} requires https, but the origin uses plain http (bare "
            "and wildcard entries accept only https on port 443)."
        )
    return (
        f"Entry {label} requires https on the default port 443, but the origin is "
        f"plain http on port {origin.port}."
    )


def _similar(a: str, b: str) -> bool:
    if max(len(a), len(b)) > 253:  # no real hostname is longer; bound the work
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= 0.8


def _near_miss(origin: Origin, entry: AllowEntry) -> str | None:
    """One sentence on why a related entry does not admit the origin, else None."""
    host, label = origin.host, _label(entry)
    if entry.kind == "wildcard":
        if host == entry.host:
            return (
                f"Entry {label} covers subdomains of {entry.host} but not "
                f'{entry.host} itself (list "{entry.host}" as well).'
            )
        if host.endswith("." + entry.host):
            return _https_only(label, origin)
        if host.endswith(entry.host):
            return (
                f'Entry {label} covers only names ending in ".{entry.host}", and '
                f"{host} is a different domain."
            )
        if entry.host.endswith("." + host):
            return f"Entry {label} covers only subdomains of {entry.host}, not {host}."
    elif entry.kind == "bare":
        if host == entry.host:
            return _https_only(label, origin)
        if host.endswith("." + entry.host):
            return (
                f"Entry {label} is a bare domain and excludes subdomains such as "
                f'{host} (a wildcard entry "*.{entry.host}" would cover them).'
            )
        if entry.host.endswith("." + host):
            return f"Entry {label} names the subdomain {entry.host}, not {host} itself."
    else:
        if host == entry.host:
            return (
                f"Entry {label} allows only port {entry.port}, but the origin uses "
                f"{_port_phrase(origin)}."
            )
        if host.endswith("." + entry.host):
            return (
                f"Entry {label} matches exactly the host {entry.host}, not its "
                f"subdomain {host}."
            )
        if entry.host.endswith("." + host):
            return f"Entry {label} names the host {entry.host}, not {host}."
    if host.endswith(entry.host):
        return f"Entry {label} is for {entry.host}, a different domain from {host}."
    if _similar(host, entry.host):
        return (
            f"Entry {label} is for {entry.host}, which is not the origin's host "
            f"{host} (check the spelling)."
        )
    return None


def _suggestion(origin: Origin) -> str:
    """The entry that admits ``origin``, or a sentence when http would be a trap."""
    host = origin.host
    if origin.scheme == "https" and origin.port == 443:
        return host
    if origin.scheme == "https" or _is_loopback_like(host):
        return f"{host}:{origin.port}"
    # Plain http on a real host passes a host:port entry, but getUserMedia needs a
    # secure context, so the widget could not use the microphone there.
    return (
        f'Serve the page over https and add "{host}"; an entry '
        f'"{host}:{origin.port}" would let this http origin through, but browsers '
        "block the microphone on plain http pages other than localhost."
    )


def _refused(origin: str, reasons: list[str], suggestion: str) -> MatchResult:
    unique = list(dict.fromkeys(reasons))  # duplicate entries, duplicate reasons
    return MatchResult(False, origin, None, False, unique, suggestion)


def match_origin(origin: str | None, entries: Iterable[str]) -> MatchResult:
    """Decide whether ``origin`` passes the allowlist ``entries``, and explain.

    Never raises: a missing or unparsable origin is refused with a reason.
    """
    if isinstance(entries, str):  # a lone entry passed by mistake, not its chars
        entries = [entries]
    raw_entries = list(entries)

    if origin is None or origin == "" or origin.lower() == "null":
        why = (
            "The request has no Origin header"
            if not origin
            else 'The request\'s Origin is "null" (a file:// page, sandboxed frame '
            "or privacy redirect)"
        )
        return _refused(
            origin or "",
            [f"{why}, and the API refuses such requests with 404."],
            "Call the API from a page served over https whose origin is on the "
            "list, or set an explicit Origin header such as "
            f"{_EXAMPLE_ORIGIN} when testing from a terminal.",
        )
    try:
        parsed = parse_origin(origin)
    except OriginError as error:
        fix = (
            f'Send a well-formed Origin such as "{error.suggestion}".'
            if error.suggestion
            else f"Send a well-formed Origin such as {_EXAMPLE_ORIGIN}."
        )
        return _refused(origin, [str(error)], fix)

    shown = str(parsed)
    if parsed.scheme not in _WEB_SCHEMES:
        return _refused(
            shown,
            [
                f"The origin uses the scheme {_q(parsed.scheme)}, but only http and "
                "https pages can pass the origin check."
            ],
            f'Load the widget from a page served over https, e.g. "https://'
            f'{parsed.host}".',
        )
    if parsed.host in ALWAYS_ALLOWED_HOSTS:
        return MatchResult(True, shown, None, True, [], None)

    valid: list[AllowEntry] = []
    reasons: list[str] = []
    close = False
    if _is_loopback_like(parsed.host):
        instead = Origin(parsed.scheme, "localhost", parsed.port, parsed.explicit_port)
        reasons.append(
            f"{parsed.host} is not covered by the built-in exemption, which applies "
            f"only to localhost and 127.0.0.1 ({instead} would pass)."
        )
    for raw in raw_entries:
        try:
            entry = parse_entry(raw)
        except OriginError as error:
            message = str(error)  # "Invalid allowed-origin entry ..."
            reasons.append(f"Ignored an {message[0].lower()}{message[1:]}")
            continue
        if entry.matches(parsed):
            return MatchResult(True, shown, raw, False, [], None)
        valid.append(entry)
        near = _near_miss(parsed, entry)
        if near is not None:
            reasons.append(near)
            close = True

    if not close:
        if valid:
            count = f"{len(valid)} entr{'y' if len(valid) == 1 else 'ies'}"
            reasons.append(
                f"No entry in the list ({count}) names {parsed.host} or a parent "
                "domain of it."
            )
        else:
            reasons.append(
                "The allowed-origins list has no usable entry, so only localhost "
                "and 127.0.0.1 pages are accepted."
            )
    return _refused(shown, reasons, _suggestion(parsed))
