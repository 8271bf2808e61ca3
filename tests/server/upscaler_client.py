"""A client of scales.v1.Upscaler written only from the .proto: the message classes are built at
run time from the descriptor set protoc makes of proto/scales/v1/upscaler.proto (no generated code
from this project), and calls go through grpcio's generic stubs. Health and reflection are
spoken in raw protobuf wire format, from their public .proto definitions."""
from __future__ import annotations

import subprocess
from pathlib import Path

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ROOT = Path(__file__).resolve().parents[2]


def load_messages(desc_path: Path | None = None) -> dict:
    if desc_path is None:  # compile the .proto ourselves
        desc_path = Path("/tmp") / "scales-upscaler.desc"
        subprocess.run(["protoc", f"--proto_path={ROOT / 'proto'}", "--include_imports",
                        f"--descriptor_set_out={desc_path}", "scales/v1/upscaler.proto"], check=True)
    fds = descriptor_pb2.FileDescriptorSet.FromString(desc_path.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    names = ["UpscaleRequest", "UpscaleResponse", "UpscaleOptions", "ListModelsRequest", "ListModelsResponse",
             "UpscaleStreamRequest", "UpscaleStreamResponse"]
    factory = message_factory.MessageFactory(pool)
    msgs = {n: factory.GetPrototype(pool.FindMessageTypeByName(f"scales.v1.{n}")) for n in names}
    msgs["Format"] = pool.FindEnumTypeByName("scales.v1.Format")
    return msgs


class Client:
    def __init__(self, target: str, max_message_mb: int = 256, root_cert: bytes | None = None,
                 token: str | None = None):
        self.m = load_messages()
        opts = [("grpc.max_receive_message_length", max_message_mb << 20),
                ("grpc.max_send_message_length", max_message_mb << 20),
                # A server still starting refuses connections; without these the channel's default
                # backoff (1 s growing to 120 s) outlasts a slow sanitizer-build start.
                ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                ("grpc.max_reconnect_backoff_ms", 1000)]
        if root_cert is not None:
            self.channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=root_cert), opts)
        else:
            self.channel = grpc.insecure_channel(target, options=opts)
        self.metadata = [("authorization", f"Bearer {token}")] if token else None
        m = self.m
        self._upscale = self.channel.unary_unary(
            "/scales.v1.Upscaler/Upscale", request_serializer=m["UpscaleRequest"].SerializeToString,
            response_deserializer=m["UpscaleResponse"].FromString)
        self._list = self.channel.unary_unary(
            "/scales.v1.Upscaler/ListModels", request_serializer=m["ListModelsRequest"].SerializeToString,
            response_deserializer=m["ListModelsResponse"].FromString)
        self._stream = self.channel.stream_stream(
            "/scales.v1.Upscaler/UpscaleStream", request_serializer=m["UpscaleStreamRequest"].SerializeToString,
            response_deserializer=m["UpscaleStreamResponse"].FromString)
        self._health = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check", request_serializer=lambda b: b, response_deserializer=lambda b: b)
        self._reflect = self.channel.stream_stream(
            "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
            request_serializer=lambda b: b, response_deserializer=lambda b: b)

    def upscale(self, image: bytes, model: str = "", scale: int = 0, fmt: str = "FORMAT_PNG", quality: int = 0,
                timeout: float | None = 60):
        m = self.m
        opts = m["UpscaleOptions"](model=model, scale=scale, format=m["Format"].values_by_name[fmt].number,
                                   quality=quality)
        return self._upscale(m["UpscaleRequest"](image=image, options=opts), timeout=timeout, metadata=self.metadata)

    def upscale_future(self, image: bytes, model: str = "", scale: int = 0, timeout: float | None = 60):
        m = self.m
        req = m["UpscaleRequest"](image=image, options=m["UpscaleOptions"](model=model, scale=scale))
        return self._upscale.future(req, timeout=timeout, metadata=self.metadata)

    def upscale_stream(self, image: bytes, model: str = "", scale: int = 0, chunk: int = 1 << 20,
                       timeout: float | None = 300):
        """Chunked upload and download; returns (ResultInfo, encoded bytes)."""
        m = self.m

        def requests():
            opts = m["UpscaleOptions"](model=model, scale=scale)
            yield m["UpscaleStreamRequest"](options=opts, chunk=image[:chunk])
            for i in range(chunk, len(image), chunk):
                yield m["UpscaleStreamRequest"](chunk=image[i:i + chunk])

        info, parts = None, []
        for resp in self._stream(requests(), timeout=timeout, metadata=self.metadata):
            if resp.HasField("info"):
                info = resp.info
            parts.append(resp.chunk)
        return info, b"".join(parts)

    def list_models(self):
        return self._list(self.m["ListModelsRequest"](), timeout=10, metadata=self.metadata)

    def health(self, service: str = "", timeout: float = 5, wait_for_ready: bool = False) -> int:
        """grpc.health.v1 HealthCheckRequest{service=1}; returns HealthCheckResponse.status (1 = SERVING)."""
        req = b"" if not service else b"\x0a" + bytes([len(service)]) + service.encode()
        resp = self._health(req, timeout=timeout, wait_for_ready=wait_for_ready)
        return resp[1] if len(resp) >= 2 and resp[0] == 0x08 else 0

    def reflection_services(self) -> bytes:
        """ServerReflectionRequest{list_services=7: "*"}; returns the raw response (service names inside)."""
        return b"".join(self._reflect(iter([b"\x3a\x01*"]), timeout=5))

    def reflection_file_of(self, symbol: str) -> list[descriptor_pb2.FileDescriptorProto]:
        """ServerReflectionRequest{file_containing_symbol=4}: the files the server describes the
        symbol with (its file and imports); [] when the server answers with an error_response (7)."""
        req = b"\x22" + _varint(len(symbol)) + symbol.encode()
        resp = b"".join(self._reflect(iter([req]), timeout=5))
        files = []
        for field, value in _fields(resp):
            if field == 4:  # file_descriptor_response{repeated bytes file_descriptor_proto = 1}
                files += [descriptor_pb2.FileDescriptorProto.FromString(v) for f, v in _fields(value) if f == 1]
        return files


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _fields(buf: bytes):
    """(field number, bytes) of each length-delimited field of a message; other wire types skipped."""
    i = 0

    def varint() -> int:
        nonlocal i
        n = shift = 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n
    while i < len(buf):
        key = varint()
        wire = key & 7
        if wire == 2:
            n = varint()
            yield key >> 3, buf[i:i + n]
            i += n
        elif wire == 0:
            varint()
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError(f"unexpected wire type {wire}")
