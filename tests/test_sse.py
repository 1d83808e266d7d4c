"""The SSE decoder against the WHATWG "event stream interpretation" rules.

Every stream is fed whole, one byte at a time, split at every possible point and
in seeded random chunkings; all must give the same events.
"""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from powsoo_cli.sse import EventTooLarge, SSEDecoder, SSEMessage, iter_messages

BOM = b"\xef\xbb\xbf"


def msg(
    data: str, event: str = "message", id: str = "", retry: int | None = None
) -> SSEMessage:
    return SSEMessage(event=event, data=data, id=id, retry=retry)


def split_at(stream: bytes, cuts: list[int]) -> list[bytes]:
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[a:b] for a, b in itertools.pairwise(bounds)]


def chunkings(stream: bytes) -> Iterator[list[bytes]]:
    yield [stream]
    yield [stream[i : i + 1] for i in range(len(stream))]
    for cut in range(len(stream) + 1):
        yield [stream[:cut], stream[cut:]]
    rng = random.Random(stream)
    for _ in range(20):
        cuts = [rng.randrange(len(stream) + 1) for _ in range(rng.randrange(1, 9))]
        yield split_at(stream, cuts)


def decode(chunks: list[bytes], decoder: SSEDecoder | None = None) -> list[SSEMessage]:
    decoder = decoder or SSEDecoder()
    out: list[SSEMessage] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    out.extend(decoder.close())
    return out


def assert_decodes(stream: bytes, expected: list[SSEMessage]) -> None:
    for chunks in chunkings(stream):
        assert decode(chunks) == expected, chunks


def test_data_line_then_blank_line_dispatches_a_message_event() -> None:
    assert_decodes(b"data: hello\n\n", [msg("hello")])


def test_leading_bom_is_stripped() -> None:
    assert_decodes(BOM + b"data: a\n\n", [msg("a")])


def test_only_one_leading_bom_is_stripped() -> None:
    # The second BOM becomes part of the field name "\ufeffdata", unknown.
    assert_decodes(BOM + BOM + b"data: a\n\ndata: b\n\n", [msg("b")])


def test_bom_after_the_start_is_not_stripped() -> None:
    assert_decodes(b"data: a\n\n" + BOM + b"data: b\n\n", [msg("a")])
    assert_decodes(b"data: " + BOM + b"\n\n", [msg("\ufeff")])


@pytest.mark.parametrize("end", [b"\n", b"\r", b"\r\n"])
def test_lf_cr_and_crlf_each_end_a_line(end: bytes) -> None:
    stream = b"data: a" + end + b"data: b" + end + end + b"data: c" + end + end
    assert_decodes(stream, [msg("a\nb"), msg("c")])


def test_mixed_line_ends_in_one_stream() -> None:
    assert_decodes(b"data: a\r\ndata: b\rdata: c\n\r\n", [msg("a\nb\nc")])


def test_crlf_split_across_chunks_is_one_line_end() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r\n") == [msg("a\nb")]


def test_lf_then_cr_is_two_line_ends() -> None:
    assert_decodes(b"data: a\n\r", [msg("a")])


def test_cr_then_cr_is_two_line_ends() -> None:
    assert_decodes(b"data: a\r\rdata: b\r\r", [msg("a"), msg("b")])


def test_event_ended_by_cr_is_dispatched_without_waiting_for_more_bytes() -> None:
    assert SSEDecoder().feed(b"data: a\r\r") == [msg("a")]


def test_unicode_line_separators_are_not_line_ends() -> None:
    # str.splitlines() would split at every one of these; SSE must not.
    odd = "a\u2028b\u2029c\x0bd\x0ce\x1cf\x1dg\x1eh\x85i"
    assert_decodes(f"data: {odd}\n\n".encode(), [msg(odd)])
    assert_decodes("data: a\u2028b\n\n".encode(), [msg("a\u2028b")])


def test_comment_lines_are_ignored() -> None:
    stream = b": hello\ndata: a\n:\n:data: b\n\n: only a comment\n\n"
    assert_decodes(stream, [msg("a")])


def test_multi_line_data_is_joined_with_lf() -> None:
    assert_decodes(b"data: a\ndata: b\ndata: c\n\n", [msg("a\nb\nc")])


