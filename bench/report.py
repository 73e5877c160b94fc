"""Turns bench/all's results (JSON lines) into the Markdown tables of BENCHMARKS.md, with the
machine and the command, between the `bench/all` markers (the rest of the file is kept).
With --check, first fails unless every comparison is there, complete and sane.
Usage: python3 bench/report.py RESULTS.jsonl COMMAND OUTPUT.md [--check]"""
import datetime
import json
import os
import platform
import re
import subprocess
import sys

BEGIN, END = "<!-- bench/all: begin -->", "<!-- bench/all: end -->"


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return ""


def machine():
    cpu = re.sub(r"\s+", " ", sh("lscpu | sed -n 's/^Model name: *//p'") or platform.processor())
    return (f"{cpu}, {os.cpu_count()} vCPU, {round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, "
            f"Linux {platform.release()}; {sh('rustc -V')}; Python {platform.python_version()}; Node {sh('node -v')}; "
            f"{sh('wrk -v 2>&1 | head -1').split(' [')[0]}")


# Every function the template deploys, as `lambda-bench` measures them.
FUNCTIONS = ["invoices-api", "pay-portal", "reminder-sweep", "deposit-check", "payment-webhook", "console"]


def check(rows):
    by = lambda s: [r for r in rows if r["section"] == s]
    verify = by("verify")
    sizes = sorted({r["bytes"] for r in verify if r["provider"] == "stripe"})
    assert len(sizes) == 3, f"stripe sizes {sizes}"
    for impl, provider, op in [("cobro", "stripe", "verify+parse"), ("stripe-python", "stripe", "verify+parse"),
                               ("stripe-node", "stripe", "verify+parse"), ("cobro", "standard", "verify"),
                               ("svix", "standard", "verify"), ("standardwebhooks-python", "standard", "verify")]:
        got = [r for r in verify if (r["impl"], r["provider"], r["op"]) == (impl, provider, op)]
        assert len(got) == 3 and all(r["median_us"] > 0 for r in got), f"{impl} {provider} {op}: {got}"
    load = by("load")
    assert sorted(r["senders"] for r in load) == [1, 8, 64], load
    for r in load:
        assert r["applied_once"] == r["events"] == r["invoices_paid_once"] and r["problems"] == 0, r
        assert r["errors"] == 0 and r["non2xx"] == 0 and r["events_per_s"] > 0, r
    sweep = by("sweep")
    assert len(sweep) >= 2 and all(r["reminders_sent"] == r["due"] == r["invoices_read"] for r in sweep), sweep
    lam = by("lambda")
    assert lam and sorted(r["function"] for r in lam[0]["rows"]) == sorted(FUNCTIONS), lam
    life = [r for r in by("capacity") if r["kind"] == "life"]
    assert life and all(r["write_units"] > 0 and r["read_units"] > 0 and r["emails"] == 5 for r in life), life
    reports = [r for r in by("capacity") if r["kind"] == "reports"]
    assert reports and all(r["read_units"] > 0 for r in reports), reports


