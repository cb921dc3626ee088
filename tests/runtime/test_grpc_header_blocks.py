"""The transport's hand-built HPACK header blocks decode, with hpack's own decoder, to exactly the headers given:
short and long names and values (the 7-bit length prefix and its continuation bytes), and the trailing
metadata appended to the constant OK trailers."""

import hpack
import pytest
from mlready.runtime.grpc_wire import (
    OK_TRAILERS,
    RESPONSE_HEADERS,
    Status,
    ok_trailers,
    static_block,
    trailers,
)


@pytest.mark.parametrize("size", [0, 1, 126, 127, 128, 255, 16383, 16384, 40000])
def test_literal_lengths_round_trip(size):
    value = bytes(ord("a") + i % 26 for i in range(size))
    headers = [(b"x-request-id", value), (b"n" * max(size // 7, 1), b"v")]
    assert hpack.Decoder().decode(static_block(headers), raw=True) == headers


def test_blocks_decode_on_a_connection_with_a_used_dynamic_table():
    # the blocks never index anything, so they are valid whatever the client's table holds
    dec = hpack.Decoder()
    dec.decode(hpack.Encoder().encode([(b"custom", b"indexed-value")]), raw=True)
    assert dec.decode(RESPONSE_HEADERS, raw=True) == [(b":status", b"200"), (b"content-type", b"application/grpc")]
    assert dec.decode(OK_TRAILERS, raw=True) == [(b"grpc-status", b"0")]
    rid = b"0123456789abcdef0123456789abcdef"
    assert dec.decode(ok_trailers([(b"x-request-id", rid)]), raw=True) == [(b"grpc-status", b"0"),
                                                                            (b"x-request-id", rid)]
    assert ok_trailers([]) is OK_TRAILERS
    assert dec.decode(trailers(Status.INVALID_ARGUMENT, "bad 100%", True, [(b"x-request-id", rid)]), raw=True) == [
        (b":status", b"200"), (b"content-type", b"application/grpc"), (b"grpc-status", b"3"),
        (b"grpc-message", b"bad 100%25"), (b"x-request-id", rid)]
    assert len(dec.header_table.dynamic_entries) == 1  # nothing of ours was added
