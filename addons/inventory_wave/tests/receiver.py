"""A webhook receiver on 127.0.0.1 for the tests: answers 500 to the first
``fail_first`` requests (a channel having a bad moment), then 200, and keeps
every request received (headers and body) for the test to check."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:

    def __init__(self, fail_first=0):
        self.fail_first = fail_first
        self.received = []     # [(status answered, headers dict, body)]
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    status = (500 if len(receiver.received)
                        < receiver.fail_first else 200)
                    receiver.received.append(
                        (status, dict(self.headers.items()), body))
                self.send_response(status)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, daemon=True)

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f'http://{host}:{port}/hooks/tryton'

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