def test_only_one_trailing_lf_is_removed_from_data() -> None:
    assert_decodes(b"data: a\ndata\n\n", [msg("a\n")])
    assert_decodes(b"data\ndata\n\n", [msg("\n")])


def test_empty_data_field_dispatches_an_empty_message() -> None:
    # The data buffer is "\n", not "", so the event is dispatched.
    assert_decodes(b"data:\n\n", [msg("")])
    assert_decodes(b"data\n\n", [msg("")])


def test_value_with_and_without_space_after_colon() -> None:
    assert_decodes(b"data:a\n\ndata: a\n\n", [msg("a"), msg("a")])


def test_only_one_leading_space_is_removed_from_value() -> None:
    assert_decodes(b"data:  a \n\n", [msg(" a ")])
    assert_decodes(b"data:\t a\n\n", [msg("\t a")])


def test_colons_after_the_first_belong_to_the_value() -> None:
    assert_decodes(b'data: {"a": "b:c"}\n\n', [msg('{"a": "b:c"}')])


def test_line_without_colon_is_field_name_with_empty_value() -> None:
    assert_decodes(b"event: x\nevent\ndata: a\n\n", [msg("a")])
    assert_decodes(b"id: 1\nid\ndata: a\n\n", [msg("a")])


def test_event_field_sets_the_type_for_one_event_only() -> None:
    stream = b"event: update\ndata: a\n\ndata: b\n\n"
    assert_decodes(stream, [msg("a", event="update"), msg("b")])


def test_empty_event_field_gives_message_type() -> None:
    assert_decodes(b"event:\ndata: a\n\n", [msg("a")])


def test_event_type_of_undispatched_block_does_not_leak() -> None:
    assert_decodes(b"event: x\n\ndata: a\n\n", [msg("a")])


def test_id_persists_across_events() -> None:
    stream = b"id: 7\ndata: a\n\ndata: b\n\nid: 8\ndata: c\n\n"
    expected = [msg("a", id="7"), msg("b", id="7"), msg("c", id="8")]
    assert_decodes(stream, expected)


def test_id_before_or_after_data_in_a_block_applies_to_it() -> None:
    assert_decodes(b"data: a\nid: 3\n\n", [msg("a", id="3")])


def test_empty_id_resets_the_last_event_id() -> None:
    stream = b"id: 7\ndata: a\n\nid\ndata: b\n\n"
    assert_decodes(stream, [msg("a", id="7"), msg("b", id="")])


def test_id_containing_null_is_ignored() -> None:
    stream = b"id: 1\ndata: a\n\nid: 2\x003\ndata: b\n\n"
    assert_decodes(stream, [msg("a", id="1"), msg("b", id="1")])


def test_null_in_data_is_kept() -> None:
    assert_decodes(b"data: a\x00b\n\n", [msg("a\x00b")])


def test_last_event_id_is_readable_and_set_at_blank_lines() -> None:
    decoder = SSEDecoder()
    assert decoder.last_event_id == ""
    decoder.feed(b"id: 1\ndata: a\n\nid: 2\n")
    assert decoder.last_event_id == "1"
    decoder.feed(b"\n")
    assert decoder.last_event_id == "2"


def test_retry_sets_reconnection_time() -> None:
    decoder = SSEDecoder()
    assert decoder.retry_ms is None
    assert decoder.feed(b"retry: 2500\ndata: a\n\n") == [msg("a", retry=2500)]
    assert decoder.retry_ms == 2500
    assert decoder.feed(b"data: b\n\n") == [msg("b")]
    assert decoder.retry_ms == 2500


@pytest.mark.parametrize(
    "value",
    ["-5", "+5", " 5", "5 ", "1_000", "5.0", "1e3", "", "abc", "\u0665", "\uff15"],
)
def test_retry_that_is_not_only_ascii_digits_is_ignored(value: str) -> None:
    stream = f"retry: 9\n\nretry: {value}\ndata: a\n\n".encode()
    for chunks in chunkings(stream):
        decoder = SSEDecoder()
        assert decode(chunks, decoder) == [msg("a")]
        assert decoder.retry_ms == 9


def test_retry_with_leading_zeros_and_huge_values_is_parsed() -> None:
    assert_decodes(b"retry: 007\ndata: a\n\n", [msg("a", retry=7)])
    digits = "9" * 5000  # past the default int() limit of 4300 digits
    decoder = SSEDecoder()
    [message] = decoder.feed(f"retry: {digits}\ndata: a\n\n".encode())
    assert message.retry == decoder.retry_ms == 10 ** len(digits) - 1


