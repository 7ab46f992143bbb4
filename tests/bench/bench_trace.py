#!/usr/bin/env python3
"""Traceability of one lot through 10 000 moves (D3, issue 12), in process,
beside the plain-Tryton way of answering the same question.  Standalone:

    .venv/bin/python tests/bench/bench_trace.py [--moves 10000] [--calls 5]
    .venv/bin/python tests/bench/bench_trace.py --uri "$(scripts/pg.sh start /tmp/tracepg)"

It builds a database of the four modules (SQLite in ``var/bench/`` or the
PostgreSQL server of ``--uri``), one lot-tracked product and one lot whose
history is ``--moves`` done moves: receipts from suppliers into bins, moves
between bins, deliveries to ``--customers`` customers (one customer
shipment per ten deliveries) and a few customer returns, written set-based.
Then it times, as the web client or the report would run them:

* recall list: ``stock.lot.recall`` ``search_read`` for the lot (every
  customer who received it, with quantities and dates) beside the plain way:
  ``stock.move`` search of the lot's done moves to or from customers and a
  read of each shipment's customer through the ORM;
* trace tree: the first page (100 rows) of Tryton's ``stock.lot.trace``
  of the lot, then one level of ``upward_traces`` for 10 of its nodes (what
  opening the tree and expanding rows reads);
* trace PDF: ``stock.lot.trace_report`` rendered for the lot (upstream,
  approvals, moves between bins, downstream, recall), its size and pages.

It prints p50/p95 milliseconds; it never fails on a figure.
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--uri', default=os.environ.get(
            'TRYTOND_DATABASE_URI', 'sqlite://'))
    parser.add_argument('--moves', type=int, default=10000)
    parser.add_argument('--customers', type=int, default=300)
    parser.add_argument('--calls', type=int, default=5)
    return parser.parse_args()


def say(*args):
    print('bench:', *args, file=sys.stderr, flush=True)


def timed(function, calls):
    function()  # warm-up: caches, plans
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[max(0, min(len(times) - 1, round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, result


def setup(moves, customers):
    """Create the lot and its history; return (lot id, counts)"""
    from decimal import Decimal

    from trytond.modules.company.tests import create_company, set_company
    from trytond.modules.inventory_flow.layout import RackBlock
    from trytond.modules.inventory_flow.location import generate_layout
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Location = pool.get('stock.location')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Lot = pool.get('stock.lot')
    Party = pool.get('party.party')
    Shipment = pool.get('stock.shipment.out')
    Move = pool.get('stock.move')

    company = create_company()
    with set_company(company):
        warehouse, = Location.search([('type', '=', 'warehouse')])
        supplier, = Location.search([('code', '=', 'SUP')])
        customer_location, = Location.search([('code', '=', 'CUS')])
        bins = generate_layout(
            warehouse, RackBlock('T', 2, 1, 5, 1), zone='pick')
        unit, = Uom.search([('name', '=', 'Unit')])
        template, = Template.create([{
                    'name': 'Traced', 'type': 'goods',
                    'default_uom': unit.id, 'lot_required': ['supplier',
                        'storage', 'customer'],
                    'products': [('create', [{}])],
                    }])
        product, = template.products
        lot, = Lot.create([{'number': 'TRACE-1', 'product': product.id}])
        parties = Party.create([{
                    'name': f'Customer {i:04d}',
                    'addresses': [('create', [{'street': f'{i} Road'}])],
                    } for i in range(customers)])
        deliveries = moves // 2
        shipments = Shipment.create([{
                    'customer': p.id,
                    'delivery_address': p.addresses[0].id,
                    'warehouse': warehouse.id,
                    'warehouse_storage': warehouse.storage_location.id,
                    'warehouse_output': warehouse.output_location.id,
                    'company': company.id,
                    } for p in (parties[i % customers]
                        for i in range((deliveries + 9) // 10))])
        Shipment.write(shipments, {'state': 'done'})

        table = Move.__table__()
        cursor = Transaction().connection.cursor()
        receipts = moves // 10
        returns = moves // 100
        internal = moves - receipts - deliveries - returns
        rows = []
        day = 0
        for i in range(receipts):
            rows.append((supplier.id, bins[i % len(bins)].id, 100, None))
        for i in range(internal):
            rows.append((bins[i % len(bins)].id,
                    bins[(i + 1) % len(bins)].id, 5, None))
        for i in range(deliveries):
            rows.append((bins[i % len(bins)].id, customer_location.id, 1,
                    f'stock.shipment.out,{shipments[i // 10].id}'))
        for i in range(returns):
            rows.append((customer_location.id, bins[0].id, 1, None))
        import datetime as dt
        start = dt.date.today() - dt.timedelta(days=len(rows) // 20 + 1)
        values = []
        for index, (source, target, quantity, shipment) in enumerate(rows):
            day = start + dt.timedelta(days=index // 20)
            values.append([product.id, lot.id, unit.id, quantity, quantity,
                    source, target, company.id, 'done', day, day, shipment,
                    Decimal(1), company.currency.id, 0])
        columns = [table.product, table.lot, table.unit, table.quantity,
            table.internal_quantity, table.from_location, table.to_location,
            table.company, table.state, table.effective_date,
            table.planned_date, table.shipment, table.unit_price,
            table.currency, table.create_uid]
        for index in range(0, len(values), 1000):
            cursor.execute(*table.insert(columns,
                    values=values[index:index + 1000]))
        return lot.id, {
            'receipts': receipts, 'between bins': internal,
            'deliveries': deliveries, 'returns': returns,
            'shipments': len(shipments), 'customers': customers}


def recall_ours(lot_id, limit=None):
    "The recall list as the web client reads it (pages of 1 000 rows)"
    from trytond.pool import Pool
    Recall = Pool().get('stock.lot.recall')
    rows, offset = [], 0
    while True:
        page = Recall.search_read([('lot', '=', lot_id)],
            offset=offset, limit=1000, fields_names=[
                'customer', 'customer.rec_name', 'shipment.rec_name', 'sale.rec_name',
                'date', 'quantity'])
        rows.extend(page)
        offset += 1000
        if len(page) < 1000 or (limit and len(rows) >= limit):
            return rows


def recall_plain(lot_id):
    "What a Tryton user does without the recall list"
    from trytond.pool import Pool
    Move = Pool().get('stock.move')
    rows = []
    for move in Move.search([  # the customer of each, as a user reads it
                ('lot', '=', lot_id), ('state', '=', 'done'),
                ['OR',
                    ('to_location.type', '=', 'customer'),
                    ('from_location.type', '=', 'customer')],
                ]):
        shipment = move.shipment
        customer = getattr(shipment, 'customer', None)
        sign = 1 if move.to_location.type == 'customer' else -1
        rows.append((customer.id if customer else None,
                move.effective_date, sign * move.quantity))
    return rows


def trace_tree(lot_id, plain=False):
    """Open the lot's upward trace tree (first 100 rows) and expand 10
    nodes; ``plain`` computes the children with Tryton's own getter"""
    from trytond.modules.stock_lot.stock import LotTrace
    from trytond.pool import Pool
    Trace = Pool().get('stock.lot.trace')
    rows = Trace.search_read([('lot', '=', lot_id)],
        order=[('date', 'ASC'), ('id', 'ASC')], limit=100,
        fields_names=['product', 'lot', 'from_location', 'to_location',
            'quantity', 'date', 'document'])
    ids = [r['id'] for r in rows[:10]]
    if plain:
        children = [LotTrace.get_upward_traces(n, 'upward_traces')
            for n in Trace.browse(ids)]
    else:
        # What the web client asks when rows are expanded: their ids
        children = [r['upward_traces']
            for r in Trace.read(ids, ['upward_traces'])]
    return len(rows), sum(map(len, children)), children


