"""The stream frame decoder: both frame forms, with and without separators, split anywhere."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents_mcp.api.errors import StreamError
from agents_mcp.api.models import SimulationFrame
from agents_mcp.api.stream import FrameDecoder, parse_frame
from tests.support.paths import DATA


def sample_frames() -> list[dict]:
    """Three frames shaped like the live stream: turns in pieces, the analysis last. Texts carry
    multi-byte characters, quotes, backslashes and braces, to trip a naive scanner."""
    turns = json.loads((DATA / "docs_example_conversation_history.json").read_text())[:3]
    analysis = json.loads((DATA / "docs_example_analysis.json").read_text())["analysis"]
    turns[0]["message"] = 'Café ☕ — "quoted" {braces} [brackets] back\\slash ✓ 日本語'
    return [
        {"simulated_conversation": turns[:2], "analysis": None},
        {"simulated_conversation": turns[2:], "analysis": None},
        {"simulated_conversation": [], "analysis": analysis},
    ]


def encode(frames: list[dict], *, form: str, sep: str) -> bytes:
    parts = []
    for frame in frames:
        inner = json.dumps(frame, ensure_ascii=False)
        parts.append(json.dumps(inner, ensure_ascii=False) if form == "string" else inner)
    return (sep.join(parts) + (sep if sep.strip() == "" and sep else "")).encode()


def decode_chunks(chunks: list[bytes], **kw) -> list[SimulationFrame]:
    decoder = FrameDecoder(**kw)
    out: list[SimulationFrame] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    decoder.close()
    return out


EXPECTED = [SimulationFrame.model_validate(f) for f in sample_frames()]
FORMS = [
    ("string", "\n"),
    ("string", ""),
    ("object", "\n"),
    ("object", ""),
    ("string", " \r\n\t "),
    ("object", "\r\n\r\n"),
]


@pytest.mark.parametrize(("form", "sep"), FORMS)
def test_whole_stream_in_one_chunk(form: str, sep: str) -> None:
    frames = decode_chunks([encode(sample_frames(), form=form, sep=sep)])
    assert frames == EXPECTED
    assert frames[0].simulated_conversation[0].message.startswith("Café ☕")
    assert frames[-1].analysis is not None
    assert frames[-1].analysis.call_successful == "success"


@pytest.mark.parametrize(("form", "sep"), FORMS)
def test_split_at_every_byte_offset(form: str, sep: str) -> None:
    data = encode(sample_frames(), form=form, sep=sep)
    assert len(data) > 1000
    for cut in range(len(data) + 1):
        assert decode_chunks([data[:cut], data[cut:]]) == EXPECTED, f"cut at byte {cut}"


@pytest.mark.parametrize(("form", "sep"), FORMS)
def test_one_byte_at_a_time(form: str, sep: str) -> None:
    data = encode(sample_frames(), form=form, sep=sep)
    assert decode_chunks([data[i : i + 1] for i in range(len(data))]) == EXPECTED


def test_frames_come_out_as_soon_as_complete() -> None:
    data = encode(sample_frames(), form="string", sep="\n")
    first_end = data.index(b"\n")
    decoder = FrameDecoder()
    assert decoder.feed(data[:first_end]) == [EXPECTED[0]]  # no newline needed to finish it
    assert decoder.feed(data[first_end:-5]) == [EXPECTED[1]]
    assert decoder.feed(data[-5:]) == [EXPECTED[2]]
    decoder.close()
    assert decoder.frames_decoded == 3
    assert decoder.bytes_fed == len(data)


def test_mixed_forms_in_one_stream() -> None:
    frames = sample_frames()
    data = (
        json.dumps(json.dumps(frames[0])) + json.dumps(frames[1]) + "\n" + json.dumps(frames[2])
    ).encode()
    assert decode_chunks([data]) == EXPECTED


@settings(max_examples=150, deadline=None)
@given(
    form=st.sampled_from(FORMS),
    cuts=st.lists(st.integers(min_value=0, max_value=5000), max_size=30),
)
def test_random_chunking(form: tuple[str, str], cuts: list[int]) -> None:
    data = encode(sample_frames(), form=form[0], sep=form[1])
    points = sorted({c % (len(data) + 1) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]
    assert decode_chunks(chunks) == EXPECTED


def test_empty_and_whitespace_only_streams_give_no_frames() -> None:
    assert decode_chunks([]) == []
    assert decode_chunks([b"", b"\n\n  \r\n", b""]) == []


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b'"not json at all"\n', "malformed frame"),
        (b'"{\\"simulated_conversation\\": [}"\n', "malformed frame"),
        (b"[1, 2, 3]\n", "expected a JSON string or object"),
        (b"data: {}\n", "expected a JSON string or object"),
        (b'{"simulated_conversation": [], "analysis": null}}', "expected a JSON string or object"),
        (b'{"simulated_conversation": "nope"}', "unexpected shape"),
        (b'"42"', "expected an object"),
        (b'{"unrelated": true}', "no simulated_conversation or analysis"),
        (b'{"simulated_conversation": [{"message": "no role"}]}', "unexpected shape"),
    ],
)
def test_malformed_frames_raise_with_an_excerpt(data: bytes, needle: str) -> None:
    with pytest.raises(StreamError) as info:
        decode_chunks([data])
    assert needle in str(info.value)
    assert len(str(info.value)) < 400


def test_malformed_excerpt_is_short_for_a_long_frame() -> None:
    junk = '"' + "x" * 100_000 + '"'
    with pytest.raises(StreamError) as info:
        decode_chunks([junk.encode()])
    assert "xxxx" in str(info.value)
    assert len(str(info.value)) < 300


def test_an_error_frame_mid_stream_is_reported() -> None:
    good = json.dumps(json.dumps(sample_frames()[0])).encode()
    bad = json.dumps({"detail": {"status": "something_went_wrong", "message": "Oops"}}).encode()
    decoder = FrameDecoder()
    assert len(decoder.feed(good + b"\n")) == 1
    with pytest.raises(StreamError, match=r"reported an error.*Oops"):
        decoder.feed(bad)


@pytest.mark.parametrize("form", ["string", "object"])
def test_oversized_frame_is_refused(form: str) -> None:
    frame = {"simulated_conversation": [{"role": "agent", "message": "y" * 500}]}
    data = encode([frame], form=form, sep="\n")
    with pytest.raises(StreamError, match="larger than the limit of 300 bytes"):
        decode_chunks([data], max_frame_bytes=300)
    # still refused when it arrives in small pieces and never completes
    decoder = FrameDecoder(max_frame_bytes=300)
    with pytest.raises(StreamError, match="larger than the limit"):
        for i in range(0, len(data) - 10, 7):
            decoder.feed(data[i : i + 7])
    # and accepted under a larger limit
    assert len(decode_chunks([data], max_frame_bytes=10_000)) == 1


def test_many_frames_within_the_limit_are_fine() -> None:
    frame = encode([sample_frames()[1]], form="string", sep="\n")
    data = frame * 200
    out = decode_chunks(
        [data[i : i + 4096] for i in range(0, len(data), 4096)], max_frame_bytes=4096
    )
    assert len(out) == 200


@pytest.mark.parametrize("form", ["string", "object"])
def test_stream_ending_mid_frame_raises_on_close(form: str) -> None:
    data = encode(sample_frames(), form=form, sep="\n")
    decoder = FrameDecoder()
    frames = decoder.feed(data[:-40])
    assert len(frames) == 2
    with pytest.raises(StreamError, match="ended in the middle of a frame"):
        decoder.close()


def test_invalid_utf8_raises() -> None:
    with pytest.raises(StreamError, match="not valid UTF-8"):
        decode_chunks([b'"abc\xff\xfe"'])
    decoder = FrameDecoder()
    decoder.feed(b'{"simulated_conversation": [], "analysis": null}' + "é".encode()[:1])
    with pytest.raises(StreamError, match="UTF-8"):
        decoder.close()


def test_parse_frame_accepts_both_forms() -> None:
    frame = sample_frames()[2]
    as_object = json.dumps(frame)
    assert parse_frame(as_object) == parse_frame(json.dumps(as_object)) == EXPECTED[2]


def test_unknown_fields_and_values_are_kept() -> None:
    frame = {
        "simulated_conversation": [{"role": "narrator", "message": "hi", "new_field": [1]}],
        "analysis": {"call_successful": "partially", "score": 0.5},
        "extra_top": True,
    }
    parsed = parse_frame(json.dumps(json.dumps(frame)))
    assert parsed.simulated_conversation[0].role == "narrator"
    assert parsed.simulated_conversation[0].model_extra == {"new_field": [1]}
    assert parsed.analysis is not None and parsed.analysis.model_extra == {"score": 0.5}