def test_block_without_data_is_not_dispatched_but_id_and_retry_apply() -> None:
    stream = b"event: x\nid: 4\nretry: 100\n\ndata: a\n\n"
    for chunks in chunkings(stream):
        decoder = SSEDecoder()
        assert decode(chunks, decoder) == [msg("a", id="4")]
        assert decoder.retry_ms == 100
        assert decoder.last_event_id == "4"


def test_heartbeats_after_an_id_dispatch_nothing() -> None:
    stream = b"id: 1\ndata: a\n\n\n\n:keepalive\n\n"
    assert_decodes(stream, [msg("a", id="1")])


def test_unknown_fields_are_ignored() -> None:
    stream = b"foo: bar\nData: x\ndata : y\nDATA: z\n\ndata: a\nbaz\n\n"
    assert_decodes(stream, [msg("a")])


def test_unterminated_last_event_is_not_dispatched() -> None:
    assert_decodes(b"data: a\n\ndata: b", [msg("a")])
    assert_decodes(b"data: a\n\ndata: b\n", [msg("a")])
    assert_decodes(b"data: a\n\ndata: b\r\n", [msg("a")])


def test_id_of_unterminated_event_never_becomes_the_last_event_id() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"id: 1\ndata: a\n\nid: 2\ndata: b\n") == [msg("a", id="1")]
    assert decoder.close() == []
    assert decoder.last_event_id == "1"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        # Expected per the WHATWG UTF-8 decoder: one U+FFFD per maximal subpart.
        (b"\xff", "\ufffd"),
        (b"\xc3", "\ufffd"),
        (b"\xe2\x82", "\ufffd"),
        (b"\xe2\x82A", "\ufffdA"),
        (b"\xc0\xaf", "\ufffd\ufffd"),
        (b"\xe0\x80", "\ufffd\ufffd"),
        (b"\xed\xa0\x80", "\ufffd\ufffd\ufffd"),
        (b"\xf0\x80\x80", "\ufffd\ufffd\ufffd"),
        (b"\xf4\x90\x80\x80", "\ufffd\ufffd\ufffd\ufffd"),
        (b"\xf0\x9f\x98", "\ufffd"),
    ],
)
def test_invalid_utf8_decodes_to_replacement_characters(raw: bytes, text: str) -> None:
    assert_decodes(b"data: " + raw + b"\n\n", [msg(text)])


def test_invalid_utf8_at_end_of_stream_does_not_dispatch() -> None:
    assert_decodes(b"data: a\n\ndata: \xe2\x82", [msg("a")])


def test_multibyte_characters_split_across_chunks_decode_correctly() -> None:
    text = "é€😀\u2028"
    assert_decodes(f"event: ü\ndata: {text}\n\n".encode(), [msg(text, event="ü")])


def test_chunk_of_no_bytes_is_harmless() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"") == []
    assert decoder.feed(BOM[:1]) == []
    assert decoder.feed(b"") == []
    assert decoder.feed(BOM[1:] + b"data: a\n\n") == [msg("a")]


def test_close_resets_the_stream_but_keeps_id_and_retry_for_a_reconnect() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 5\nretry: 300\ndata: a\n\nevent: x\ndata: half")
    assert decoder.close() == []
    assert (decoder.last_event_id, decoder.retry_ms) == ("5", 300)

    # A new stream: a BOM at its start is stripped again, the half event is
    # gone, and the ID in force carries on.
    assert decoder.feed(BOM + b"data: b\n\n") == [msg("b", id="5")]


def test_iter_messages_yields_every_event_in_order() -> None:
    chunks = [b"data: a\n", b"\nid: 1\ndata: b\n\nda", b"ta: c\n\ndata: d"]
    assert list(iter_messages(chunks)) == [msg("a"), msg("b", id="1"), msg("c", id="1")]