def trace_pdf(lot_id):
    from trytond.pool import Pool
    Report = Pool().get('stock.lot.trace_report', type='report')
    _, data, _, _ = Report.execute([lot_id], {})
    return data


def main():
    args = parse_args()
    os.environ['TRYTOND_DATABASE_URI'] = args.uri
    os.environ.setdefault('DB_CACHE', '/tmp/cache-bench-trace')
    from benchdb import fresh_database
    backend = fresh_database('bench_trace')
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    start = time.perf_counter()
    with Transaction().start(db_name, 0) as transaction:
        lot_id, counts = setup(args.moves, args.customers)
        transaction.commit()
    say(f"{args.moves} moves of one lot written in "
        f"{time.perf_counter() - start:.0f} s: {counts}")
    Company = None
    with Transaction().start(db_name, 0, readonly=True):
        Company = Pool().get('company.company')
        company, = Company.search([], limit=1)
    lines = []
    with Transaction().start(db_name, 0, readonly=True, context={
                'company': company.id}):
        ours = timed(lambda: recall_ours(lot_id), args.calls)
        plain = timed(lambda: recall_plain(lot_id), args.calls)
        first = timed(lambda: recall_ours(lot_id, limit=1000), args.calls)
        lines.append(('recall list: first page (1 000 rows)', first, None,
                f'{len(first[2])} rows'))
        customers = {r['customer'] for r in ours[2]}
        plain_customers = {r[0] for r in plain[2]}
        assert customers == plain_customers, (
            len(customers), len(plain_customers))
        lines.append(('recall list: all pages vs move search + ORM',
                ours, plain, f'{len(ours[2])} rows, {len(customers)} '
                'customers'))
        tree = timed(lambda: trace_tree(lot_id), args.calls)
        plain_tree = timed(lambda: trace_tree(lot_id, plain=True),
            max(1, args.calls // 5))
        assert [list(map(int, c)) for c in tree[2][2]] == [
            list(map(int, c)) for c in plain_tree[2][2]]
        lines.append(('trace tree: first 100 rows + 10 expanded',
                tree, plain_tree, f'{tree[2][0]} rows, {tree[2][1]} '
                'children (same as plain)'))
        pdf = timed(lambda: trace_pdf(lot_id), max(1, args.calls // 2))
        pages = pdf[2].count(b'/Type /Page\n') or pdf[2].count(b'/Type /Page')
        lines.append(('trace PDF (LotTraceReport.execute)', pdf, None,
                f'{len(pdf[2]) // 1024} KiB, ~{pages} pages'))
    print(f"Trace of one lot through {args.moves} moves, {backend}, "
        f"{args.calls} calls, ms")
    print(f"{'what':48} {'p50':>8} {'p95':>8} {'plain p50':>10} "
        f"{'plain/ours':>10}  result")
    for label, ours, plain, note in lines:
        ratio = f'{plain[0] / ours[0]:.1f}x' if plain else '-'
        plain_p50 = f'{plain[0]:.0f}' if plain else '-'
        print(f"{label:48} {ours[0]:8.0f} {ours[1]:8.0f} {plain_p50:>10} "
            f"{ratio:>10}  {note}")
    print(f"cpus {os.cpu_count()}, load average "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
