"""Fault injection between a real S3 client and the real S3 server: a forwarding proxy on loopback.

Every request goes to the local S3 server unchanged, except DeleteObjects (`POST ?delete`),
whose answer can be made to fail the way real networks fail:

- `empty_result`: a 200 with a well-formed but empty `<DeleteResult/>` body (a body cut short
  at an element boundary): the reply names no key as deleted and none as failed;
- `headers_only`: a 200 whose connection closes right after the headers (a proxy that drops
  the body);
- `pause`: the request waits, unanswered, until `release()` (a stalled S3), and then goes on
  (`deletes_before_pause` lets the first ones through).

Any other request can be stalled too (`pause_on = ("PUT", ".parquet")`: method and a part of
the path), or have its answer's body corrupted (`corrupt_on`: one byte flipped, as a bad disk
or a broken proxy would).

The S3 server still does (or, for the faults, did) the real work: with `empty_result` and
`headers_only` the objects are really deleted upstream and only the answer is lost.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

EMPTY_DELETE_RESULT = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
                       b'<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"></DeleteResult>')
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class FaultyS3:
    """The proxy's controls; `endpoint` is its URL."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.mode: str | None = None
        self.pause_on: tuple[str, str] | None = None
        self.corrupt_on: tuple[str, str] | None = None
        self.paused = threading.Event()  # set when a request is waiting
        self._release = threading.Event()
        self.delete_calls = 0
        self.deletes_before_pause = 0  # with mode "pause": let this many DeleteObjects calls through first
        self._drop = False
        self.server: ThreadingHTTPServer | None = None

    @property
    def endpoint(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def release(self, *, forward: bool = True) -> None:
        """Let stalled requests go on to S3, or (forward=False) drop them unanswered, as a dead client's."""
        self._drop = self._drop or not forward  # once dropped, a later release does not resend them
        self._release.set()

    @staticmethod
    def _matches(rule: tuple[str, str] | None, handler: BaseHTTPRequestHandler) -> bool:
        return rule is not None and handler.command == rule[0] and rule[1] in handler.path

    def _forward(self, handler: BaseHTTPRequestHandler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        headers = {key: value for key, value in handler.headers.items() if key.lower() not in HOP_BY_HOP}
        upstream.request(handler.command, handler.path, body=body or None, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        return response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP], payload

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        is_delete = handler.command == "POST" and "delete" in urlsplit(handler.path).query.split("&")
        if is_delete:
            self.delete_calls += 1
        pause_delete = is_delete and self.mode == "pause" and self.delete_calls > self.deletes_before_pause
        if pause_delete or self._matches(self.pause_on, handler):
            self.paused.set()
            self._release.wait(120)
            if self._drop:
                handler.close_connection = True
                return
        status, headers, payload = self._forward(handler, body)
        if is_delete and self.mode == "empty_result":
            payload = EMPTY_DELETE_RESULT
        if self._matches(self.corrupt_on, handler) and payload:
            middle = len(payload) // 2
            payload = payload[:middle] + bytes([payload[middle] ^ 0xFF]) + payload[middle + 1:]
        handler.send_response(status)
        for key, value in headers:
            handler.send_header(key, value)
        if is_delete and self.mode == "headers_only":
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.close_connection = True
            return
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)


@contextmanager
def faulty_s3(upstream: str) -> Iterator[FaultyS3]:
    """A FaultyS3 proxy in front of `upstream` for the length of the block."""
    faults = FaultyS3(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def _any(self) -> None:
            faults.handle(self)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    faults.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield faults
    finally:
        faults.release()
        server.shutdown()
        server.server_close()


def client_for(endpoint: str, *, validate_checksums: bool = True):
    """A boto3 S3 client for `endpoint` with the local stack's credentials, retrying little. Without
    `validate_checksums`, botocore does not check the checksums S3 returns, so that a corrupted body
    reaches the code under test."""
    import os

    import boto3
    from botocore.config import Config

    validation = "when_supported" if validate_checksums else "when_required"
    return boto3.client("s3", endpoint_url=endpoint, region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
                        config=Config(retries={"max_attempts": 1}, read_timeout=30, connect_timeout=5,
                                      response_checksum_validation=validation))
