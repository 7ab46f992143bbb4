#!/usr/bin/env python3
"""Three-way match of supplier invoices (issue 12, D2), beside its baseline.
Standalone:

    .venv/bin/python tests/bench/bench_match.py [--uri postgresql://…]
        [--lines 500] [--skip-db]

1. The pure match (:func:`three_way.match_lines`) of 100 000 invoice lines.
2. On a database (PostgreSQL with ``--uri``, else SQLite): one purchase
   order of ``--lines`` lines invoiced on order, each line received in part,
   its supplier invoice in draft.  Timed: the match of all its lines as
   *Validate* does it (receipts, booked lines and acceptances in three
   searches, then the pure match), and the validation itself, beside plain
   Tryton's ``validate_invoice`` of the same invoice (the baseline).

``MATCH_PROFILE=1`` prints a profile of the first match.  It never fails on
a figure.
"""
import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--uri', default=os.environ.get(
            'TRYTOND_DATABASE_URI'), help="PostgreSQL URI (else SQLite)")
    parser.add_argument('--lines', type=int, default=500)
    parser.add_argument('--skip-db', action='store_true')
    return parser.parse_args()


def bench_pure(n=100000):
    from trytond.modules.inventory_flow.three_way import (
        LineFacts, Tolerance, match_lines)
    facts = [(i, i // 2, LineFacts(10, Decimal('5.00'), 8 + i % 3, 0,
                4 + i % 2, Decimal('5.00') + Decimal(i % 7) / 20))
        for i in range(n)]
    tolerance = Tolerance(price_percentage=Decimal(5))
    tolerances = {i: tolerance for i in range(n)}
    start = time.perf_counter()
    results = match_lines(facts, tolerances)
    elapsed = time.perf_counter() - start
    mismatches = sum(r.mismatch for r in results.values())
    print(f"\n1. Pure match of {n} invoice lines: {elapsed * 1000:.0f} ms "
        f"({mismatches} mismatches)")


def setup(lines):
    "A purchase of ``lines`` lines, each received in part, its invoice"
    from trytond.modules.account.tests.test_module import (
        create_chart, get_fiscalyear)
    from trytond.modules.account_invoice.tests.test_module import (
        set_invoice_sequences)
    from trytond.modules.company.tests import create_company, set_company
    from trytond.pool import Pool
    pool = Pool()
    Account = pool.get('account.account')
    Category = pool.get('product.category')
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    Party = pool.get('party.party')
    Purchase = pool.get('purchase.purchase')
    Move = pool.get('stock.move')
    Tolerance = pool.get('account.invoice.match.tolerance')
    company = create_company()
    with set_company(company):
        create_chart(company)
        fiscalyear = set_invoice_sequences(get_fiscalyear(company))
        fiscalyear.save()
        FiscalYear = pool.get('account.fiscalyear')
        FiscalYear.create_period([fiscalyear])
        expense, = Account.search([('type.expense', '=', True),
                ('closed', '!=', True)], limit=1)
        revenue, = Account.search([('type.revenue', '=', True),
                ('closed', '!=', True)], limit=1)
        category, = Category.create([{'name': 'Goods', 'accounting': True,
                    'account_expense': expense.id,
                    'account_revenue': revenue.id}])
        unit, = Uom.search([('name', '=', 'Unit')])
        templates = Template.create([{
                    'name': f'P{i}', 'type': 'goods', 'purchasable': True,
                    'default_uom': unit.id, 'purchase_uom': unit.id,
                    'account_category': category.id,
                    'products': [('create', [{}])],
                    } for i in range(lines)])
        supplier, = Party.create([{'name': 'Supplier',
                    'addresses': [('create', [{}])]}])
        Tolerance.create([{'company': company.id,
                    'price_percentage': Decimal(5)}])
        purchase, = Purchase.create([{
                    'party': supplier.id, 'invoice_method': 'order',
                    'invoice_address': supplier.addresses[0].id,
                    'lines': [('create', [{
                                    'product': t.products[0].id,
                                    'quantity': 10, 'unit': unit.id,
                                    'unit_price': Decimal('5.00'),
                                    } for t in templates])],
                    }])
        Purchase.quote([purchase])
        Purchase.confirm([purchase])
        Purchase.process([purchase])
        purchase = Purchase(purchase.id)
        moves = list(purchase.moves)
        Move.write(moves, {'quantity': 8})
        Move.do(moves)
        invoice, = purchase.invoices
        invoice.invoice_date = dt.date.today()
        for index, line in enumerate(invoice.lines):
            line.quantity = 8
            line.unit_price = Decimal('5.00') + Decimal(index % 5) / 20
        invoice.lines = invoice.lines
        invoice.save()
    return company.id, invoice.id


