"""Unit tests of the pure reconciliation (``reconcile.py``, D2): the
reasons, and that the lines always explain the whole difference."""
import doctest
import unittest
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.inventory_flow import reconcile as reconcile_module
from trytond.modules.inventory_flow.reconcile import (
    REASONS, Entry, Side, reason_of_entry, reason_of_side, reconcile)

BACKEND_INDEPENDENT = True

amounts = st.decimals(min_value=-1000, max_value=1000, places=2)
sides = st.builds(Side,
    key=st.integers(), warehouse=st.sampled_from(['W1', 'W2', None]),
    category=st.sampled_from(['C1', 'C2']), value=amounts,
    account=st.one_of(st.none(), amounts), transfer=st.booleans(),
    has_stock_account=st.booleans())
entries = st.builds(Entry,
    key=st.integers(), warehouse=st.sampled_from(['W1', None]),
    category=st.sampled_from(['C1', 'C2', None]), amount=amounts,
    origin=st.sampled_from(['stock.move', 'product', None]))


class ReconcileTestCase(unittest.TestCase):
    "Test the reconciliation of the stock value with the stock accounts"

    def test_reasons(self):
        def side(value, account, transfer=False, has_account=True):
            return reason_of_side(Side(1, 'W', 'C', Decimal(value),
                    None if account is None else Decimal(account),
                    transfer, has_account))
        self.assertIsNone(side(5, 5))
        self.assertIsNone(side(0, None))
        self.assertEqual(side(5, None), 'not_posted')
        self.assertEqual(side(5, None, has_account=False),
            'no_stock_account')
        self.assertEqual(side(-5, None, transfer=True), 'transfer')
        self.assertEqual(side(5, 4), 'amount_differs')
        self.assertEqual(side(5, 0), 'amount_differs')

        def entry(amount, origin):
            return reason_of_entry(Entry(1, None, 'C', Decimal(amount),
                    origin))
        self.assertIsNone(entry(0, None))
        self.assertEqual(entry(3, None), 'manual')
        self.assertEqual(entry(3, 'product'), 'revaluation')
        self.assertEqual(entry(-3, 'stock.move'), 'move_not_done')

    @given(st.lists(sides, max_size=30), st.lists(entries, max_size=10))
    @settings(max_examples=200, deadline=None)
    def test_lines_explain_the_difference(self, sides, entries):
        "Per warehouse and category, the lines add up to the difference"
        totals, lines = reconcile(sides, entries)
        for key, (value, account, difference) in totals.items():
            self.assertEqual(difference, value - account)
            explained = sum((l.difference for l in lines
                    if (l.warehouse, l.category) == key), Decimal(0))
            self.assertEqual(explained, difference)
        for line in lines:
            self.assertIn(line.reason, REASONS)
            self.assertNotEqual(line.difference, 0)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(reconcile_module))
    return tests
