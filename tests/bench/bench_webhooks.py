#!/usr/bin/env python3
"""Webhook throughput (issue 9, D2): signing and sending order.shipped
events to a receiver on 127.0.0.1, one sender as the scheduler's task is.

    .venv/bin/python tests/bench/bench_webhooks.py [--events 2000]

1. Signatures per second (``webhook.headers``: HMAC-SHA256 of a 600-byte
   body, base64), beside the bare ``hmac`` call as the floor.
2. Deliveries per second: ``webhook.post`` of signed bodies to a local
   receiver that verifies every signature (``webhook.verify``), sequential
   (one connection per event, as ``inventory.webhook.event.deliver`` does).

The database part of a delivery (reading the due events, saving their
state) is one query and one batched save per scheduler run and is not
timed here.  Never fails on a figure.
"""
import argparse
import hashlib
import hmac
import json
import os
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--events', type=int, default=2000)
    args = parser.parse_args()
    from trytond.modules.inventory_wave import webhook
    from trytond.modules.inventory_wave.tests.receiver import WebhookReceiver

    secret = webhook.generate_secret()
    body = json.dumps({'type': 'order.shipped', 'timestamp':
            '2026-11-26T10:00:00Z', 'data': {
                'order_id': 123456, 'channel': 'WEB',
                'channel_reference': 'W-100045', 'shipment': 'OUT/100045',
                'carrier': 'SF Express - Parcel', 'tracking': 'SF1234567890',
                'lines': [{'sku': f'DEMO-{i:04d}', 'quantity': 2,
                        'lot': None} for i in range(8)]}}).encode()

    n = args.events * 10
    key = webhook.secret_key(secret)
    start = time.perf_counter()
    for i in range(n):
        hmac.new(key, b'msg_%d.1764151200.' % i + body, hashlib.sha256)
    floor = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(n):
        webhook.headers(secret, f'msg_{i}', 1764151200, body)
    signing = n / (time.perf_counter() - start)
    print(f"body {len(body)} bytes")
    print(f"signatures: {signing:,.0f}/s (bare hmac {floor:,.0f}/s)")

    verified = []

    with WebhookReceiver() as receiver:
        start = time.perf_counter()
        for i in range(args.events):
            status, error = webhook.post(receiver.url, body, webhook.headers(
                    secret, f'msg_{i}', time.time(), body))
            assert status == 200, error
        elapsed = time.perf_counter() - start
    for _, headers, received in receiver.received:
        verified.append(webhook.verify(secret, headers, received))
    print(f"deliveries: {args.events / elapsed:,.0f}/s sequential "
        f"({elapsed * 1000 / args.events:.2f} ms each), "
        f"{len(set(verified))} distinct ids verified")


if __name__ == '__main__':
    main()
