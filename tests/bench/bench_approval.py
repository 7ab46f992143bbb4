#!/usr/bin/env python3
"""Bench of the purchase approval chains (issue 4, A2), each figure beside a
naive version measured in the same run:

1. matching the rules of 10 000 purchases against 200 rules: the compiled
   ``RuleSet`` (sorted once, amount index) vs. the plain loop that sorts and
   tests every rule for every purchase;
2. opening "My approvals" among 100 000 approval levels: the set-based
   searcher (one SQL query, indexes) vs. reading the open levels and
   filtering them in Python.

    .venv/bin/python tests/bench/bench_approval.py [--levels 100000]
        [--uri postgresql://...]   # default: SQLite in memory

It prints a table; it never fails on a figure.
"""
import argparse
import os
import random
import statistics
import sys
import time
from decimal import Decimal

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))


def timed(func, repeat=5):
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations), result


def bench_matching(rules_count=200, documents_count=10_000):
    from trytond.modules.inventory_flow.approval import (
        Document, Rule, RuleSet, Step, applicable_rules)
    rng = random.Random(4)
    rules = []
    for i in range(rules_count):
        low = rng.choice([None, Decimal(rng.randrange(0, 100_000, 500))])
        high = (low + Decimal(rng.randrange(1_000, 200_000, 500))
            if low is not None and rng.random() < .5 else None)
        rules.append(Rule(
                id=i + 1, priority=rng.randrange(100),
                amount_min=low, amount_max=high,
                suppliers=set(rng.sample(range(1, 500), rng.choice([0, 0, 3]))),
                categories=set(rng.sample(range(1, 50), rng.choice([0, 0, 2]))),
                warehouses=set(rng.sample(range(1, 4), rng.choice([0, 1]))),
                exclusive=rng.random() < .05,
                steps=[Step('Step', {rng.randrange(1, 30)})]))
    documents = [Document(
            amount=Decimal(rng.randrange(0, 300_000)),
            supplier=rng.randrange(1, 500), warehouse=rng.randrange(1, 4),
            categories=set(rng.sample(range(1, 50), 3)))
        for _ in range(documents_count)]

    def naive():
        return [applicable_rules(rules, d) for d in documents]

    def compiled():
        rule_set = RuleSet(rules)
        return [rule_set.applicable(d) for d in documents]
    naive_time, naive_result = timed(naive, 3)
    compiled_time, compiled_result = timed(compiled, 3)
    assert naive_result == compiled_result
    return naive_time, compiled_time


def bench_my_approvals(levels_count, uri=None):
    from trytond.tests.test_tryton import DB_NAME, activate_module
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.modules.company.tests import create_company, set_company
    activate_module(['inventory_flow', 'inventory_qc', 'inventory_wave',
            'inventory_alerts'])
    rng = random.Random(7)
    with Transaction().start(DB_NAME, 0) as transaction:
        pool = Pool()
        User = pool.get('res.user')
        Party = pool.get('party.party')
        Purchase = pool.get('purchase.purchase')
        Approval = pool.get('purchase.approval')
        Rel = pool.get('purchase.approval-res.user')
        company = create_company()
        users = User.create([{'name': f'u{i}', 'login': f'bench{i}'}
                for i in range(50)])
        with set_company(company):
            party, = Party.create([{'name': 'Supplier'}])
            purchases = Purchase.create([{
                        'party': party.id, 'invoice_method': 'manual',
                        'company': company.id, 'currency': company.currency.id,
                        } for _ in range(1000)])
        # bulk insert of the levels and their approvers (set-based)
        approval = Approval.__table__()
        rel = Rel.__table__()
        cursor = transaction.connection.cursor()
        rows = []
        for i in range(levels_count):
            state = 'open' if rng.random() < .1 else rng.choice(
                ['approved', 'cancelled', 'waiting'])
            rows.append([purchases[i % 1000].id, i // 1000 + 1, 1, 'Rule',
                    'Step', 'any', state, False, False, 0])
        columns = [approval.purchase, approval.generation, approval.sequence,
            approval.rule_name, approval.step_name, approval.mode,
            approval.state, approval.reminded, approval.escalated,
            approval.create_uid]
        for start in range(0, len(rows), 5000):
            cursor.execute(*approval.insert(columns, rows[start:start + 5000]))
        cursor.execute(*approval.select(approval.id))
        ids = [r[0] for r in cursor.fetchall()]
        rel_rows = [[i, users[rng.randrange(50)].id, 0] for i in ids]
        rel_rows += [[i, users[rng.randrange(50)].id, 0]
            for i in ids[::3]]
        for start in range(0, len(rel_rows), 5000):
            cursor.execute(*rel.insert([rel.approval, rel.user, rel.create_uid],
                    rel_rows[start:start + 5000]))
        transaction.commit()
        me = users[0].id

    def searcher():
        with Transaction().start(DB_NAME, me, readonly=True):
            Approval = Pool().get('purchase.approval')
            count = Approval.search_count([('pending_for_me', '=', True)])
            page = Approval.search([('pending_for_me', '=', True)], limit=80)
            return count, len(page)

    def naive():
        with Transaction().start(DB_NAME, me, readonly=True):
            Approval = Pool().get('purchase.approval')
            mine = [a for a in Approval.search([('state', '=', 'open')])
                if me in {u.id for u in a.approvers}]
            return len(mine), len(mine[:80])
    search_time, search_result = timed(searcher, 5)
    naive_time, naive_result = timed(naive, 3)
    assert search_result[0] == naive_result[0], (search_result, naive_result)
    return naive_time, search_time, search_result[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--levels', type=int, default=100_000)
    parser.add_argument('--uri', help="PostgreSQL URI (default SQLite)")
    args = parser.parse_args()
    # before anything imports trytond (its configuration reads them)
    if args.uri:
        os.environ['TRYTOND_DATABASE_URI'] = args.uri
        os.environ.setdefault('DB_NAME', 'bench_approval')
    os.environ.setdefault('DB_CACHE', os.path.join(ROOT, '.cache', 'bench'))
    naive_match, compiled_match = bench_matching()
    naive_open, search_open, mine = bench_my_approvals(args.levels, args.uri)
    backend = 'PostgreSQL' if args.uri else 'SQLite'
    print(f"{'figure':58} {'naive':>10} {'ours':>10} {'ratio':>7}")
    print(f"{'rule matching, 10 000 POs x 200 rules (s)':58} "
        f"{naive_match:10.3f} {compiled_match:10.3f} "
        f"{naive_match / compiled_match:6.1f}x")
    print(f"{f'My approvals among {args.levels} levels, {backend} (ms)':58} "
        f"{naive_open * 1000:10.1f} {search_open * 1000:10.1f} "
        f"{naive_open / search_open:6.1f}x")
    print(f"(the user has {mine} levels to decide)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
