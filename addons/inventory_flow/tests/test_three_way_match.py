"""Unit tests of the pure three-way match (D2, issue 12), no database."""
import doctest
import unittest
from decimal import Decimal

from hypothesis import given, settings, strategies as st

from trytond.modules.inventory_flow import three_way
from trytond.modules.inventory_flow.three_way import (
    MISMATCH_STATES, LineFacts, Tolerance, match_line, match_lines,
    no_purchase_line)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True

D = Decimal
prices = st.decimals(
    min_value=D('0.01'), max_value=D('10000'), places=2,
    allow_nan=False, allow_infinity=False)
quantities = st.integers(0, 1000).map(float)
percentages = st.one_of(st.none(), st.integers(0, 50).map(D))
tolerances = st.builds(
    Tolerance,
    price_percentage=percentages,
    price_amount=st.one_of(st.none(), prices),
    quantity_percentage=st.one_of(st.none(), st.integers(0, 50).map(float)),
    quantity_amount=st.one_of(st.none(), quantities))


class ThreeWayMatchTestCase(unittest.TestCase):
    "The match of one invoice line"

    def test_scenario_figures(self):
        "PO 10 @ 5.00, received 8: the issue's cases"
        five = Tolerance(price_percentage=D(5))
        self.assertEqual(
            match_line(LineFacts(10, D('5.00'), 8, 0, 10, D('5.00'))).state,
            'quantity')
        self.assertEqual(
            match_line(LineFacts(10, D('5.00'), 8, 0, 8, D('5.20')),
                five).state, 'matched')
        result = match_line(LineFacts(10, D('5.00'), 8, 0, 8, D('5.50')),
            five)
        self.assertEqual(result.state, 'price')
        reason, = result.reasons
        self.assertEqual(
            (reason.values['price'], reason.values['expected'],
                reason.values['allowed']),
            (D('5.50'), D('5.00'), D('5.25')))

    def test_not_received(self):
        result = match_line(LineFacts(10, D(5), 0, 0, 10, D(5)))
        self.assertEqual(result.state, 'not_received')
        self.assertTrue(result.mismatch)

    def test_both_reasons_worst_first(self):
        result = match_line(LineFacts(10, D(5), 8, 0, 10, D(6)))
        self.assertEqual(
            [r.code for r in result.reasons], ['over_received', 'price'])
        self.assertEqual(result.state, 'quantity')

    def test_invoiced_before_counts(self):
        "A second invoice for the rest of a partial receipt"
        self.assertEqual(
            match_line(LineFacts(10, D(5), 8, 6, 2, D(5))).state, 'matched')
        result = match_line(LineFacts(10, D(5), 8, 6, 4, D(5)))
        self.assertEqual(result.reasons[0].values['invoiced'], 10)
        self.assertEqual(result.reasons[0].values['allowed'], 8)

    def test_ordered_basis(self):
        "Without a receipt reference the ordered quantity is matched"
        self.assertEqual(
            match_line(LineFacts(10, D(5), None, 0, 10, D(5))).state,
            'matched')
        result = match_line(LineFacts(10, D(5), None, 0, 11, D(5)))
        self.assertEqual(result.reasons[0].code, 'over_ordered')

    def test_stricter_tolerance_wins(self):
        "Both tolerances set: the variance must stay within each"
        tolerance = Tolerance(price_percentage=D(10), price_amount=D(1))
        # 10 % allows 5.50 but 1.00 on 8 units allows 5.125
        self.assertEqual(
            match_line(LineFacts(10, D(5), 8, 0, 8, D('5.12')),
                tolerance).state, 'matched')
        self.assertEqual(
            match_line(LineFacts(10, D(5), 8, 0, 8, D('5.13')),
                tolerance).state, 'price')
        quantity = Tolerance(quantity_percentage=50, quantity_amount=1)
        self.assertEqual(
            match_line(LineFacts(10, D(5), 8, 0, 9, D(5)), quantity).state,
            'matched')
        self.assertEqual(
            match_line(LineFacts(10, D(5), 8, 0, 10, D(5)), quantity).state,
            'quantity')

    def test_credit_never_mismatches(self):
        "A credit (negative quantity) is neither over-received nor over-priced"
        self.assertEqual(
            match_line(LineFacts(10, D(5), 0, 8, -2, D(9))).state, 'matched')

    def test_rounding_noise(self):
        self.assertEqual(
            match_line(LineFacts(1, D(5), 1.0, 0, 1.004, D(5),
                    rounding=0.01)).state, 'matched')

    def test_no_purchase_line(self):
        result = no_purchase_line()
        self.assertEqual(result.state, 'no_purchase_line')
        self.assertFalse(result.mismatch)

    def test_lines_posted_together_count_against_each_other(self):
        facts = LineFacts(10, D(5), 8, 0, 5, D(5))
        results = match_lines(
            [(1, 'p', facts), (2, 'p', facts), (3, 'q', facts)],
            {1: Tolerance(), 2: Tolerance(), 3: Tolerance()})
        self.assertEqual(
            [results[k].state for k in [1, 2, 3]],
            ['matched', 'quantity', 'matched'])

    @settings(max_examples=300, deadline=None)
    @given(quantities, prices, quantities, quantities, quantities,
        tolerances)
    def test_exact_invoice_of_receipt_matches(
            self, ordered, price, received, before, extra, tolerance):
        "Invoicing exactly what was received at the ordered price matches"
        if received <= 0:
            return
        facts = LineFacts(ordered, price, received, 0, received, price)
        self.assertEqual(match_line(facts, tolerance).state, 'matched')

    @settings(max_examples=300, deadline=None)
    @given(quantities, prices, quantities, quantities, quantities, prices,
        tolerances)
    def test_properties(
            self, ordered, price, received, before, quantity, invoiced_price,
            tolerance):
        facts = LineFacts(
            ordered, price, received, before, quantity, invoiced_price)
        result = match_line(facts, tolerance)
        self.assertIn(result.state, three_way.STATES)
        self.assertEqual(result.mismatch, result.state in MISMATCH_STATES)
        # the state is the worst reason
        if result.reasons:
            self.assertEqual(result.state, result.reasons[0].state)
        # a higher tolerance never turns a match into a mismatch
        if result.state == 'matched':
            self.assertEqual(match_line(facts, Tolerance(
                        price_percentage=(tolerance.price_percentage or 0)
                        + 10 if tolerance.price_percentage is not None
                        else None,
                        price_amount=tolerance.price_amount,
                        quantity_percentage=tolerance.quantity_percentage,
                        quantity_amount=tolerance.quantity_amount)).state,
                'matched')
        # a price within the order is never a price mismatch
        if invoiced_price <= price:
            self.assertNotIn('price', [r.code for r in result.reasons])
        # invoicing no more than received never is a quantity mismatch
        if 0 < quantity and before + quantity <= received:
            self.assertNotIn(
                result.state, {'quantity', 'not_received'})
        # nothing received and something invoiced is always flagged
        if received == 0 and quantity > 0:
            self.assertEqual(result.state, 'not_received')

    @settings(max_examples=200, deadline=None)
    @given(prices, st.integers(1, 1000).map(float), tolerances)
    def test_allowed_price_is_the_boundary(self, price, quantity, tolerance):
        "The allowed price of a price reason matches, a cent above does not"
        highest = tolerance.highest_price(price, quantity)
        self.assertGreaterEqual(highest, price)
        at = LineFacts(quantity, price, quantity, 0, quantity, highest)
        self.assertEqual(match_line(at, tolerance).state, 'matched')
        above = LineFacts(
            quantity, price, quantity, 0, quantity, highest + D('0.01'))
        self.assertEqual(match_line(above, tolerance).state, 'price')


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(three_way))
    return tests
