"""moto's server with one request handled at a time.

DynamoDB applies each TransactWriteItems / conditional write atomically. moto's stock server
handles requests on several threads without a lock, so two concurrent conditional
transactions can both pass their checks, which real DynamoDB never allows. cobro's
concurrency tests need the real semantics, so this wrapper serializes request handling
(connections are still accepted on many threads).

Usage: python scripts/moto_server.py HOST PORT
"""

import sys
import threading

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class Serialized:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            # Consume the body inside the lock: the effect happens while it is produced.
            return [b"".join(self.app(environ, start_response))]


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = Serialized(DomainDispatcherApplication(create_backend_app))
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