def test_messages_are_frozen_and_slotted() -> None:
    message = msg("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        message.data = "b"  # type: ignore[misc]
    assert not hasattr(message, "__dict__")
    assert message == SSEMessage("message", "a", "", None)
    assert repr(message) == "SSEMessage(event='message', data='a', id='', retry=None)"


def test_incomplete_line_over_the_limit_raises_event_too_large() -> None:
    decoder = SSEDecoder(max_event_bytes=10)
    decoder.feed(b"data: 1234")
    with pytest.raises(EventTooLarge, match="max_event_bytes limit of 10 bytes"):
        decoder.feed(b"5")


def test_data_over_the_limit_raises_event_too_large_in_any_chunking() -> None:
    stream = b"data: 12345\ndata: 1234\n\n"
    for chunks in chunkings(stream):
        with pytest.raises(EventTooLarge):
            decode(chunks, SSEDecoder(max_event_bytes=9))
    for chunks in chunkings(stream):
        assert decode(chunks, SSEDecoder(max_event_bytes=11)) == [msg("12345\n1234")]


def test_line_and_data_exactly_at_the_limit_are_accepted() -> None:
    stream = b"data:0123\ndata:45678\n\n"
    for chunks in chunkings(stream):
        assert decode(chunks, SSEDecoder(10)) == [msg("0123\n45678")]
    with pytest.raises(EventTooLarge, match="data buffer of at least 11 bytes"):
        decode([b"data:01234\ndata:56789\n\n"], SSEDecoder(10))


def test_limit_counts_utf8_bytes_not_characters() -> None:
    # Each line is 7 characters but 9 bytes; the data 8 characters, 14 bytes.
    stream = "data:éé\ndata:éé\ndata:éé\n\n".encode()
    assert decode([stream], SSEDecoder(14)) == [msg("éé\néé\néé")]
    with pytest.raises(EventTooLarge, match="data buffer of at least 14 bytes"):
        decode([stream], SSEDecoder(13))
    with pytest.raises(EventTooLarge, match="line of at least 9 bytes"):
        decode([stream], SSEDecoder(8))


def test_any_line_over_the_limit_raises_in_any_chunking() -> None:
    # Whether the line is still incomplete when the limit is crossed depends
    # on the chunking; the outcome must not.
    for stream in (b"event: abcdefgh\n", b": long comment\n", b"data: 0123456789\n"):
        for chunks in chunkings(stream):
            with pytest.raises(EventTooLarge, match="SSE line of at least"):
                decode(chunks, SSEDecoder(10))


def test_event_too_large_keeps_events_decoded_before_it_and_resets() -> None:
    decoder = SSEDecoder(max_event_bytes=8)
    with pytest.raises(EventTooLarge) as caught:
        decoder.feed(b"id: 1\ndata: a\n\ndata: much too long\n\n")
    assert caught.value.messages == [msg("a", id="1")]
    assert caught.value.limit == 8
    assert decoder.last_event_id == "1"
    assert decoder.feed(b"data: b\n\n") == [msg("b", id="1")]


def test_no_limit_by_default() -> None:
    big = b"x" * 1_000_000
    assert decode([b"data: ", big, b"\n\n"]) == [msg(big.decode())]


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        SSEDecoder(max_event_bytes=0)


# Property tests.

_line_text = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
    max_size=8,
)


@dataclasses.dataclass
class _Event:
    comment: str | None
    event: str | None
    id: str | None
    retry: int | None
    data: list[str]


_events = st.lists(
    st.builds(
        _Event,
        comment=st.none() | _line_text,
        event=st.none() | _line_text,
        id=st.none() | _line_text,
        retry=st.none() | st.integers(0, 10**12),
        data=st.lists(_line_text, max_size=3),
    ),
    max_size=6,
)


def _serialise(events: list[_Event]) -> tuple[list[str], list[SSEMessage], str]:
    """The lines of a stream, the messages it must give, the final last ID."""
    lines: list[str] = []
    expected: list[SSEMessage] = []
    last_id = ""
    for event in events:
        if event.comment is not None:
            lines.append(f":{event.comment}")
        if event.event is not None:
            lines.append(f"event: {event.event}")
        if event.id is not None:
            lines.append(f"id: {event.id}")
            if "\0" not in event.id:
                last_id = event.id
        if event.retry is not None:
            lines.append(f"retry: {event.retry}")
        lines.extend(f"data: {value}" for value in event.data)
        lines.append("")
        if event.data:
            data = "\n".join(event.data)
            kind = event.event or "message"
            expected.append(SSEMessage(kind, data, last_id, event.retry))
    return lines, expected, last_id


