#!/usr/bin/env python3
"""Stock valuation reconciliation (issue 12, D2), beside its baseline.
Standalone:

    .venv/bin/python tests/bench/bench_valuation.py [--uri postgresql://…]
        [--scale 1] [--calls 3]

On a fresh database (PostgreSQL with ``--uri``, else SQLite in
``var/bench/``): the demo (``demo.generate``: chart, continental fiscal
years, the curated moves posted by account_stock_continental) and the bulk
data of ``--scale`` (scale × 1 000 products, × 10 000 done moves, their
entries posted set-based).  Then, at today, for the whole company:

- ours: the ``stock.valuation.reconciliation`` totals and the
  ``stock.valuation.difference`` lines (two ``search`` + ``read``, one
  SQL query each over the move history and the stock account lines);
- baseline: the same figures computed record by record with the ORM (every
  done move, its entries, every stock account line:
  ``tests/test_valuation.naive_reconciliation``).

Both must give the same totals and lines (checked).  It never fails on a
figure.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--uri', default=os.environ.get(
            'TRYTOND_DATABASE_URI'), help="PostgreSQL URI (else SQLite)")
    parser.add_argument('--scale', type=float, default=1)
    parser.add_argument('--calls', type=int, default=3)
    return parser.parse_args()


def timed(call, calls):
    "The result of the last call and the median seconds"
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def bench_database(args):
    from benchdb import fresh_database
    backend = fresh_database('bench_valuation')
    from trytond.modules.company.tests import set_company
    from trytond.modules.inventory_flow.demo import (
        _warehouse, generate, generate_bulk)
    from trytond.modules.inventory_flow.tests.test_valuation import (
        naive_reconciliation, report, same)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    from trytond.transaction import TransactionError
    start = time.perf_counter()
    # as scripts/demo.py: a singleton's creation asks for its table's lock
    extras = {'_lock_tables': ['stock_move']}
    while True:
        with Transaction().start(db_name, 0, **extras) as transaction:
            try:
                generate()
                pool = Pool()
                Company = pool.get('company.company')
                company, = Company.search(
                    [], order=[('id', 'DESC')], limit=1)
                with set_company(company), Transaction().set_context(
                        _skip_warnings=True):
                    bulk = generate_bulk(company, _warehouse(),
                        products=round(args.scale * 1000),
                        bins=round(args.scale * 200),
                        moves=round(args.scale * 10000))
            except TransactionError as error:
                transaction.rollback()
                error.fix(extras)
                continue
            company = company.id
            transaction.commit()
            break
    print(f"bench: demo + bulk ({bulk['done moves']} moves, "
        f"{bulk['stock entries']} entries) in "
        f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)

    with Transaction().start(db_name, 0) as transaction:
        pool = Pool()
        Company = pool.get('company.company')
        Move = pool.get('stock.move')
        Line = pool.get('account.move.line')
        company = Company(company)
        today = pool.get('ir.date').today()
        with set_company(company):
            moves = Move.search_count([('state', '=', 'done')])
            lines = Line.search_count([])
            ours, ours_s = timed(lambda: report(company, today), args.calls)
            naive, naive_s = timed(
                lambda: naive_reconciliation(company, today), 1)
            left, right = same(ours, naive)
        transaction.rollback()  # set_company wrote the user
    print(f"\n{backend}: reconciliation at today, {moves} done moves, "
        f"{lines} account move lines")
    print(f"{'method':52} {'rows':>5} {'lines':>6} {'s':>8}")
    print(f"{'ours: table_query report (totals + lines)':52} "
        f"{len(ours[0]):5d} {len(ours[1]):6d} {ours_s:8.3f}")
    print(f"{'baseline: per-move ORM computation':52} "
        f"{len(naive[0]):5d} {len(naive[1]):6d} {naive_s:8.3f}")
    print(f"same totals and lines: {left == right}; "
        f"speed-up ×{naive_s / ours_s:.0f}")


def main():
    args = parse_args()
    sys.path.insert(0, os.path.join(ROOT, 'addons'))
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ.setdefault('TRYTOND_DATABASE_URI', args.uri or 'sqlite://')
    if args.uri:
        os.environ['TRYTOND_DATABASE_URI'] = args.uri
    bench_database(args)


if __name__ == '__main__':
    main()
