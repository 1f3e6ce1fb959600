#!/usr/bin/env python3
"""moto_server, serving one request at a time.

Real DynamoDB applies a conditional write atomically: of two racing
UpdateItems with the same condition, one succeeds and one gets
ConditionalCheckFailedException. moto_server's threaded server evaluates the
condition and applies the write in separate steps, so under concurrency both
can succeed (seen here: 2 of 16 racing rotations applied). Serving requests
one at a time restores DynamoDB's per-item atomicity for our tests without
changing anything else about moto.

Usage: moto-serial.py [-H HOST] [-p PORT]
"""
import argparse
import os

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

parser = argparse.ArgumentParser()
parser.add_argument("-H", "--host", default="127.0.0.1")
parser.add_argument("-p", "--port", type=int, default=5000)
args = parser.parse_args()
os.environ.setdefault("MOTO_PORT", str(args.port))
run_simple(args.host, args.port, DomainDispatcherApplication(create_backend_app), threaded=False)