def plain_validate(Invoice):
    "Plain Tryton's validate_invoice: the class after ours in the MRO"
    from trytond.modules.inventory_flow import three_way_match
    for klass in Invoice.__mro__:
        if klass.__module__ == three_way_match.__name__:
            return super(klass, Invoice).validate_invoice


# the invoice number's strict sequence locks its row (SQLite: the table)
LOCKS = ['ir_sequence_strict', 'ir_sequence', 'account_journal_period',
    'account_move', 'account_move_line']


def bench_database(args):
    sys.path.insert(0, os.path.join(ROOT, 'tests', 'bench'))
    from benchdb import fresh_database
    backend = fresh_database('bench_match')
    from trytond.modules.company.tests import set_company
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    db_name = os.environ['DB_NAME']
    with Transaction().start(db_name, 0, _lock_tables=[
                'account_configuration', 'purchase_configuration',
                'stock_configuration']) as transaction:
        start = time.perf_counter()
        company, invoice = setup(args.lines)
        transaction.commit()
    print(f"bench: {args.lines} purchase lines received and invoiced in "
        f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print(f"\n2. {backend}: supplier invoice of {args.lines} lines")
    print(f"{'method':52} {'s':>7}")
    for run in range(2):
        with Transaction().start(db_name, 0,
                _lock_tables=LOCKS) as transaction:
            pool = Pool()
            Invoice = pool.get('account.invoice')
            Line = pool.get('account.invoice.line')
            Company = pool.get('company.company')
            with set_company(Company(company)):
                lines = Invoice(invoice).lines
                start = time.perf_counter()
                if os.environ.get('MATCH_PROFILE') and not run:
                    import cProfile
                    import pstats
                    profile = cProfile.Profile()
                    matches = profile.runcall(
                        Line.match, lines, together=True)
                    pstats.Stats(profile).sort_stats(
                        'tottime').print_stats(25)
                else:
                    matches = Line.match(lines, together=True)
                match = time.perf_counter() - start
                start = time.perf_counter()
                plain_validate(Invoice)([Invoice(invoice)])
                baseline = time.perf_counter() - start
            transaction.rollback()
        with Transaction().start(db_name, 0,
                _lock_tables=LOCKS) as transaction:
            pool = Pool()
            Invoice = pool.get('account.invoice')
            Company = pool.get('company.company')
            with set_company(Company(company)):
                start = time.perf_counter()
                try:
                    Invoice.validate_invoice([Invoice(invoice)])
                    outcome = 'validated'
                except Exception as error:  # the expected refusal
                    outcome = type(error).__name__
                ours = time.perf_counter() - start
            transaction.rollback()
        mismatches = sum(s not in {'matched', 'accepted'}
            for s, _ in matches.values())
        print(f"{'match of every line (' + str(mismatches) + ' mismatches)':52}"
            f" {match:7.2f}")
        print(f"{'Validate with the match (' + outcome + ')':52} {ours:7.2f}")
        print(f"{'baseline: plain Tryton validate_invoice':52} "
            f"{baseline:7.2f}")


def main():
    args = parse_args()
    sys.path.insert(0, os.path.join(ROOT, 'addons'))
    bench_pure()
    if not args.skip_db:
        os.environ.setdefault('TRYTOND_DATABASE_URI',
            args.uri or 'sqlite://')
        if args.uri:
            os.environ['TRYTOND_DATABASE_URI'] = args.uri
        bench_database(args)


if __name__ == '__main__':
    main()
