"""Compare powsoo_cli.sse.SSEDecoder with httpx-sse's decoder, events per second.

Run: python benchmarks/bench_sse_decoder.py [--events N] [--repeat R]

Both sides start from the same ~64 KiB byte chunks and decode them to text with
an incremental UTF-8 decoder (as httpx's iter_text() does for httpx-sse), then
run their own line splitting and field parsing. Best of R runs is reported.
"""

from __future__ import annotations

import argparse
import codecs
import json
import time
from collections.abc import Callable

from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder
from httpx_sse._decoders import SSELineDecoder

from powsoo_cli.sse import SSEDecoder

CHUNK_SIZE = 64 * 1024


def build_stream(count: int, with_fields: bool) -> bytes:
    parts = []
    for n in range(count):
        payload = json.dumps({"seq": n, "type": "transcript", "text": "hello there"})
        if with_fields:
            parts.append(f"event: update\nid: {n}\ndata: {payload}\n\n")
        else:
            parts.append(f"data: {payload}\n\n")
    return "".join(parts).encode()


def chunked(stream: bytes) -> list[bytes]:
    return [stream[i : i + CHUNK_SIZE] for i in range(0, len(stream), CHUNK_SIZE)]


def run_ours(chunks: list[bytes]) -> int:
    decoder = SSEDecoder()
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    decoder.close()
    return count


def run_ours_bounded(chunks: list[bytes]) -> int:
    decoder = SSEDecoder(max_event_bytes=1024 * 1024)
    count = 0
    for chunk in chunks:
        count += len(decoder.feed(chunk))
    decoder.close()
    return count


def run_httpx_sse(chunks: list[bytes]) -> int:
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = HttpxSSEDecoder()
    count = 0
    for chunk in chunks:
        for line in lines.decode(text_decoder.decode(chunk)):
            if decoder.decode(line) is not None:
                count += 1
    for line in lines.flush():
        if decoder.decode(line) is not None:
            count += 1
    return count


def best_times(
    runs: dict[str, Callable[[list[bytes]], int]], chunks: list[bytes], rounds: int
) -> dict[str, float]:
    # Interleave the contenders round by round, so that noise from other work
    # on the machine hits them alike; keep each one's best time.
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run(chunks)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    runs: dict[str, Callable[[list[bytes]], int]] = {
        "httpx-sse": run_httpx_sse,
        "powsoo": run_ours,
        "powsoo, 1 MiB cap": run_ours_bounded,
    }
    for with_fields in (False, True):
        chunks = chunked(build_stream(args.events, with_fields))
        assert all(run(chunks) == args.events for run in runs.values())
        best = best_times(runs, chunks, args.repeat)
        print("event+id+data" if with_fields else "data only")
        for name, seconds in best.items():
            ratio = best["httpx-sse"] / seconds
            rate = args.events / seconds
            print(f"  {name:<18} {rate:>11,.0f} ev/s  ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
