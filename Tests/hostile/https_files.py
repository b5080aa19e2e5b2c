#!/usr/bin/env python3
"""A hostile file server for tern's download tests: HTTPS with the test server's certificate,
any GET path answers with the bytes of --body, and a Content-Disposition that tries to name a
file outside the folder. Prints {"port": N} once listening; serves until killed."""
import argparse
import http.server
import json
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--body", required=True, help="file whose bytes every GET returns")
    parser.add_argument("--slow", action="store_true", help="send 1 KiB every 100 ms")
    args = parser.parse_args()
    with open(args.body, "rb") as f:
        payload = f.read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Content-Disposition", 'attachment; filename="../../.profile"')
            self.end_headers()
            if not args.slow:
                self.wfile.write(payload)
                return
            import time
            for start in range(0, len(payload), 1024):
                self.wfile.write(payload[start:start + 1024])
                self.wfile.flush()
                time.sleep(0.1)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
