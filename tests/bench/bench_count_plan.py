#!/usr/bin/env python3
"""Cycle count planning (issue 11, B4), each figure beside its baseline.
Standalone:

    .venv/bin/python tests/bench/bench_count_plan.py [--uri postgresql://…]
        [--bins 20000] [--skip-db]

1. The pure planner (:func:`count_plan.plan`) on 20 000 bins (20 % A
   monthly, 30 % B quarterly, 50 % C yearly) for a month (20 working days)
   and a year (250 working days) at the smallest capacity that fits.
2. On a database (PostgreSQL with ``--uri``, else SQLite): 20 000 bins,
   one product of class A/B/C in four bins of five, ``stock.count.plan``
   ``plan`` for a month (bins and classes gathered in a few queries, the
   planner, the tasks inserted in one statement per thousand) beside the
   plain-Tryton way of writing the same tasks (``ModelStorage.create``).

The goal is under 2 s for 20 000 bins.  It never fails on a figure.
"""
import argparse
import datetime as dt
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--uri', default=os.environ.get(
            'TRYTOND_DATABASE_URI'), help="PostgreSQL URI (else SQLite)")
    parser.add_argument('--bins', type=int, default=20000)
    parser.add_argument('--skip-db', action='store_true')
    return parser.parse_args()


INTERVALS = {'A': 21, 'B': 62, 'C': 250}


def classes(n):
    return ['A' if i % 10 < 2 else 'B' if i % 10 < 5 else 'C'
        for i in range(n)]


def bench_planner(n):
    from trytond.modules.inventory_flow.count_plan import plan
    bins = [(i, c, None) for i, c in enumerate(classes(n))]
    print(f"\n1. Pure planner, {n} bins (A monthly, B quarterly, "
        "C yearly)")
    print(f"{'horizon':>14} {'capacity':>8} {'counts':>7} "
        f"{'max/day':>7} {'min/day':>7} {'ms':>8}")
    for days in (20, 250):
        due = sum(-(-days // INTERVALS[c]) for _, c, _ in bins)
        capacity = -(-due // days) + 5
        start = time.perf_counter()
        result = plan(bins, INTERVALS, days, capacity)
        elapsed = (time.perf_counter() - start) * 1000
        loads = [len(result.days.get(d, [])) for d in range(days)]
        print(f"{str(days) + ' days':>14} {capacity:8d} {sum(loads):7d} "
            f"{max(loads):7d} {min(loads):7d} {elapsed:8.0f}")


def setup_bins(n):
    "n bins, products of classes A/B/C in 4 bins of 5 (done moves, SQL)"
    from trytond.modules.company.tests import create_company, set_company
    from trytond.modules.inventory_flow.layout import RackBlock
    from trytond.modules.inventory_flow.location import generate_layout
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Location = pool.get('stock.location')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Move = pool.get('stock.move')
    Configuration = pool.get('stock.count.configuration')
    company = create_company()
    with set_company(company):
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier, = Location.search([('code', '=', 'SUP')])
        levels = 8
        aisles = -(-n // (50 * levels))
        bins = generate_layout(warehouse, RackBlock('B', 1, aisles, 50,
                levels))[:n]
        unit, = Uom.search([('name', '=', 'Unit')])
        templates = Template.create([{
                    'name': f'P{i}', 'type': 'goods',
                    'default_uom': unit.id,
                    'products': [('create', [{
                                    'abc_class': 'ABC'[i % 3]}])],
                    } for i in range(500)])
        products = [t.products[0].id for t in templates]
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        today = dt.date.today()
        rows = [[products[i % len(products)], unit.id, 10.0, 10.0,
                supplier.id, b.id, 'done', company.id, today, today]
            for i, b in enumerate(bins) if i % 5]
        for i in range(0, len(rows), 1000):
            cursor.execute(*move.insert([move.product, move.unit,
                        move.quantity, move.internal_quantity,
                        move.from_location, move.to_location, move.state,
                        move.company, move.effective_date,
                        move.planned_date], rows[i:i + 1000]))
        configuration = Configuration(1)
        configuration.daily_capacity = 1000
        configuration.save()
    return company, warehouse, bins


def bench_database(args):
    from benchdb import fresh_database
    backend = fresh_database('bench_count')
    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    # the count configuration is a singleton: its creation locks the table
    with Transaction().start(db_name, 0,
            _lock_tables=['stock_count_configuration']) as transaction:
        start = time.perf_counter()
        company, warehouse, bins = setup_bins(args.bins)
        company, warehouse = company.id, warehouse.id
        transaction.commit()
    print(f"bench: {args.bins} bins in {time.perf_counter() - start:.0f} s",
        file=sys.stderr, flush=True)
    print(f"\n2. {backend}: plan a month of counts for {args.bins} bins")
    print(f"{'method':44} {'tasks':>6} {'s':>7}")
    monday = dt.date.today() - dt.timedelta(days=dt.date.today().weekday())
    for run in range(2):
        with Transaction().start(db_name, 0) as transaction:
            pool = Pool()
            Plan = pool.get('stock.count.plan')
            Task = pool.get('stock.count.task')
            Company = pool.get('company.company')
            with set_company(Company(company)):
                plan, = Plan.create([{'name': f'Month {run}',
                            'warehouse': warehouse, 'start_date': monday,
                            'end_date': monday + dt.timedelta(days=27)}])
                start = time.perf_counter()
                Plan.plan([plan])
                ours = time.perf_counter() - start
                tasks = Task.search([('plan', '=', plan.id)])
                values = [{'plan': plan.id, 'warehouse': warehouse,
                        'location': t.location.id,
                        'planned_date': t.planned_date,
                        'abc_class': t.abc_class, 'company': company}
                    for t in tasks]
                Task.delete(tasks)
                start = time.perf_counter()
                Task.create(values)
                baseline = time.perf_counter() - start
            transaction.rollback()
        print(f"{'plan: queries + planner + set-based insert':44} "
            f"{len(values):6d} {ours:7.2f}")
        print(f"{'baseline: same tasks by ModelStorage.create':44} "
            f"{len(values):6d} {baseline:7.2f}")


def main():
    args = parse_args()
    sys.path.insert(0, os.path.join(ROOT, 'addons'))
    bench_planner(args.bins)
    if not args.skip_db:
        os.environ.setdefault('TRYTOND_DATABASE_URI',
            args.uri or 'sqlite://')
        if args.uri:
            os.environ['TRYTOND_DATABASE_URI'] = args.uri
        bench_database(args)


if __name__ == '__main__':
    main()