def render(rows, command):
    by = lambda s: [r for r in rows if r["section"] == s]
    out = [BEGIN, "", f"Command: `{command}`. Machine: {machine()}. "
           f"{datetime.date.today().isoformat()}. One core (`taskset -c 0`) for the CPU comparisons; "
           "medians of repeated batches after a warm-up.", ""]

    verify = by("verify")
    med = lambda impl, prov, op, b: next((r["median_us"] for r in verify
                                          if (r["impl"], r["provider"], r["op"], r["bytes"]) == (impl, prov, op, b)), None)
    out += ["### 1. Stripe webhook: verify signature + parse the event", "",
            "Same signed `payment_intent.succeeded` events for all three. cobro: `stripe::verify` + `stripe::parse` "
            "into its typed `PaymentEvent` (exact amount); the peers: their `construct_event` / `constructEvent` "
            "(verify + parse into a generic object).", "",
            "| event | cobro µs | + reconcile decision µs | stripe-python µs | stripe-node µs | vs stripe-python | vs stripe-node |",
            "|---|---|---|---|---|---|---|"]
    for b in sorted({r["bytes"] for r in verify if r["provider"] == "stripe"}):
        c, d = med("cobro", "stripe", "verify+parse", b), med("cobro", "stripe", "verify+parse+decide", b)
        p, n = med("stripe-python", "stripe", "verify+parse", b), med("stripe-node", "stripe", "verify+parse", b)
        out.append(f"| {b:,} B | {c:.2f} | {d:.2f} | {p:.1f} | {n:.2f} | {p / c:.0f}× | {n / c:.1f}× |")
    out += ["", "### 2. Standard Webhooks: verify", "",
            "Same signed messages. Verify only (svix's `Webhook::verify` does not parse); the Python package also "
            "with its default JSON parse.", "",
            "| message | cobro µs | svix crate µs | standardwebhooks (Python) µs | cobro verify + parse µs | standardwebhooks verify + parse µs | vs svix | vs standardwebhooks |",
            "|---|---|---|---|---|---|---|---|"]
    for b in sorted({r["bytes"] for r in verify if r["provider"] == "standard"}):
        c, s = med("cobro", "standard", "verify", b), med("svix", "standard", "verify", b)
        p = med("standardwebhooks-python", "standard", "verify", b)
        cp, pp = med("cobro", "standard", "verify+parse", b), med("standardwebhooks-python", "standard", "verify+parse", b)
        out.append(f"| {b:,} B | {c:.2f} | {s:.2f} | {p:.1f} | {cp:.2f} | {pp:.1f} | {s / c:.1f}× | {p / c:.0f}× |")

    out += ["", "### 3. Webhooks over HTTP on the local stack", "",
            "`cobro serve` (SQLite, `synchronous=FULL`: every event's commit waits for its fsync; receipts written "
            "to the outbox) on loopback, wrk with `bench/load.lua` sending distinct signed Stripe payments, one per "
            "open invoice, on 1 / 8 / 64 connections; wrk and the server share the 2 cores. Events/s: applied "
            "events over the server's first-to-last arrival. Latency: wrk's, per request. Afterwards every event "
            "is checked applied exactly once (its invoice paid once, nothing due).", "",
            "| senders | events | applied once | events/s | p50 ms | p90 ms | p99 ms | max ms | requests (incl. retries of the last event) |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(by("load"), key=lambda r: r["senders"]):
        out.append(f"| {r['senders']} | {r['events']:,} | {r['applied_once']:,} | {r['events_per_s']:,.0f} | "
                   f"{r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.1f} | {r['requests']:,} |")

    sweep = sorted(by("sweep"), key=lambda r: r["invoices"])
    out += ["", "### 4. Reminder sweep over growing stores", "",
            "One sweep through the real path (agenda query, invoice read, claims, message rendered to the outbox, "
            "stage recorded) over an embedded store; the same number due each time.", "",
            "| invoices stored | due | agenda entries read | invoices read | reminders | sweep s | ms per due invoice | vs smallest |",
            "|---|---|---|---|---|---|---|---|"]
    for r in sweep:
        out.append(f"| {r['invoices']:,} | {r['due']:,} | {r['agenda_entries_read']:,} | {r['invoices_read']:,} | "
                   f"{r['reminders_sent']:,} | {r['sweep_s']:.2f} | {r['ms_per_due_invoice']:.2f} | {r['sweep_s'] / sweep[0]['sweep_s']:.2f}× |")

    lam = by("lambda")[0]
    out += ["", "### 5a. Packaged Lambda functions", "",
            f"`cargo lambda build --release` (x86_64), started as Lambda starts them against a Runtime API emulator "
            f"on the production configuration (DynamoDB, SES, SSM on moto). Cold start: exec → first "
            f"`/runtime/invocation/next`, {lam['starts']} starts. Memory: peak RSS after the events (moto bounds the rate).", "",
            "| function | size MB | cold start ms (median / max) | with SSM secrets ms | events | peak RSS MB |",
            "|---|---|---|---|---|---|"]
    for r in lam["rows"]:
        ssm = "" if r["cold_start_ssm_ms_median"] is None else f"{r['cold_start_ssm_ms_median']:.1f}"
        rss = "" if r["peak_rss_kib"] is None else f"{r['peak_rss_kib'] / 1024:.1f}"
        out.append(f"| {r['function']} | {r['bytes'] / 1e6:.1f} | {r['cold_start_ms_median']:.1f} / {r['cold_start_ms_max']:.1f} | "
                   f"{ssm} | {r['events'] if rss else ''} | {rss} |")

    cap = by("capacity")
    life = sorted((r for r in cap if r["kind"] == "life"), key=lambda r: r["invoices"])
    big = life[-1]
    out += ["", "### 5b. DynamoDB capacity and cost of an invoice's life", "",
            "Computed by `capacity-bench`, a metering proxy between the functions' code and the DynamoDB server: "
            "each request charged by AWS's published rules from the items it touched, read back before and after "
            "(reads per 4 KB, eventually consistent halved; writes per 1 KB of the larger image; transactions and "
            "condition checks doubled; every global secondary index entry written). "
            f"Per invoice, with {big['invoices']} invoices going through each step together:", "",
            "| step | read units | write units (table) | write units (indexes) | calls | emails |", "|---|---|---|---|---|---|"]
    for r in (r for r in cap if r["kind"] == "step" and r["invoices"] == big["invoices"]):
        out.append(f"| {r['step']} | {r['read_units']:.2f} | {r['write_units']:.2f} | {r['index_write_units']:.2f} | "
                   f"{r['calls']:.1f} | {r['emails']:.0f} |")
    p = big["prices"]
    out += ["", "| invoices per run | read units per life | write units per life | DynamoDB US$ per 1,000 invoices | SES US$ per 1,000 invoices | idle sweep (read units per run) |",
            "|---|---|---|---|---|---|"]
    for r in life:
        out.append(f"| {r['invoices']} | {r['read_units']:.2f} | {r['write_units']:.2f} | {r['dynamodb_usd_per_1000']:.4f} | "
                   f"{r['ses_usd_per_1000']:.2f} | {r['idle_sweep_read_units']:.1f} |")
    reports = [r for r in cap if r["kind"] == "reports" and r["invoices"] == big["invoices"]]
    if reports:
        out += ["", f"Reports, per page view, with the {big['invoices']} invoices open (the receivables index, "
                "then each invoice's partition):", "", "| what | read units | calls | read units per invoice |", "|---|---|---|---|"]
        for r in reports:
            out.append(f"| {r['what']} | {r['read_units']:.1f} | {r['calls']} | {r['read_units_per_invoice']:.2f} |")
    out += ["", f"Prices: DynamoDB on demand, us-east-1, Standard table class: US${p['write_per_million']} per million "
            f"write request units, US${p['read_per_million']} per million read request units; SES US${p['ses_per_thousand']} "
            "per 1,000 messages (the long-standing rate; new accounts may be on a pricing plan). Not included: storage "
            "(US$0.25 per GB-month), Lambda, API Gateway.", "", END]
    return "\n".join(out) + "\n"


def main():
    results, command, output = sys.argv[1:4]
    rows = [json.loads(l) for l in open(results) if l.strip()]
    if "--check" in sys.argv:
        check(rows)
    section = render(rows, command)
    text = open(output).read() if os.path.exists(output) else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section.rstrip("\n") + text[text.index(END) + len(END):]
    else:
        text = text + ("\n" if text else "") + section
    open(output, "w").write(text)


main()
