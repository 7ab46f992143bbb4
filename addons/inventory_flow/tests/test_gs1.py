"""Unit tests of the GS1 scan parser (no database)."""
import datetime as dt
import doctest
import unittest
from decimal import Decimal

from hypothesis import given, strategies as st

from trytond.modules.inventory_flow import gs1
from trytond.modules.inventory_flow.gs1 import (
    GS, ScanError, check_dates, gtin_check_digit, parse_scan)

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


GTIN = '04006381333931'
lots = st.text(
    alphabet='ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-', min_size=1, max_size=20)
dates = st.dates(dt.date(2000, 1, 1), dt.date(2049, 12, 31))


def yymmdd(date):
    return date.strftime('%y%m%d')


class GS1TestCase(unittest.TestCase):

    @given(st.text(alphabet='0123456789', min_size=7, max_size=13))
    def test_check_digit_accepts_own_and_refuses_others(self, payload):
        digit = gtin_check_digit(payload)
        gtin = payload + str(digit)
        if len(gtin) in gs1.GTIN_LENGTHS:
            self.assertEqual(gs1.validate_gtin(gtin), gtin.zfill(14))
            wrong = payload + str((digit + 1) % 10)
            with self.assertRaises(ScanError) as cm:
                gs1.validate_gtin(wrong)
            self.assertEqual(cm.exception.code, 'check_digit')

    @given(lots, dates, dates, st.integers(1, 99999999),
        st.sampled_from([']C1', ']d2', ']Q3', '']),
        st.sampled_from([GS, '~', '|']))
    def test_round_trip_all_fields(
            self, lot, production, expiry, quantity, prefix, separator):
        raw = (prefix + '01' + GTIN + '11' + yymmdd(production)
            + '17' + yymmdd(expiry) + '10' + lot + separator
            + '37' + str(quantity))
        scan = parse_scan(raw, separator=separator)
        self.assertEqual(scan.kind, 'gs1')
        self.assertEqual(scan.gtin, GTIN)
        self.assertEqual(scan.lot, lot)
        self.assertEqual(scan.production_date, production)
        self.assertEqual(scan.expiry_date, expiry)
        self.assertEqual(scan.quantity, Decimal(quantity))
        self.assertEqual(scan.symbology, prefix or None)

    @given(lots, st.text(alphabet='0123456789ABC', min_size=1, max_size=20))
    def test_bracketed_form_equals_raw_form(self, lot, serial):
        hri = f'(01){GTIN}(10){lot}(21){serial}(30)5'
        raw = f'01{GTIN}10{lot}{GS}21{serial}{GS}305'
        self.assertEqual(parse_scan(hri), parse_scan(raw))

    def test_datamatrix_with_trailing_newline(self):
        scan = parse_scan(']d2' + '01' + GTIN + '21SN-9' + GS + '17270228\r\n')
        self.assertEqual(scan.serial, 'SN-9')
        self.assertEqual(scan.expiry_date, dt.date(2027, 2, 28))

    def test_bare_gtin_forms(self):
        for raw in ['4006381333931', GTIN, ']E04006381333931']:
            with self.subTest(raw=raw):
                scan = parse_scan(raw)
                self.assertEqual((scan.kind, scan.gtin), ('gtin', GTIN))

    def test_text_is_passed_through(self):
        for raw in ['PO-0042', 'A-03-2-05', 'SUP-REF 17', '1234']:
            with self.subTest(raw=raw):
                scan = parse_scan(raw)
                self.assertEqual((scan.kind, scan.text), ('text', raw))

    def test_errors(self):
        for raw, code in [
                ('', 'empty'),
                ('  \r\n', 'empty'),
                ('4006381333938', 'check_digit'),
                ('0104006381333938' + '10L1', 'check_digit'),
                ('(01)04006381333938', 'check_digit'),
                ('(01)' + GTIN + '(17)261341', 'date'),
                ('01' + GTIN + '17261399', 'date'),
                ('01' + GTIN + GS + '10' + 'X' * 25, 'malformed'),
                ('(01)1234', 'malformed'),
                (']C1ABC', 'malformed'),
                (']E0ABC', 'malformed'),
                ]:
            with self.subTest(raw=raw):
                with self.assertRaises(ScanError) as cm:
                    parse_scan(raw)
                self.assertEqual(cm.exception.code, code)
                self.assertTrue(str(cm.exception))

    def test_check_dates(self):
        today = dt.date(2026, 6, 1)
        check_dates(None, None, today)
        check_dates(dt.date(2026, 1, 1), dt.date(2027, 1, 1), today)
        for production, expiry, code in [
                (dt.date(2026, 1, 2), dt.date(2026, 1, 1), 
                    'expiry_before_production'),
                (None, dt.date(2026, 5, 31), 'expired'),
                ]:
            with self.subTest(code=code):
                with self.assertRaises(ScanError) as cm:
                    check_dates(production, expiry, today)
                self.assertEqual(cm.exception.code, code)


def load_tests(loader, tests, pattern):
    tests.addTests(doctest.DocTestSuite(gs1))
    return tests
