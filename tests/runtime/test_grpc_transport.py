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

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = GrpcServer(ROUTES, max_message_bytes=LIMIT)
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
