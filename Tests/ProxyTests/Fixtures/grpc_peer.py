"""A small gRPC peer for the proxy's tests, with no generated code: raw-bytes methods.

  grpc_peer.py serve-tls PORT CERT KEY   the same over TLS (h2 by ALPN)
  grpc_peer.py serve PORT            serves /test.Echo/Unary (echoes, metadata back as trailers)
                                     and /test.Echo/Stream (server streaming: N replies)
  grpc_peer.py call TARGET METHOD MESSAGE [key=value ...]
                                     calls through TARGET (host:port); prints one JSON line:
                                     {"code": ..., "replies": [...], "trailers": {...}, "details": ...}

Bounded: the server exits after 60 s, every call has a 5 s deadline.
"""
import json
import sys
import threading
from concurrent import futures

import grpc

identity = lambda b: b


def serve(port, tls=None):
    def unary(request, context):
        metadata = dict(context.invocation_metadata())
        context.set_trailing_metadata((("echo-trailer", "seen"), ("x-forwarded-for", metadata.get("x-forwarded-for", ""))))
        if request == b"fail":
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, "asked to fail")
        # What the backend saw, so the test can check the headers the proxy forwarded.
        seen = {k: v for k, v in metadata.items() if isinstance(v, str)}
        return json.dumps({"message": request.decode(), "metadata": seen}).encode()

    def stream(request, context):
        for i in range(int(request.decode() or "3")):
            yield f"reply {i}".encode()

    handler = grpc.method_handlers_generic_handler("test.Echo", {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, request_deserializer=identity, response_serializer=identity),
        "Stream": grpc.unary_stream_rpc_method_handler(stream, request_deserializer=identity, response_serializer=identity),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    if tls:
        cert, key = (open(path, "rb").read() for path in tls)
        server.add_secure_port(f"127.0.0.1:{port}", grpc.ssl_server_credentials(((key, cert),)))
    else:
        server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    print("ready", flush=True)
    threading.Timer(60, lambda: server.stop(0)).start()
    server.wait_for_termination(timeout=60)


def call(target, method, message, metadata):
    channel = grpc.insecure_channel(target)
    result = {"code": "OK", "replies": [], "trailers": {}, "details": ""}
    try:
        if method == "Stream":
            rpc = channel.unary_stream(f"/test.Echo/{method}", request_serializer=identity, response_deserializer=identity)
            call = rpc(message.encode(), metadata=metadata, timeout=5)
            for reply in call:
                result["replies"].append(reply.decode())
            result["trailers"] = dict(call.trailing_metadata() or ())
        else:
            rpc = channel.unary_unary(f"/test.Echo/{method}", request_serializer=identity, response_deserializer=identity)
            reply, call = rpc.with_call(message.encode(), metadata=metadata, timeout=5)
            result["replies"].append(reply.decode())
            result["trailers"] = dict(call.trailing_metadata() or ())
    except grpc.RpcError as error:
        result["code"] = error.code().name
        result["details"] = error.details() or ""
        result["trailers"] = dict(error.trailing_metadata() or ())
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(int(sys.argv[2]))
    elif sys.argv[1] == "serve-tls":
        serve(int(sys.argv[2]), (sys.argv[3], sys.argv[4]))
    else:
        pairs = [tuple(a.split("=", 1)) for a in sys.argv[5:]]
        call(sys.argv[2], sys.argv[3], sys.argv[4], pairs)
