"""Read what a warehouse scanner sends: a GS1 element string, a bare GTIN or
plain text (a PO number, a shipment reference, a bin barcode).

Pure Python over `biip <https://biip.readthedocs.io>`_ (no Tryton import).
Reference: *GS1 General Specifications* (release 24), section 3 (application
identifiers), section 5.4 (symbology identifiers ``]C1`` GS1-128, ``]d2`` GS1
DataMatrix, ``]Q3`` GS1 QR Code, ``]e0`` GS1 DataBar) and section 7.9 (GTIN
check digit, modulo 10).

Keyboard-wedge scanners often cannot type the group separator (ASCII 29,
``GS``); they are configured to send a substitute character instead (for
example ``~`` or ``|``), which :func:`parse_scan` turns back into ``GS``.
"""
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from biip import ParseConfig, ParseError
from biip.gs1_messages import GS1Message

__all__ = ['GS', 'ScanError', 'Scan', 'parse_scan', 'gtin_check_digit',
    'validate_gtin', 'check_dates']

GS = '\x1d'
# AIM symbology identifiers whose data is a GS1 element string
GS1_SYMBOLOGIES = {']C1', ']d2', ']Q3', ']e0', ']J1'}
# AIM identifiers of the EAN/UPC family: the data is a bare GTIN
GTIN_SYMBOLOGIES = {']E0', ']E4', ']X0'}
GTIN_LENGTHS = {8, 12, 13, 14}
QUANTITY_AIS = ('30', '37')


class ScanError(ValueError):
    """A scan that cannot be used.

    ``code`` says why: ``empty``, ``check_digit`` (``value`` is the GTIN,
    ``expected`` the right check digit), ``malformed`` (``value`` is the part
    that could not be read), ``date`` (``value`` is the bad date field),
    ``expiry_before_production`` or ``expired`` (``value`` is the expiry)."""

    MESSAGES = {
        'empty': "empty scan",
        'check_digit': "wrong GTIN check digit in {value} "
            "(expected {expected})",
        'malformed': "malformed GS1 data: {value}",
        'date': "invalid date in {value}",
        'expiry_before_production': "expiry {value} is before production "
            "{production}",
        'expired': "expiry {value} is already past",
        }

    def __init__(self, code, value=None, **details):
        self.code = code
        self.value = value
        self.details = details
        super().__init__(self.MESSAGES[code].format(value=value, **details))


@dataclass(frozen=True)
class Scan:
    """The content of one scan.

    ``kind`` is ``gs1`` (an element string), ``gtin`` (a bare GTIN) or
    ``text`` (anything else, in ``text``).  ``gtin`` is always the 14 digit
    form; ``quantity`` is a :class:`~decimal.Decimal` from AI 30 or 37."""
    kind: str
    text: str = None
    gtin: str = None
    lot: str = None
    serial: str = None
    production_date: dt.date = None
    expiry_date: dt.date = None
    quantity: Decimal = None
    symbology: str = None


