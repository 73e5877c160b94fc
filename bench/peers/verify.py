"""The Python peers of verify-bench, on the same cases (DIR/cases.json): stripe-python's
Webhook.construct_event (verify + parse into a StripeObject) and the standardwebhooks
package's Webhook.verify (verify + json parse, its default; and verify alone with
json_parse=False). One JSON line per case and operation, as verify-bench prints.
Usage: python verify.py DIR BATCHES PER_BATCH"""
import json
import statistics
import sys
import time

import stripe
from standardwebhooks.webhooks import Webhook


def timed(batches, per_batch, once):
    for _ in range(per_batch):
        once()
    samples = []
    for _ in range(batches):
        start = time.perf_counter()
        for _ in range(per_batch):
            once()
        samples.append((time.perf_counter() - start) * 1e6 / per_batch)
    return {"median_us": statistics.median(samples), "min_us": min(samples), "max_us": max(samples)}


def main():
    root, batches, per_batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    spec = json.load(open(f"{root}/cases.json"))
    for case in spec["cases"]:
        body = open(f"{root}/{case['file']}", "rb").read()
        headers, secret = case["headers"], case["secret"]
        line = {"provider": case["provider"], "bytes": len(body)}
        if case["provider"] == "stripe":
            payload, header = body.decode(), headers["stripe-signature"]
            event = stripe.Webhook.construct_event(payload, header, secret)
            assert event["data"]["object"]["amount_received"] == 178464
            run = lambda: stripe.Webhook.construct_event(payload, header, secret)
            print(json.dumps({"impl": "stripe-python", "op": "verify+parse", **line, **timed(batches, per_batch, run)}))
        else:
            wh = Webhook(secret)
            assert wh.verify(body, headers)["data"]["amount"] == "1784.64"
            run = lambda: wh.verify(body, headers)
            print(json.dumps({"impl": "standardwebhooks-python", "op": "verify+parse", **line, **timed(batches, per_batch, run)}))
            run = lambda: wh.verify(body, headers, json_parse=False)
            print(json.dumps({"impl": "standardwebhooks-python", "op": "verify", **line, **timed(batches, per_batch, run)}))


main()
