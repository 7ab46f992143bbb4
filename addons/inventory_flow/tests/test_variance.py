"""Unit tests of receiving variance and quantity input (no database)."""
import doctest
import unittest
from decimal import Decimal

from hypothesis import given, strategies as st

from trytond.modules.inventory_flow import variance
from trytond.modules.inventory_flow.variance import (
    QuantityError, line_variance, parse_quantity)

quantities = st.integers(0, 10 ** 6)


# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


class VarianceTestCase(unittest.TestCase):

    @given(quantities, quantities, st.integers(0, 100))
    def test_kind_is_consistent(self, expected, counted, tolerance):
        result = line_variance(expected, counted, tolerance)
        self.assertEqual(result.difference, counted - expected)
        if expected == 0:
            self.assertEqual(
                result.kind, 'unexpected' if counted else 'match')
        elif counted < expected:
            self.assertEqual(result.kind, 'short')
            self.assertFalse(result.needs_approval)
        elif counted == expected:
            self.assertEqual(result.kind, 'match')
        elif (counted - expected) * 100 <= tolerance * expected:
            self.assertEqual(result.kind, 'over')
            self.assertFalse(result.needs_approval)
        else:
            self.assertEqual(result.kind, 'over_tolerance')
            self.assertTrue(result.needs_approval)

    def test_default_tolerance_is_zero(self):
        self.assertEqual(line_variance(10, 10.5).kind, 'over_tolerance')
        self.assertEqual(line_variance(10, 10).kind, 'match')
        self.assertTrue(line_variance(0, 1).needs_approval)

    def test_rounding(self):
        self.assertEqual(
            line_variance(10, 10.004, rounding=0.01).kind, 'match')
        self.assertEqual(
            line_variance(10, 10.01, rounding=0.01).kind, 'over_tolerance')

    @given(st.decimals(min_value=Decimal('0.001'), max_value=10 ** 6,
            places=3))
    def test_parse_positive(self, value):
        self.assertEqual(parse_quantity(str(value)), value)

    def test_parse_refuses(self):
        for text, code in [
                ('0', 'not_positive'), ('-3', 'not_positive'),
                ('abc', 'not_numeric'), ('', 'not_numeric'),
                (None, 'not_numeric'), ('NaN', 'not_numeric'),
                ('Infinity', 'not_numeric'), ('1e', 'not_numeric'),
                ('1.5', 'too_precise'),
                ]:
            with self.subTest(text=text):
                with self.assertRaises(QuantityError) as cm:
                    parse_quantity(text, digits=0)
                self.assertEqual(cm.exception.code, code)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(variance))
    return tests
