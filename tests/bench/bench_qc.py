#!/usr/bin/env python3
"""The quality gate in process (issue 6, A4): the ISO 2859-1 sampling
lookup and deciding a lot inspection, p50/p95, each beside its baseline.
Standalone:

    .venv/bin/python tests/bench/bench_qc.py [--lookups 20000]
        [--inspections 60] [--skip-db]

1. Sampling lookup (:func:`sampling.sampling_plan`: code letter of Table 1,
   the plan of Table 2-A/2-B/2-C with the arrow rule) on random lot sizes,
   levels, AQLs and severities from the module's tables held in memory;
   baseline: the same lookup reading the table records from the database
   each time (``quality.sampling.letter.rows`` + ``quality.sampling.plan
   .tables``), as a naive model method would.
2. Deciding a lot inspection on the demo database (SQLite, or PostgreSQL
   with ``TRYTOND_DATABASE_URI``): ``quality.inspection.process`` of one
   quarantined lot with its checks filled — mandatory checks, the sample
   against Ac, the release of the lot out of quarantine to putaway (an
   internal shipment) — beside plain Tryton's ``process`` of a quality
   inspection without a lot (the checks only, no stock).

It never fails on a figure.
"""
import argparse
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--lookups', type=int, default=20000)
    parser.add_argument('--inspections', type=int, default=60)
    parser.add_argument('--skip-db', action='store_true')
    return parser.parse_args()


def percentiles(times):
    "p50 and p95 in ms of a list of seconds"
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * len(ordered))))]
    return statistics.median(ordered) * 1000, p95 * 1000


def row(label, ours, baseline=None):
    text = f"{label:<44} {ours[0]:9.4f} {ours[1]:9.4f}"
    if baseline:
        text += f"   {baseline[0]:9.4f} {baseline[1]:9.4f}"
    print(text)


def queries(count, aqls, seed=2859):
    from trytond.modules.inventory_qc.sampling import LEVELS, SEVERITIES
    rng = random.Random(seed)
    return [(int(10 ** rng.uniform(0, 6.3)), rng.choice(LEVELS),
            rng.choice(aqls), rng.choice(SEVERITIES)) for _ in range(count)]


def bench_pure(count):
    from trytond.modules.inventory_qc.sampling import sampling_plan
    from trytond.modules.inventory_qc.tests.test_sampling import (
        AQLS, LETTER_ROWS, PLANS)
    times = []
    for lot_size, level, aql, severity in queries(count, AQLS):
        start = time.perf_counter()
        sampling_plan(lot_size, level, aql, severity, LETTER_ROWS, PLANS)
        times.append(time.perf_counter() - start)
    print(f"\n1. Sampling lookup, {count} random lots (pure, tables in "
        "memory), ms")
    print(f"{'':<44} {'p50':>9} {'p95':>9}")
    row("sampling_plan", percentiles(times))
    return times


def bench_db(lookups, count):
    os.environ.setdefault('DB_CACHE', os.path.join(
            ROOT, 'var', 'bench', 'qc-cache'))
    from trytond.tests.test_tryton import DB_NAME, activate_module
    from trytond.modules.inventory_flow.tests.tools import SUITE_MODULES
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    activate_module(SUITE_MODULES)
    with Transaction().start(DB_NAME, 0, context={'_skip_warnings': True},
            _lock_tables=['stock_move']):
        from trytond.modules.inventory_flow.demo import generate
        from trytond.modules.inventory_qc.demo_qc import quarantine_lot
        from trytond.modules.inventory_qc.sampling import sampling_plan
        pool = Pool()
        Letter = pool.get('quality.sampling.letter')
        Plan = pool.get('quality.sampling.plan')
        Inspection = pool.get('quality.inspection')
        Control = pool.get('quality.control')
        generate()

        letters, plans = Letter.rows(), Plan.tables()
        aqls = sorted({a for _, c in plans.values() for a in c})
        ours, baseline = [], []
        for i, (lot_size, level, aql, severity) in enumerate(
                queries(lookups, aqls)):
            start = time.perf_counter()
            sampling_plan(lot_size, level, aql, severity, letters, plans)
            ours.append(time.perf_counter() - start)
            if i < 200:
                start = time.perf_counter()
                sampling_plan(lot_size, level, aql, severity,
                    Letter.rows(), Plan.tables())
                baseline.append(time.perf_counter() - start)
        print(f"\n2. Sampling lookup on the database, {lookups} lots "
            f"(baseline: 200, reading {len(Plan.search([]))} plan records "
            "each time), ms")
        print(f"{'':<44} {'p50':>9} {'p95':>9}   "
            f"{'baseline':>9} {'p95':>9}")
        row("tables loaded once / read per lookup",
            percentiles(ours), percentiles(baseline))

        lots = [quarantine_lot(f'BENCH-QC-{i:04d}', 40 + i % 7)
            for i in range(count)]
        for inspection in lots:
            inspection.points = {'seal': True, 'weight': 503.0}
            inspection.defective = 0
        Inspection.save(lots)
        demo_control = lots[0].control
        plain_control, = Control.create([{
                    'name': "Plain check", 'company': lots[0].company.id,
                    'points': [('create', [{'name': 'ok', 'string': "OK",
                                    'type_': 'boolean'}])],
                    }])
        plain = Inspection.create([{
                    'company': lots[0].company.id,
                    'control': plain_control.id,
                    'origin': str(lots[0].moves[0]) if lots[0].moves
                    else None,
                    'points': {'ok': True}} for _ in range(count)])
        decide, plain_times = [], []
        for lot, other in zip(lots, plain):
            start = time.perf_counter()
            Inspection.process([lot])
            decide.append(time.perf_counter() - start)
            start = time.perf_counter()
            Inspection.process([other])
            plain_times.append(time.perf_counter() - start)
        passed = sum(1 for i in Inspection.browse(lots)
            if i.decision == 'pass' and i.release_shipment)
        print(f"\n3. Deciding an inspection, {count} quarantined lots of "
            f"{demo_control.rec_name} ({passed} passed and released), ms")
        print(f"{'':<44} {'p50':>9} {'p95':>9}   "
            f"{'plain':>9} {'p95':>9}")
        row("process: checks, Ac, release to putaway",
            percentiles(decide), percentiles(plain_times))
        Transaction().rollback()


def main():
    args = parse_args()
    sys.path.insert(0, ROOT)
    bench_pure(args.lookups)
    if not args.skip_db:
        bench_db(args.lookups, args.inspections)


if __name__ == '__main__':
    main()
