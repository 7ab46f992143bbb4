#!/usr/bin/env python3
"""Waves, batches and routes (issue 8, C3), each figure beside its baseline.
Standalone:

    .venv/bin/python tests/bench/bench_wave.py [--uri postgresql://…]
        [--orders 1000] [--skip-db]
    .venv/bin/python tests/bench/bench_wave.py --demo

1. Routing time of :func:`routing.optimal_route` for 50 and 200 picks
   (20 aisles, one block and with a middle cross-aisle) beside the S-shape
   heuristic, and the distances of both.
2. Batching of 1 000 open orders (1 to 4 lines, carts of 8 totes) in waves
   of 100: savings batches on optimal routes beside first-come batches on
   S-shape routes and first-come batches on optimal routes.
3. On a database (PostgreSQL with ``--uri``, else SQLite): 1 000 reserved
   customer shipments → ``stock.wave.template`` ``build_waves`` (waves,
   batches, routes and pick tasks written), wall time.

With ``--demo`` only: the curated demo data (``inventory_flow.demo``) on a
new SQLite database, its reserved shipments built into waves by the default
template "All Reserved Orders"; each wave's route distance beside the
first-come S-shape baseline.

It never fails on a figure (tests never assert on time).
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
    parser.add_argument('--uri', default=os.environ.get(
            'TRYTOND_DATABASE_URI'), help="PostgreSQL URI (else SQLite)")
    parser.add_argument('--orders', type=int, default=1000)
    parser.add_argument('--skip-db', action='store_true')
    parser.add_argument('--demo', action='store_true',
        help="only: waves of the curated demo data vs first-come S-shape")
    parser.add_argument('--seed', type=int, default=8)
    parser.add_argument('--profile', action='store_true',
        help="print the cProfile of one build")
    return parser.parse_args()


LAYOUT = {'aisles': 20, 'aisle_spacing': 3, 'aisle_length': 30,
    'cross_aisles': [0, 30], 'depot': [0, 0]}


def bench_routing(seed):
    from trytond.modules.inventory_wave.routing import (
        optimal_route, s_shape_route)
    rng = random.Random(seed)
    rows = []
    for cross in ([0, 30], [0, 15, 30]):
        layout = dict(LAYOUT, cross_aisles=cross)
        for n in (50, 200):
            instances = [[{'id': i, 'aisle': rng.randrange(20),
                        'y': rng.randrange(31)} for i in range(n)]
                for _ in range(20)]
            times, s_times, distance, s_distance = [], [], 0, 0
            for picks in instances:
                start = time.perf_counter()
                route = optimal_route(layout, picks)
                times.append(time.perf_counter() - start)
                start = time.perf_counter()
                s_route = s_shape_route(layout, picks)
                s_times.append(time.perf_counter() - start)
                distance += route.distance
                s_distance += s_route.distance
            rows.append((len(cross) - 1, n,
                    statistics.median(times) * 1000, max(times) * 1000,
                    statistics.median(s_times) * 1000,
                    distance / len(instances), s_distance / len(instances)))
    print("\n1. Routing, 20 aisles x 30 m, median of 20 random instances")
    print(f"{'blocks':>6} {'picks':>5} {'optimal ms':>10} {'max ms':>7} "
        f"{'S-shape ms':>10} {'optimal m':>9} {'S-shape m':>9} {'saved':>6}")
    for blocks, n, t, tmax, st, d, sd in rows:
        print(f"{blocks:6d} {n:5d} {t:10.2f} {tmax:7.2f} {st:10.2f} "
            f"{d:9.1f} {sd:9.1f} {100 * (1 - d / sd):5.1f}%")


def generate_orders(rng, count, aisles=20, positions=30):
    from trytond.modules.inventory_wave.batching import Order
    # A few fast movers in the front aisles, as ABC slotting does
    return [Order(i, tuple(
                (min(int(rng.expovariate(0.25)), aisles - 1),
                    rng.randrange(positions) + 0.5)
                for _ in range(rng.randint(1, 4))))
        for i in range(count)]


def bench_batching(seed, count):
    from trytond.modules.inventory_wave import batching, routing
    rng = random.Random(seed)
    orders = generate_orders(rng, count)
    capacity = batching.Capacity(totes=8)
    layout = routing.parse_layout(LAYOUT)
    totals = {'savings': 0, 'fcfs_s': 0, 'fcfs_opt': 0}
    batches = {'savings': 0, 'fcfs': 0}
    start = time.perf_counter()
    for wave in batching.cut_waves(orders, max_orders=100):
        wave_orders = [o for o in orders if o.id in set(wave)]
        plan = batching.plan_batches(layout, wave_orders, capacity)
        totals['savings'] += plan.distance
        totals['fcfs_s'] += plan.fcfs_distance
        batches['savings'] += len(plan.batches)
        batches['fcfs'] += len(plan.fcfs)
        for ids in plan.fcfs:
            totals['fcfs_opt'] += batching._route(
                layout, wave_orders, ids, routing.optimal_route).distance
    elapsed = time.perf_counter() - start
    print(f"\n2. Batching {count} orders (1-4 lines, 20 aisles, carts of 8 "
        f"totes, waves of 100): {elapsed:.2f} s with the baseline")
    print(f"{'method':34} {'batches':>7} {'metres':>9} {'vs FCFS+S':>9}")
    for label, key, n in [
            ("first come + S-shape (baseline)", 'fcfs_s', batches['fcfs']),
            ("first come + optimal route", 'fcfs_opt', batches['fcfs']),
            ("savings batches + optimal route", 'savings',
                batches['savings'])]:
        print(f"{label:34} {n:7d} {totals[key]:9.0f} "
            f"{100 * (1 - totals[key] / totals['fcfs_s']):8.1f}%")


def bench_database(args):
    from benchdb import fresh_database
    backend = fresh_database('bench_wave')
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    with Transaction().start(db_name, 0) as transaction:
        start = time.perf_counter()
        template = setup_orders(args)
        transaction.commit()
    print(f"bench: {args.orders} reserved shipments in "
        f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    rows = []
    for _ in range(3):
        with Transaction().start(db_name, 0) as transaction:
            pool = Pool()
            Template = pool.get('stock.wave.template')
            Wave = pool.get('stock.wave')
            Line = pool.get('stock.wave.batch.line')
            start = time.perf_counter()
            if args.profile:
                import cProfile
                import pstats
                profile = cProfile.Profile()
                profile.runcall(Template.build_waves, [Template(template)])
                pstats.Stats(profile).sort_stats('cumulative').print_stats(40)
            else:
                Template.build_waves([Template(template)])
            elapsed = time.perf_counter() - start
            waves = Wave.search([])
            rows.append((elapsed, len(waves),
                    sum(len(w.batches) for w in waves),
                    Line.search_count([]),
                    sum(w.distance for w in waves),
                    sum(w.fcfs_distance for w in waves)))
            transaction.rollback()
    elapsed, waves, batches, lines, distance, fcfs = rows[-1]
    print(f"\n3. {backend}: {args.orders} reserved shipments -> "
        "build_waves (read, cut, batch, route, write)")
    print(f"{'run':>3} {'seconds':>8} {'waves':>6} {'batches':>8} "
        f"{'tasks':>6} {'metres':>8} {'FCFS+S m':>9} {'saved':>6}")
    for n, (elapsed, waves, batches, lines, distance, fcfs) in enumerate(
            rows, 1):
        print(f"{n:3d} {elapsed:8.2f} {waves:6d} {batches:8d} {lines:6d} "
            f"{distance:8.0f} {fcfs:9.0f} "
            f"{100 * (1 - distance / fcfs):5.1f}%")
    test_tryton.drop_db(db_name)


def bench_demo():
    "Waves of the curated demo's reserved shipments (default template)"
    os.environ['DB_NAME'] = 'bench_wave_demo'
    import importlib
    import trytond.tests.test_tryton as test_tryton
    from trytond import config
    config.set('database', 'uri', os.environ['TRYTOND_DATABASE_URI'])
    path = os.path.join(ROOT, 'var', 'bench')
    os.makedirs(path, exist_ok=True)
    config.set('database', 'path', path)
    importlib.reload(test_tryton)
    from trytond.modules.inventory_flow.tests.tools import SUITE_MODULES
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    test_tryton.drop_db(db_name)
    test_tryton.activate_module(SUITE_MODULES)
    # The demo's stock reservation locks the move table: take it at start
    with Transaction().start(db_name, 0,
            _lock_tables=['stock_move']) as transaction:
        from trytond.modules.inventory_flow import demo
        demo.generate()
        pool = Pool()
        Template = pool.get('stock.wave.template')
        Wave = pool.get('stock.wave')
        Shipment = pool.get('stock.shipment.out')
        Company = pool.get('company.company')
        company, = Company.search([])
        with Transaction().set_context(company=company.id):
            reserved = Shipment.search_count([('state', '=', 'assigned')])
            templates = Template.search([])
            Template.build_waves(templates)
            waves = Wave.search([], order=[('id', 'ASC')])
            print(f"\nDemo data: {reserved} reserved shipments -> "
                f"template(s) {', '.join(t.name for t in templates)}")
            print(f"{'wave':>8} {'orders':>6} {'batches':>7} {'stops':>5} "
                f"{'metres':>7} {'FCFS+S m':>8} {'saved':>6}")
            for wave in waves:
                stops = sum(len({(l.sequence) for l in b.lines})
                    for b in wave.batches)
                print(f"{wave.number or wave.id:>8} {len(wave.shipments):6d} "
                    f"{len(wave.batches):7d} {stops:5d} "
                    f"{wave.distance:7.1f} {wave.fcfs_distance:8.1f} "
                    f"{wave.saving:5.1f}%")
        transaction.rollback()
    test_tryton.drop_db(db_name)


def setup_orders(args):
    "1 000 assigned customer shipments over 20 aisles, set-based"
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
    Move = pool.get('stock.move')
    Party = pool.get('party.party')
    Shipment = pool.get('stock.shipment.out')
    ModelData = pool.get('ir.model.data')
    WaveTemplate = pool.get('stock.wave.template')
    rng = random.Random(args.seed)
    company = create_company()
    with set_company(company), Transaction().set_context(
            _skip_warnings=True):
        warehouse, = Location.search([('type', '=', 'warehouse')])
        bins = generate_layout(warehouse, RackBlock('A', 1, 20, 30, 1))
        bins.sort(key=lambda b: (b.aisle, b.position))
        unit, = Uom.search([('name', '=', 'Unit')])
        products = [t.products[0] for t in Template.create([{
                        'name': f'P{i:03d}', 'default_uom': unit.id,
                        'type': 'goods', 'products': [('create', [{}])],
                        } for i in range(300)])]
        # Product i sits in one bin; the fast movers in the front aisles
        slot = {p.id: bins[(i * 7) % len(bins)]
            for i, p in enumerate(products)}
        by_rank = sorted(products,
            key=lambda p: (slot[p.id].aisle, slot[p.id].position))
        supplier = Location(ModelData.get_id('stock', 'location_supplier'))
        customer = Location(ModelData.get_id('stock', 'location_customer'))
        moves = Move.create([{
                    'product': p.id, 'unit': unit.id, 'quantity': 10000,
                    'from_location': supplier.id,
                    'to_location': slot[p.id].id, 'company': company.id,
                    'unit_price': Decimal(1),
                    'currency': company.currency.id,
                    } for p in products])
        Move.do(moves)
        party, = Party.create([{'name': 'Customer',
                    'customer_location': customer.id,
                    'addresses': [('create', [{}])]}])
        values = []
        for i in range(args.orders):
            values.append({
                    'customer': party.id,
                    'delivery_address': party.addresses[0].id,
                    'company': company.id, 'warehouse': warehouse.id,
                    'warehouse_storage': warehouse.storage_location.id,
                    'warehouse_output': warehouse.output_location.id,
                    'planned_date': None,
                    })
        shipments = Shipment.create(values)
        move_values = []
        for shipment in shipments:
            for _ in range(rng.randint(1, 4)):
                product = by_rank[min(int(rng.expovariate(1 / 40)),
                        len(by_rank) - 1)]
                move_values.append({
                        'product': product.id, 'unit': unit.id,
                        'quantity': rng.randint(1, 3),
                        'from_location': warehouse.output_location.id,
                        'to_location': customer.id,
                        'company': company.id, 'unit_price': Decimal(2),
                        'currency': company.currency.id,
                        'shipment': str(shipment),
                        })
        Move.create(move_values)
        Shipment.wait(shipments)
        inventory = Move.search([
                ('shipment', 'in', [str(s) for s in shipments]),
                ('to_location', '=', warehouse.output_location.id),
                ])
        by_bin = {}
        for move in inventory:
            by_bin.setdefault(slot[move.product.id].id, []).append(move)
        args_ = []
        for bin_id, bin_moves in by_bin.items():
            args_.extend([bin_moves, {'from_location': bin_id}])
        Move.write(*args_)
        Move.assign(inventory)
        Shipment.assign(shipments)
        template, = WaveTemplate.create([{
                    'name': 'Bench', 'warehouse': warehouse.id,
                    'cart_totes': 8, 'max_orders': 100,
                    'automatic': False,
                    }])
    return template.id


def main():
    args = parse_args()
    sys.path.insert(0, ROOT)
    # The backend is chosen when trytond is first imported
    if args.uri and args.uri.startswith('postgresql'):
        os.environ['TRYTOND_DATABASE_URI'] = args.uri.rstrip('/') + '/'
    else:
        os.environ['TRYTOND_DATABASE_URI'] = 'sqlite://'
    if args.demo:
        bench_demo()
        return 0
    bench_routing(args.seed)
    bench_batching(args.seed, args.orders)
    if not args.skip_db:
        bench_database(args)
    return 0


if __name__ == '__main__':
    sys.exit(main())
