"""An HTTPS backend for the proxy's upstream-TLS tests: answers every request with a JSON echo of
what it received (request line, headers, whether a client certificate was presented).

  https_backend.py PORT CERT KEY [CLIENT_CA]     with CLIENT_CA, a client certificate is required

Bounded: exits after 60 s.
"""
import json
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        peer = self.connection.getpeercert()
        body = json.dumps({
            "line": self.requestline,
            "headers": dict(self.headers.items()),
            "client_cert": bool(peer),
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
if len(sys.argv) > 4:
    context.load_verify_locations(sys.argv[4])
    context.verify_mode = ssl.CERT_REQUIRED
server = ThreadingHTTPServer(("127.0.0.1", port), Echo)
server.socket = context.wrap_socket(server.socket, server_side=True)
threading.Timer(60, server.shutdown).start()
print("ready", flush=True)
server.serve_forever()