@settings(max_examples=100, deadline=None)
@given(events=_events, bom=st.booleans(), data=st.data())
def test_any_events_with_any_line_ends_and_chunking_decode_as_sent(
    events: list[_Event], bom: bool, data: st.DataObject
) -> None:
    lines, expected, last_id = _serialise(events)
    stream = "\ufeff" if bom else ""
    previous_end = ""
    for line in lines:
        end = data.draw(st.sampled_from(["\n", "\r", "\r\n"]))
        if previous_end == "\r" and not line and end == "\n":
            # "\r" then an empty "\n" line would read back as one CRLF.
            end = "\r\n"
        stream += line + end
        previous_end = end
    raw = stream.encode()

    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=12))
    chunks = split_at(raw, cuts)

    decoder = SSEDecoder()
    assert decode(chunks, decoder) == decode([raw]) == expected
    assert decoder.last_event_id == last_id


def _reference(raw: bytes) -> tuple[list[SSEMessage], str, int | None]:
    """A literal, character-at-a-time transcription of the spec, for comparison."""
    text = raw.decode("utf-8", "replace").removeprefix("\ufeff")
    lines: list[str] = []
    line = ""
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\r":
            lines.append(line)
            line = ""
            if text[i + 1 : i + 2] == "\n":
                i += 1
        elif char == "\n":
            lines.append(line)
            line = ""
        else:
            line += char
        i += 1

    messages: list[SSEMessage] = []
    data_buffer = event_type = id_buffer = last_event_id = ""
    retry: int | None = None
    block_retry: int | None = None
    for line in lines:
        if line == "":
            last_event_id = id_buffer
            if data_buffer:
                data = data_buffer.removesuffix("\n")
                event = event_type or "message"
                messages.append(SSEMessage(event, data, last_event_id, block_retry))
            data_buffer = event_type = ""
            block_retry = None
            continue
        if line.startswith(":"):
            continue
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            event_type = value
        elif field == "data":
            data_buffer += value + "\n"
        elif field == "id":
            if "\0" not in value:
                id_buffer = value
        elif field == "retry" and value and all(c in "0123456789" for c in value):
            retry = block_retry = int(value)
    return messages, last_event_id, retry


_fragments = st.sampled_from(
    [
        b"data",
        b"event",
        b"id",
        b"retry",
        b"x",
        b"7",
        b":",
        b" ",
        b"\r",
        b"\n",
        b"\r\n",
        b"\x00",
        BOM,
        b"\xc3",
        b"\xa9",
        b"\xff",
        "\u2028".encode(),
        "€".encode(),
    ]
)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(_fragments, max_size=40), data=st.data())
def test_arbitrary_bytes_in_any_chunking_match_a_literal_spec_reading(
    parts: list[bytes], data: st.DataObject
) -> None:
    raw = b"".join(parts)
    cuts = data.draw(st.lists(st.integers(0, len(raw)), max_size=10))
    decoder = SSEDecoder()
    got = decode(split_at(raw, cuts), decoder)
    assert (got, decoder.last_event_id, decoder.retry_ms) == _reference(raw)


# Why this decoder exists: httpx-sse, which the project would otherwise use,
# departs from the standard on streams like these. If a release of it stops
# departing, these tests say so, and the decoder can be reconsidered.


def _httpx_sse_events(raw: bytes) -> list[tuple[str, str, str]]:
    import httpx
    import httpx_sse

    response = httpx.Response(
        200, headers={"content-type": "text/event-stream"}, content=raw
    )
    source = httpx_sse.EventSource(response)
    return [(event.event, event.data, event.id) for event in source.iter_sse()]


def _our_events(raw: bytes) -> list[tuple[str, str, str]]:
    return [(m.event, m.data, m.id) for m in iter_messages([raw])]


def test_httpx_sse_loses_the_first_event_after_a_bom_and_we_do_not():
    raw = b"\xef\xbb\xbfdata: a\n\n"

    assert _httpx_sse_events(raw) == []
    assert _our_events(raw) == [("message", "a", "")]


def test_httpx_sse_dispatches_blocks_without_data_and_we_do_not():
    raw = b"id: 1\n\n: heartbeat\n\ndata: x\n\n"

    assert _httpx_sse_events(raw) == [
        ("message", "", "1"),
        ("message", "", "1"),
        ("message", "x", "1"),
    ]
    assert _our_events(raw) == [("message", "x", "1")]
