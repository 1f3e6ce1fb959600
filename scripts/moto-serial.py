#!/usr/bin/env python3
"""moto_server, serving one request at a time.

Real DynamoDB applies a conditional write atomically: of two racing
UpdateItems with the same condition, one succeeds and one gets
ConditionalCheckFailedException. moto_server's threaded server evaluates the
condition and applies the write in separate steps, so under concurrency both
can succeed (seen here: 2 of 16 racing rotations applied). Serving requests
one at a time restores DynamoDB's per-item atomicity for our tests without
changing anything else about moto. Connections are still accepted by
threads (a single-threaded server let clients time out in its backlog under
load); only the handling of requests is serialised, by one lock.

Usage: moto-serial.py [-H HOST] [-p PORT]
"""
import argparse
import os
import threading

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

parser = argparse.ArgumentParser()
parser.add_argument("-H", "--host", default="127.0.0.1")
parser.add_argument("-p", "--port", type=int, default=5000)
args = parser.parse_args()
os.environ.setdefault("MOTO_PORT", str(args.port))
app = DomainDispatcherApplication(create_backend_app)
lock = threading.Lock()


def serial(environ, start_response):
    with lock:
        # Consume the whole response while holding the lock.
        return list(app(environ, start_response))


run_simple(args.host, args.port, serial, threaded=True)
