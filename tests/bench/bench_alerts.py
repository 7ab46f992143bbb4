#!/usr/bin/env python3
"""Threshold evaluation and dashboard queries (issue 10, B1/B2), each figure
beside its baseline.  Standalone:

    .venv/bin/python tests/bench/bench_alerts.py [--uri postgresql://…]
        [--skus 100000] [--loop-sample 2000]

1. Builds ``--skus`` products × 2 warehouses, each with a product threshold
   (safety 10, minimum 5, maximum 50) and stock rows in
   ``stock.availability`` (1 % of the SKUs below safety), plus 1 000 incoming
   supplier moves; the rows are written with bulk SQL, the warehouses and
   moves with the ORM.
2. Times :meth:`stock.threshold.crossed_rows` — ONE set-based query over every
   SKU × warehouse — beside a per-product ORM loop (search the availability
   rows and incoming moves of each threshold and compare) run in the same
   process on ``--loop-sample`` thresholds and extrapolated linearly to all
   of them (the full loop would take tens of minutes).
3. Times ``stock.alert.rule.evaluate`` end to end: the first run opens the
   alerts of the crossed SKUs, the second finds nothing new (no duplicates).
4. Times the dashboard views (``table_query``) on the same large data:
   stock per SKU/warehouse/bin, stock age, turnover, near-expiry lots.

It never fails on a figure (tests never assert on time).
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
    parser.add_argument('--skus', type=int, default=100000)
    parser.add_argument('--loop-sample', type=int, default=2000)
    parser.add_argument('--repeat', type=int, default=3)
    return parser.parse_args()


def say(*args):
    print('bench:', *args, file=sys.stderr, flush=True)


def timed(function, repeat=1):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def _copy_rows(cursor, table, source_id, count, overrides, name_column):
    """Insert ``count`` copies of row ``source_id`` of ``table`` with
    ``overrides`` {column: SQL expression of x (1..count)}: one
    recursive-CTE statement (PostgreSQL and SQLite)."""
    cursor.execute(
        "SELECT * FROM %s WHERE id = %s LIMIT 0" % (table, int(source_id)))
    columns = [d[0] for d in cursor.description if d[0] != 'id']
    select = ', '.join(overrides.get(c, c) for c in columns)
    cursor.execute(
        "INSERT INTO %s (%s) WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL "
        "SELECT x + 1 FROM g WHERE x < %d) SELECT %s FROM %s, g "
        "WHERE %s.id = %d" % (table, ', '.join(columns), count, select,
            table, table, int(source_id)))


def setup(skus):
    from decimal import Decimal
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Location = pool.get('stock.location')
    Move = pool.get('stock.move')
    Rule = pool.get('stock.alert.rule')
    User = pool.get('res.user')
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    Currency = pool.get('currency.currency')
    cursor = Transaction().connection.cursor()

    currency, = Currency.create([{'name': 'Euro', 'code': 'EUR',
                'symbol': '€'}]) if not Currency.search([]) else \
        Currency.search([], limit=1)
    party, = Party.create([{'name': 'Bench Company'}])
    company, = Company.create([{'party': party.id,
                'currency': currency.id}])
    unit, = Uom.search([('name', '=', 'Unit')])
    template, = Template.create([{'name': 'Bench 0', 'type': 'goods',
                'default_uom': unit.id, 'code': 'B0',
                'products': [('create', [{}])]}])
    product = template.products[0]
    _copy_rows(cursor, 'product_template', template.id, skus - 1,
        {'name': "'Bench ' || x", 'code': "'B' || x"}, 'name')
    cursor.execute(
        "SELECT * FROM product_product WHERE id = %s LIMIT 0" % product.id)
    columns = [d[0] for d in cursor.description if d[0] not in {
            'id', 'template'}]
    cursor.execute(
        "INSERT INTO product_product (template, %s) SELECT t.id, %s FROM "
        "product_template t, product_product p WHERE p.id = %d AND "
        "t.code LIKE 'B%%' AND t.id != %d" % (
            ', '.join(columns),
            ', '.join('t.code' if c == 'code' else 'p.' + c
                for c in columns), product.id, template.id))

    wh1, = Location.search([('type', '=', 'warehouse')], limit=1)
    storage2, input2, output2 = Location.create([
            {'name': 'Storage 2', 'type': 'storage'},
            {'name': 'Input 2', 'type': 'storage'},
            {'name': 'Output 2', 'type': 'storage'}])
    wh2, = Location.create([{'name': 'Warehouse 2', 'code': 'WH2',
                'type': 'warehouse', 'storage_location': storage2.id,
                'input_location': input2.id,
                'output_location': output2.id}])
    Location.write([storage2, input2, output2], {'parent': wh2.id})
    supplier, = Location.search([('type', '=', 'supplier')], limit=1)

    now = "'2026-01-01 00:00:00'"
    for warehouse in (wh1, wh2):
        storage = warehouse.storage_location.id
        # 1 % of the SKUs are low (3 on hand); the others hold 20..49
        cursor.execute(
            "INSERT INTO stock_availability (product, location, on_hand, "
            "reserved, received, create_uid, create_date) SELECT p.id, %d, "
            "CASE WHEN p.id %% 100 = 0 THEN 3 ELSE 20 + (p.id * 37) %% 30 "
            "END, p.id %% 5, '2026-01-01', 0, %s FROM product_product p" % (
                storage, now))
        cursor.execute(
            "INSERT INTO stock_threshold (product, warehouse, safety, "
            "minimum, maximum, lead_time_days, active, create_uid, "
            "create_date) SELECT p.id, %d, 10, 5, 50, 7, %s, 0, %s "
            "FROM product_product p" % (warehouse.id, 'true', now))
    cursor.execute("SELECT id FROM product_product ORDER BY id LIMIT 1000")
    product_ids = [r[0] for r in cursor]
    with Transaction().set_context(company=company.id):
        Move.create([{'product': p, 'unit': unit.id, 'quantity': 5,
                    'from_location': supplier.id,
                    'to_location': wh1.input_location.id,
                    'planned_date': Pool().get('ir.date').today(),
                    'company': company.id, 'unit_price': Decimal('1'),
                    'currency': currency.id} for p in product_ids])
    admin, = User.search([('login', '=', 'admin')])
    Rule.create([{'name': 'Below safety', 'kind': 'safety',
                'owner': admin.id, 'action_flag': True}])
    cursor.execute("SELECT COUNT(*) FROM stock_threshold")
    return company, cursor.fetchone()[0]


def _threshold_products(cursor, threshold_ids):
    ids = list(threshold_ids)
    result = []
    for i in range(0, len(ids), 1000):
        cursor.execute("SELECT product, warehouse FROM stock_threshold "
            "WHERE id IN (%s)" % ','.join(map(str, ids[i:i + 1000])))
        result.extend(((p, w),) for p, w in cursor)
    return result


def orm_loop(threshold_ids):
    """The plain-Tryton way: for each threshold, search its availability rows
    and incoming moves with the ORM and compare."""
    import datetime as dt
    from trytond.modules.inventory_alerts.thresholds import crossed_kinds
    from trytond.pool import Pool
    pool = Pool()
    Threshold = pool.get('stock.threshold')
    Availability = pool.get('stock.availability')
    Move = pool.get('stock.move')
    today = pool.get('ir.date').today()
    crossed = 0
    for threshold in Threshold.browse(threshold_ids):
        rows = Availability.search([
                ('product', '=', threshold.product.id),
                ('location', 'child_of', [threshold.warehouse.id], 'parent'),
                ])
        incoming = Move.search([
                ('product', '=', threshold.product.id),
                ('from_location.type', '=', 'supplier'),
                ('to_location', 'child_of', [threshold.warehouse.id],
                    'parent'),
                ('state', 'in', ['draft', 'assigned', 'staging']),
                ('planned_date', '<=', today + dt.timedelta(
                        days=threshold.lead_time_days)),
                ])
        projected = (sum(r.on_hand - r.reserved for r in rows)
            + sum(m.internal_quantity for m in incoming))
        if crossed_kinds(projected, threshold.safety, threshold.minimum,
                threshold.maximum):
            crossed += 1
    return crossed


def bench(args):
    backend = ('PostgreSQL' if os.environ['TRYTOND_DATABASE_URI'].startswith(
            'postgresql') else 'SQLite')
    os.environ['DB_NAME'] = 'bench_alerts'
    import importlib
    import trytond.tests.test_tryton as test_tryton
    from trytond import config
    config.set('database', 'uri', os.environ['TRYTOND_DATABASE_URI'])
    if backend == 'SQLite':
        path = os.path.join(ROOT, 'var', 'bench')
        os.makedirs(path, exist_ok=True)
        config.set('database', 'path', path)
    importlib.reload(test_tryton)
    from trytond.modules.inventory_flow.tests.tools import SUITE_MODULES
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    test_tryton.drop_db(db_name)
    start = time.perf_counter()
    test_tryton.activate_module(SUITE_MODULES)
    say(f"{backend} database ready in {time.perf_counter() - start:.0f} s")
    with Transaction().start(db_name, 0) as transaction:
        start = time.perf_counter()
        company, thresholds = setup(args.skus)
        transaction.commit()
    say(f"{args.skus} SKUs x 2 warehouses ({thresholds} thresholds) in "
        f"{time.perf_counter() - start:.0f} s")
    if backend == 'PostgreSQL':
        with Transaction().start(db_name, 0) as transaction:
            transaction.connection.cursor().execute('ANALYZE')
            transaction.commit()

    rows = []
    with Transaction().start(db_name, 0, context={
                'company': company.id}) as transaction:
        pool = Pool()
        Threshold = pool.get('stock.threshold')
        Rule = pool.get('stock.alert.rule')
        seconds, crossed = timed(
            lambda: Threshold.crossed_rows(), args.repeat)
        rows.append(("set-based: one query, all SKU x warehouse",
                thresholds, seconds, len(crossed)))
        cursor = transaction.connection.cursor()
        cursor.execute("SELECT id FROM stock_threshold ORDER BY id")
        ids = [r[0] for r in cursor]
        import random
        sample = sorted(random.Random(10).sample(
                ids, min(args.loop_sample, len(ids))))
        loop_seconds, loop_crossed = timed(lambda: orm_loop(sample))
        per_threshold = loop_seconds / len(sample)
        rows.append((f"per-product ORM loop ({len(sample)} measured)",
                len(sample), loop_seconds, loop_crossed))
        sample_products = {r[0] for r in _threshold_products(cursor, sample)}
        rows.append(("  same sample by the set-based query", len(sample),
                None, sum(1 for r in crossed if (r.product, r.warehouse)
                    in sample_products)))
        rows.append(("per-product ORM loop, extrapolated to all",
                thresholds, per_threshold * thresholds, None))
        seconds_first, (opened, _) = timed(lambda: Rule.evaluate())
        rows.append(("evaluate: query + open alerts",
                thresholds, seconds_first, len(opened)))
        seconds_again, (opened_again, _) = timed(lambda: Rule.evaluate())
        rows.append(("evaluate again (no duplicates)",
                thresholds, seconds_again, len(opened_again)))
        transaction.rollback()

        dashboards = []
        for model in ['stock.dashboard.stock', 'stock.dashboard.age',
                'stock.dashboard.turnover',
                'stock.dashboard.turnover.category', 'stock.lot.expiry']:
            Model = pool.get(model)
            seconds, count = timed(
                lambda: Model.search_count([]), args.repeat)
            first, _ = timed(lambda: Model.read(
                    [r.id for r in Model.search([], limit=80)],
                    [n for n in Model._fields if n not in {
                            'create_uid', 'write_uid', 'create_date',
                            'write_date', 'rec_name'}]), args.repeat)
            dashboards.append((model, count, seconds, first))

    print(f"\nThreshold evaluation on {backend} "
        f"({args.skus} SKUs x 2 warehouses)")
    print(f"{'method':44} {'rows':>8} {'seconds':>9} {'crossed':>8}")
    for label, count, seconds, crossed in rows:
        seconds = '' if seconds is None else f'{seconds:9.3f}'
        print(f"{label:44} {count:8d} {seconds:>9} "
            f"{'' if crossed is None else crossed:>8}")
    print(f"speed-up of the set-based query over the ORM loop: "
        f"{per_threshold * thresholds / rows[0][2]:.0f}x")
    print(f"\nDashboard views on {backend} (same data)")
    print(f"{'view':36} {'rows':>8} {'count s':>8} {'80 rows s':>9}")
    for model, count, seconds, first in dashboards:
        print(f"{model:36} {count:8d} {seconds:8.3f} {first:9.3f}")


def main():
    args = parse_args()
    sys.path.insert(0, ROOT)
    if args.uri and args.uri.startswith('postgresql'):
        os.environ['TRYTOND_DATABASE_URI'] = args.uri.rstrip('/') + '/'
    else:
        os.environ['TRYTOND_DATABASE_URI'] = 'sqlite://'
    bench(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