def gtin_check_digit(payload):
    """Return the GS1 modulo 10 check digit of the digits ``payload``.

    >>> gtin_check_digit('400638133393')
    1
    >>> gtin_check_digit('9638507')
    4
    """
    total = sum(
        int(d) * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def validate_gtin(value):
    """Return the GTIN-14 form of ``value`` or raise :class:`ScanError`.

    >>> validate_gtin('4006381333931')
    '04006381333931'
    >>> validate_gtin('4006381333938')
    Traceback (most recent call last):
    ...
    trytond.modules.inventory_flow.gs1.ScanError: wrong GTIN check digit in 4006381333938 (expected 1)
    """
    if not value.isdigit() or len(value) not in GTIN_LENGTHS:
        raise ScanError('malformed', value)
    expected = gtin_check_digit(value[:-1])
    if int(value[-1]) != expected:
        raise ScanError('check_digit', value, expected=expected)
    return value.zfill(14)


def _strip_symbology(value):
    if len(value) >= 3 and value[0] == ']':
        return value[:3], value[3:]
    return None, value


def _looks_like_gs1(value):
    # A bare element string starts with AI 00, 01 or 02 and is longer
    # than the GTIN it carries; anything else is read as text.
    return (GS in value
        or (value[:2] in {'00', '01', '02'} and len(value) >= 16
            and value[2:16].isdigit()))


def parse_scan(raw, separator=None):
    """Parse the string ``raw`` sent by a scanner.

    ``separator`` is the substitute the scanner types for the group
    separator (``GS``); ``None`` accepts only ``GS`` itself.  An AIM
    symbology prefix (``]C1``, ``]d2``, ``]Q3`` …) and the bracketed
    human-readable form ``(01)…(10)…`` are understood.  Raises
    :class:`ScanError`; returns a :class:`Scan`.

    Complexity: linear in the length of ``raw``.

    >>> parse_scan(']C10104006381333931' + GS + '10LOT7' + GS + '17261231')
    ... # doctest: +NORMALIZE_WHITESPACE
    Scan(kind='gs1', text=None, gtin='04006381333931', lot='LOT7',
         serial=None, production_date=None,
         expiry_date=datetime.date(2026, 12, 31), quantity=None,
         symbology=']C1')
    >>> parse_scan('(01)04006381333931(37)12').quantity
    Decimal('12')
    >>> parse_scan('0104006381333931|21SN1|3712', separator='|').serial
    'SN1'
    >>> parse_scan('PO-0042')
    Scan(kind='text', text='PO-0042', gtin=None, lot=None, serial=None, production_date=None, expiry_date=None, quantity=None, symbology=None)
    >>> parse_scan('4006381333931').gtin
    '04006381333931'
    """
    if raw is None:
        raise ScanError('empty')
    value = raw.strip('\r\n\t ')
    if separator and separator != GS:
        value = value.replace(separator, GS)
    symbology, value = _strip_symbology(value)
    value = value.strip(GS)
    if not value:
        raise ScanError('empty')
    if value.startswith('('):
        try:
            message = GS1Message.parse_hri(value, config=ParseConfig())
        except ParseError as error:
            raise ScanError('malformed', _error_value(value, error))
        return _from_message(message, symbology)
    if symbology in GS1_SYMBOLOGIES or (
            symbology is None and _looks_like_gs1(value)):
        try:
            message = GS1Message.parse(value, config=ParseConfig())
        except ParseError as error:
            raise ScanError('malformed', _error_value(value, error))
        return _from_message(message, symbology)
    if value.isdigit() and len(value) in GTIN_LENGTHS and (
            symbology is None or symbology in GTIN_SYMBOLOGIES):
        return Scan('gtin', gtin=validate_gtin(value), symbology=symbology)
    if symbology in GTIN_SYMBOLOGIES:
        raise ScanError('malformed', value)
    return Scan('text', text=value, symbology=symbology)


def _error_value(value, error):
    message = str(error)
    for ai in ('11', '17'):
        if f'AI ({ai})' in message or 'date' in message.lower():
            raise ScanError('date', value.replace(GS, '<GS>'))
    return value.replace(GS, '<GS>')


def _from_message(message, symbology):
    values = {}
    for element in message.element_strings:
        ai = element.ai.ai
        if ai in {'01', '02'}:
            values['gtin'] = validate_gtin(element.value)
        elif ai == '10':
            values['lot'] = element.value
        elif ai == '21':
            values['serial'] = element.value
        elif ai in {'11', '17'}:
            if element.date is None:
                raise ScanError('date', f'({ai}){element.value}')
            key = 'production_date' if ai == '11' else 'expiry_date'
            values[key] = element.date
        elif ai in QUANTITY_AIS:
            values['quantity'] = Decimal(element.value)
    if not values:
        raise ScanError('malformed', message.value.replace(GS, '<GS>'))
    return Scan('gs1', symbology=symbology, **values)


def check_dates(production_date, expiry_date, today):
    """Raise :class:`ScanError` when the expiry is before the production
    date or before ``today`` (an expired lot must not be received).

    >>> check_dates(dt.date(2026, 1, 1), dt.date(2025, 1, 1), dt.date(2024, 1, 1))
    Traceback (most recent call last):
    ...
    trytond.modules.inventory_flow.gs1.ScanError: expiry 2025-01-01 is before production 2026-01-01
    """
    if expiry_date is None:
        return
    if production_date and expiry_date < production_date:
        raise ScanError(
            'expiry_before_production', expiry_date,
            production=production_date)
    if expiry_date < today:
        raise ScanError('expired', expiry_date)

