"""mlready's gRPC transport (HTTP/2, unary calls) against grpcio's own client, and against raw HTTP/2 frames."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
import time

import grpc
import h2.connection
import h2.events
import hpack
import pytest
from mlready.runtime.grpc_transport import Call, GrpcError, GrpcServer, Status
from mlready.runtime.grpc_wire import PREFACE
from mlready.runtime.proto import grpc_predict_v2_pb2 as pb

LIMIT = 8 << 20


async def echo(req: pb.ModelInferRequest, call: Call) -> pb.ModelInferResponse:
    """Echoes the first raw input, ``int(req.id or 1)`` times over."""
    data = req.raw_input_contents[0] if req.raw_input_contents else b""
    return pb.ModelInferResponse(model_name=req.model_name, raw_output_contents=[data * int(req.id or 1)])


async def slow(req: pb.ModelInferRequest, call: Call) -> pb.ModelInferResponse:
    await asyncio.sleep(float(req.id))
    return pb.ModelInferResponse(model_name="slow")


async def boom(req: pb.ModelInferRequest, call: Call) -> pb.ModelInferResponse:
    raise RuntimeError("a bug in a handler")


async def fail(req: pb.ModelInferRequest, call: Call) -> pb.ModelInferResponse:
    raise GrpcError(Status.NOT_FOUND, req.id)


async def meta(req: pb.ModelInferRequest, call: Call) -> pb.ModelInferResponse:
    return pb.ModelInferResponse(id=call.metadata.get("x-token", ""))


ROUTES = {f"/t.T/{f.__name__.capitalize()}": (pb.ModelInferRequest.FromString, f) for f in (echo, slow, boom, fail, meta)}


class Running:
    """A GrpcServer on loopback, in an event loop on a background thread."""

    def __init__(self, limit: int = LIMIT, limits=None) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = GrpcServer(ROUTES, max_message_bytes=limit, limits=limits)
        self.port = self.run(self.server.start("127.0.0.1", 0))
        self.target = f"127.0.0.1:{self.port}"

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        if not self.server.closing:
            self.run(self.server.stop(5))
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def srv():
    running = Running()
    yield running
    running.close()


def stub(channel: grpc.Channel, method: str, serialize=pb.ModelInferRequest.SerializeToString):
    return channel.unary_unary(f"/t.T/{method}", request_serializer=serialize,
                               response_deserializer=pb.ModelInferResponse.FromString)


def channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=[("grpc.max_receive_message_length", 64 << 20),
                                                  ("grpc.max_send_message_length", 64 << 20)])


def test_large_messages_both_ways_go_through_flow_control(srv):
    payload = random.Random(0).randbytes(6 << 20)  # 6 MiB in: six times the stream window we grant
    with channel(srv.target) as ch:
        resp = stub(ch, "Echo")(pb.ModelInferRequest(model_name="big", id="3", raw_input_contents=[payload]),
                                timeout=60)
    assert resp.model_name == "big" and resp.raw_output_contents[0] == payload * 3  # 18 MiB out


def test_oversized_request_is_refused_and_the_connection_goes_on(srv):
    with channel(srv.target) as ch:
        with pytest.raises(grpc.RpcError) as err:
            stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"x" * (LIMIT + 1)]), timeout=60)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"limit of {LIMIT} bytes" in err.value.details()
        assert stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"ok"]), timeout=10).raw_output_contents == [b"ok"]


def test_many_concurrent_calls_on_one_connection(srv):
    with channel(srv.target) as ch:  # more calls than SETTINGS_MAX_CONCURRENT_STREAMS: the client queues them
        call = stub(ch, "Slow")
        futures = [call.future(pb.ModelInferRequest(id="0.05"), timeout=60) for _ in range(600)]
        echo_call = stub(ch, "Echo")
        echoes = [echo_call.future(pb.ModelInferRequest(raw_input_contents=[b"%d" % i]), timeout=60) for i in range(300)]
        assert all(f.result().model_name == "slow" for f in futures)
        assert [f.result().raw_output_contents[0] for f in echoes] == [b"%d" % i for i in range(300)]


def test_statuses_messages_and_metadata(srv):
    with channel(srv.target) as ch:
        with pytest.raises(grpc.RpcError) as err:
            ch.unary_unary("/t.T/Nope")(b"", timeout=10)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED and "/t.T/Nope" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            stub(ch, "Boom")(pb.ModelInferRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.INTERNAL and err.value.details() == "internal error"
        text = "modèle 'x' introuvable: 100% sûr\n"
        with pytest.raises(grpc.RpcError) as err:
            stub(ch, "Fail")(pb.ModelInferRequest(id=text), timeout=10)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND and err.value.details() == text
        with pytest.raises(grpc.RpcError) as err:  # not a protobuf message: the client's mistake, never INTERNAL
            stub(ch, "Echo", serialize=lambda _: b"\xff\xff\xff")(None, timeout=10)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        resp = stub(ch, "Meta")(pb.ModelInferRequest(), metadata=[("x-token", "abc")], timeout=10)
        assert resp.id == "abc"


def test_gzip_compressed_requests(srv):
    with channel(srv.target) as ch:
        resp = stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"z" * 100_000]), timeout=10,
                                compression=grpc.Compression.Gzip)
    assert resp.raw_output_contents == [b"z" * 100_000]


def test_a_cancelled_call_leaves_the_server_serving(srv):
    with channel(srv.target) as ch:
        with pytest.raises(grpc.RpcError) as err:
            stub(ch, "Slow")(pb.ModelInferRequest(id="0.5"), timeout=0.1)
        assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        time.sleep(0.6)  # the handler finishes; its answer goes nowhere
        assert stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"a"]), timeout=10).raw_output_contents == [b"a"]


def test_stop_drains_in_flight_calls_and_refuses_new_ones(srv):
    with channel(srv.target) as ch:
        in_flight = [stub(ch, "Slow").future(pb.ModelInferRequest(id="0.5"), timeout=30) for _ in range(5)]
        time.sleep(0.2)
        stopping = asyncio.run_coroutine_threadsafe(srv.server.stop(10), srv.loop)
        assert [f.result().model_name for f in in_flight] == ["slow"] * 5
        stopping.result(15)
    with channel(srv.target) as ch, pytest.raises(grpc.RpcError) as err:
        stub(ch, "Echo")(pb.ModelInferRequest(), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def _raw(port: int, data: bytes, read_for: float = 1.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.settimeout(read_for)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return out


def _frames(data: bytes) -> list[tuple[int, int, int, bytes]]:
    out, pos = [], 0
    while len(data) - pos >= 9:
        length = int.from_bytes(data[pos:pos + 3], "big")
        out.append((data[pos + 3], data[pos + 4], int.from_bytes(data[pos + 5:pos + 9], "big"),
                    data[pos + 9:pos + 9 + length]))
        pos += 9 + length
    return out


def test_garbage_never_takes_the_server_down(srv):
    reply = _raw(srv.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 505 ") and b"gRPC" in reply
    # a frame larger than the SETTINGS_MAX_FRAME_SIZE we advertise: GOAWAY FRAME_SIZE_ERROR, then close
    frames = _frames(_raw(srv.port, PREFACE + struct.pack(">I", 20000 << 8) + b"\0" + b"\0\0\0\1"))
    goaway = [f for f in frames if f[0] == 7]
    assert goaway and int.from_bytes(goaway[0][3][4:8], "big") == 6
    rng = random.Random(1)
    for _ in range(60):  # random frames after a valid preface
        junk = b"".join(struct.pack(">I", rng.randrange(64) << 8 | rng.randrange(12)) + bytes([rng.randrange(256)])
                        + struct.pack(">I", rng.randrange(8)) + rng.randbytes(rng.randrange(64))
                        for _ in range(rng.randrange(1, 6)))
        _raw(srv.port, PREFACE + junk, read_for=0.05)
    with channel(srv.target) as ch:
        assert stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"alive"]), timeout=10).raw_output_contents == [
            b"alive"]


def test_padding_continuation_and_ping_from_a_raw_http2_client(srv):
    conn = h2.connection.H2Connection()
    conn.initiate_connection()
    message = pb.ModelInferRequest(raw_input_contents=[b"padded"]).SerializeToString()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(conn.data_to_send())
        events = []
        while not any(isinstance(e, h2.events.RemoteSettingsChanged) for e in events):
            events += conn.receive_data(s.recv(65536))
        conn.max_outbound_frame_size = 64  # force the header block into HEADERS + CONTINUATION frames
        conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/t.T/Meta"),
                              ("content-type", "application/grpc"), ("te", "trailers"), ("x-token", "t" * 300)])
        conn.max_outbound_frame_size = 16384
        conn.send_data(1, b"\0" + struct.pack(">I", len(message)) + message, end_stream=True, pad_length=17)
        conn.ping(b"12345678")
        s.sendall(conn.data_to_send())
        got: dict[type, list] = {}
        deadline = time.monotonic() + 10
        while h2.events.StreamEnded not in got and time.monotonic() < deadline:
            for e in conn.receive_data(s.recv(65536)):
                got.setdefault(type(e), []).append(e)
            s.sendall(conn.data_to_send())
    assert got[h2.events.PingAckReceived][0].ping_data == b"12345678"
    body = b"".join(e.data for e in got[h2.events.DataReceived])
    assert pb.ModelInferResponse.FromString(body[5:]).id == "t" * 300
    trailers = dict(got[h2.events.TrailersReceived][0].headers)
    assert trailers[b"grpc-status"] == b"0"


def test_the_runtime_protos_live_beside_tritonclients():
    """Both define package ``inference``: ours sit in a private descriptor pool, so one process can hold both."""
    from tritonclient.grpc import service_pb2

    ours = pb.ModelInferRequest(model_name="m", raw_input_contents=[b"1234"])
    theirs = service_pb2.ModelInferRequest.FromString(ours.SerializeToString())
    assert theirs.model_name == "m" and pb.ModelInferRequest.FromString(theirs.SerializeToString()) == ours


def test_headers_after_the_client_ended_a_stream_reset_only_that_stream(srv):
    enc = hpack.Encoder()
    head = [(":method", "POST"), (":scheme", "http"), (":path", "/t.T/Slow"), (":authority", "x"),
            ("content-type", "application/grpc")]
    message = pb.ModelInferRequest(id="0.3").SerializeToString()
    body = b"\0" + struct.pack(">I", len(message)) + message

    def frame(kind: int, flags: int, sid: int, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload) << 8 | kind) + bytes([flags]) + struct.pack(">I", sid) + payload

    data = (PREFACE + frame(4, 0, 0, b"")
            + frame(1, 0x4, 1, enc.encode(head)) + frame(0, 0x1, 1, body)  # call 1, complete
            + frame(1, 0x4, 1, enc.encode([("x-late", "1")]))  # HEADERS again on the ended stream
            + frame(1, 0x4, 3, enc.encode(head)) + frame(0, 0x1, 3, body))  # call 3
    frames = _frames(_raw(srv.port, data, read_for=1.5))
    assert (3, 0, 1, struct.pack(">I", 5)) in frames  # RST_STREAM(STREAM_CLOSED) on stream 1
    assert not [f for f in frames if f[0] == 0 and f[2] == 1]  # and no answer on it
    answered = [f for f in frames if f[0] == 0 and f[2] == 3]
    assert answered and pb.ModelInferResponse.FromString(answered[0][3][5:]).model_name == "slow"


def test_every_way_a_call_ends_gives_its_held_bytes_back(srv):
    """The byte budget counts request messages until their call ends and answers until they are sent: every
    ending (answered, failed, reset while running, refused, cut short, connection gone, answers never read)
    must give its bytes back, or the budget leaks until every call is refused."""
    import gzip as gz

    from mlready.runtime.grpc_wire import DATA, END_STREAM, RST_STREAM, SETTINGS, WINDOW_UPDATE, frame

    from tests.runtime.attacks.h2client import RawH2, until

    async def held() -> tuple[int, int, int]:
        return srv.server.buffered, srv.server.unsent, len(srv.server.connections)

    def message(data: bytes, id_: str = "") -> bytes:
        return pb.ModelInferRequest(id=id_, raw_input_contents=[data]).SerializeToString()

    with channel(srv.target) as ch:  # answered: identity, gzip, several frames each way
        assert stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"x" * 300_000]), timeout=10)
        stub(ch, "Echo")(pb.ModelInferRequest(raw_input_contents=[b"z" * 200_000]), timeout=10,
                         compression=grpc.Compression.Gzip)
        with pytest.raises(grpc.RpcError):
            stub(ch, "Boom")(pb.ModelInferRequest(), timeout=10)
    with RawH2(srv.port) as c:  # reset while running; cut-short gzip; a partial message left behind
        c.send(c.call(message(b"", "0.5"), path=b"/t.T/Slow"))
        time.sleep(0.1)
        c.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
        packed = gz.compress(message(b"y" * 100_000))[:-12]
        c.send(frame(1, 4, 3, c.headers_block(b"/t.T/Echo", ((b"grpc-encoding", b"gzip"),)))
               + frame(DATA, END_STREAM, 3, b"\1" + struct.pack(">I", len(packed)) + packed))
        c.send(frame(1, 4, 5, c.headers_block(b"/t.T/Echo")) + frame(DATA, 0, 5, b"\0" + struct.pack(">I", 50_000)
                                                                      + b"p" * 10_000))
        assert until(lambda: 3 in c.status, 5)
        assert until(lambda: srv.run(held())[0] == 10_005, 5), srv.run(held())  # only the partial message
    with RawH2(srv.port, preface=False) as c:  # answers the client never reads, then it resets one and leaves
        c.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))
        c.send(c.call(message(b"a" * 1000, "300"), path=b"/t.T/Echo") + c.call(message(b"b" * 1000, "300"),
                                                                              path=b"/t.T/Echo"))
        assert until(lambda: c.headers_seen >= 2, 5)
        c.send(frame(RST_STREAM, 0, 1, struct.pack(">I", 8)) + frame(WINDOW_UPDATE, 0, 3, struct.pack(">I", 0)))
        assert until(lambda: 3 in c.resets, 5)
        assert srv.run(held())[:2] == (0, 0)  # both unsent answers dropped with their streams, connection open
    assert until(lambda: srv.run(held()) == (0, 0, 0), 5), srv.run(held())


def test_concurrent_compressed_calls_hold_what_they_inflate_not_the_limit(srv):
    """48 honest gzip calls arriving at once (200 KB each, one read): each takes from the budget what it
    inflates, a step at a time, so all fit; before, each reserved the message limit (8 MiB here) while it
    inflated and all but ~7 were refused."""
    import gzip as gz

    from mlready.runtime.grpc_wire import (
        DATA,
        END_HEADERS,
        END_STREAM,
        HEADERS,
        SETTINGS,
        WINDOW_UPDATE,
        frame,
    )

    from tests.runtime.attacks.h2client import RawH2, until

    packed = gz.compress(pb.ModelInferRequest(raw_input_contents=[bytes(range(256)) * 800]).SerializeToString())
    with RawH2(srv.port, preface=False) as c:
        window = (1 << 31) - 1  # the client reads every answer
        c.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, window))
               + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", window - 65535)))
        out = []
        for sid in range(1, 97, 2):
            out.append(frame(HEADERS, END_HEADERS, sid, c.headers_block(b"/t.T/Echo", ((b"grpc-encoding", b"gzip"),)))
                       + frame(DATA, END_STREAM, sid, b"\1" + struct.pack(">I", len(packed)) + packed))
        c.send(b"".join(out))
        assert until(lambda: len(c.status) == 48, 10), len(c.status)
        assert {code for code, _ in c.status.values()} == {Status.OK}, c.status


def _held(srv) -> tuple[int, int]:
    async def read() -> tuple[int, int]:
        return srv.server.buffered, srv.server.unsent

    return srv.run(read())


def test_unread_answers_spread_over_connections_do_not_cost_an_honest_reader_its_call():
    """Three connections with windows of 0 hold unread answers just under the budget and open their windows a
    byte a second; an honest client's large answer takes the total over it. The honest call completes (no
    connection is closed for being the largest), the attackers take no new call, and they are closed once their
    answers have not moved MIN_PROGRESS bytes in message_timeout_s."""
    from mlready.runtime.config import GrpcLimitsConfig
    from mlready.runtime.grpc_wire import SETTINGS, WINDOW_UPDATE, frame

    from tests.runtime.attacks.h2client import RawH2, until

    srv = Running(limit=1 << 20, limits=GrpcLimitsConfig(max_buffered_bytes=4 << 20, message_timeout_s=2.0))
    try:
        attackers = []
        for _ in range(3):
            c = RawH2(srv.port, preface=False)
            c.send(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0)))
            c.send(c.call(pb.ModelInferRequest(id="1000", raw_input_contents=[b"a" * 1000]).SerializeToString(),
                          path=b"/t.T/Echo"))
            attackers.append(c)
        assert until(lambda: _held(srv)[1] >= 3_000_000, 5), _held(srv)
        for c in attackers:
            c.send(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", 1)))
        with grpc.insecure_channel(srv.target, options=[("grpc.http2.bdp_probe", 0)]) as ch:  # a 64 KiB window
            answer = stub(ch, "Echo")(pb.ModelInferRequest(id="2000", raw_input_contents=[b"h" * 1000]), timeout=10)
        assert len(answer.raw_output_contents[0]) == 2_000_000
        assert all(c.goaway is None for c in attackers)
        # a byte of window a second is no reader: closed by the stall check (NO_ERROR), not for being large
        assert all(until(lambda c=c: c.goaway is not None, 6) for c in attackers), [c.goaway for c in attackers]
        assert [c.goaway for c in attackers] == [0, 0, 0]
        assert until(lambda: _held(srv) == (0, 0), 5), _held(srv)
        for c in attackers:
            c.close()
    finally:
        srv.close()


def test_a_slow_honest_reader_is_not_closed_while_its_socket_drains():
    """A client on a slow link: small socket buffers, reading its answer steadily and giving every byte back as
    window. The server's write buffer fills, so it stops reading (and does not see the window updates); the
    draining buffer still counts as the client reading, so it is not closed after message_timeout_s."""
    import socket as so

    import hpack as hp
    from mlready.runtime.config import GrpcLimitsConfig
    from mlready.runtime.grpc_wire import (
        DATA,
        END_HEADERS,
        END_STREAM,
        HEADERS,
        SETTINGS,
        WINDOW_UPDATE,
        frame,
    )

    srv = Running(limits=GrpcLimitsConfig(message_timeout_s=1.0))
    try:
        sock = so.socket()
        sock.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 32768)
        sock.connect(("127.0.0.1", srv.port))
        window = 4 << 20
        request = pb.ModelInferRequest(id="6000", raw_input_contents=[b"s" * 1000]).SerializeToString()
        block = hp.Encoder().encode([(b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/t.T/Echo"),
                                     (b":authority", b"a"), (b"content-type", b"application/grpc"),
                                     (b"te", b"trailers")])
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, window)))

        async def small_send_buffers() -> int:  # the server's side of a slow link: its writes back up
            for conn in srv.server.connections:
                conn.transport.get_extra_info("socket").setsockopt(so.SOL_SOCKET, so.SO_SNDBUF, 16384)
            return len(srv.server.connections)

        from tests.runtime.attacks.h2client import until

        assert until(lambda: srv.run(small_send_buffers()) == 1, 5)
        sock.sendall(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", window))
                     + frame(HEADERS, END_HEADERS, 1, block)
                     + frame(DATA, END_STREAM, 1, b"\0" + struct.pack(">I", len(request)) + request))
        buf, got, ended, t0 = bytearray(), 0, False, time.monotonic()
        while not ended and time.monotonic() - t0 < 20:
            data = sock.recv(16384)
            if not data:
                break
            buf += data
            while len(buf) >= 9:
                length = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + length:
                    break
                kind, flags = buf[3], buf[4]
                del buf[:9 + length]
                if kind == DATA and length:
                    got += length
                    sock.sendall(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", length))
                                 + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", length)))
                ended |= kind == HEADERS and bool(flags & END_STREAM) and got > 0
                assert kind != 7, "GOAWAY: the reader was closed"  # GOAWAY
            time.sleep(len(data) / 2_000_000)  # ~2 MB/s: 6 MB take ~3 s, three message timeouts
        sock.close()
        assert ended and got >= 6_000_000, (got, ended)
    finally:
        srv.close()


def test_a_client_that_never_reads_its_socket_gives_the_budget_back_when_it_is_closed():
    """Answers written into a socket the client never reads, a partial message charged, then a protocol error:
    the connection's bytes come back at once and the connection is aborted after the linger (a close would wait
    for the write buffer to drain, forever), while the client still holds its socket open."""
    import socket as so

    import hpack as hp
    from mlready.runtime.grpc_wire import (
        DATA,
        END_HEADERS,
        END_STREAM,
        HEADERS,
        PUSH_PROMISE,
        SETTINGS,
        WINDOW_UPDATE,
        frame,
    )

    from tests.runtime.attacks.h2client import until

    srv = Running()
    try:
        sock = so.socket()
        sock.setsockopt(so.SOL_SOCKET, so.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", srv.port))
        enc = hp.Encoder()

        def headers(sid: int) -> bytes:
            return frame(HEADERS, END_HEADERS, sid, enc.encode([
                (b":method", b"POST"), (b":scheme", b"http"), (b":path", b"/t.T/Echo"), (b":authority", b"a"),
                (b"content-type", b"application/grpc"), (b"te", b"trailers")]))

        request = pb.ModelInferRequest(id="3000", raw_input_contents=[b"n" * 1000]).SerializeToString()
        sock.sendall(PREFACE + frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 0))
                     + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 30))
                     + headers(1) + frame(DATA, END_STREAM, 1, b"\0" + struct.pack(">I", len(request)) + request)
                     + headers(3) + frame(DATA, 0, 3, b"\0" + struct.pack(">I", 100_000) + b"p" * 16_000))
        assert until(lambda: _held(srv) == (16_005, 3_000_000 + 10), 5) or _held(srv)[0] == 16_005, _held(srv)
        sock.sendall(frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", (1 << 31) - 1))  # 3 MB into an unread socket
                     + frame(PUSH_PROMISE, 0, 1, b"\0\0\0\2"))  # a connection error: GOAWAY, linger, close
        assert until(lambda: _held(srv) == (0, 0), 3), _held(srv)

        async def connections() -> int:
            return len(srv.server.connections)

        assert until(lambda: srv.run(connections()) == 0, 5), "the connection waited for its write buffer"
        sock.close()
    finally:
        srv.close()
