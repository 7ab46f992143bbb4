"""Receiving variance: counted against expected quantities (requirement A3).

Pure Python (no Tryton import).  A line is ``short`` when less was counted
than expected (the rest stays as a back-order), ``over`` when more was
counted but within the tolerance, ``over_tolerance`` beyond it and
``unexpected`` when nothing was expected; ``over_tolerance`` and
``unexpected`` need a manager's confirmation.  The tolerance is a
percentage of the expected quantity (ISO 2859 style acceptance is out of
scope: this is the simple "receipt tolerance" of ERP purchasing, e.g.
SAP's under/over-delivery tolerance).
"""
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ['KINDS', 'QuantityError', 'Variance', 'line_variance',
    'parse_quantity']

KINDS = ('match', 'short', 'over', 'over_tolerance', 'unexpected')
NEEDS_APPROVAL = {'over_tolerance', 'unexpected'}


class QuantityError(ValueError):
    """A quantity that cannot be counted: ``code`` is ``not_numeric``,
    ``not_positive`` or ``too_precise`` (more decimals than the unit
    allows); ``value`` is what was typed."""

    def __init__(self, code, value):
        self.code = code
        self.value = value
        super().__init__(f"{code}: {value!r}")


@dataclass(frozen=True)
class Variance:
    """``kind`` of :data:`KINDS`, ``difference`` counted − expected and
    ``percent`` of the expected quantity (``None`` when unexpected)."""
    kind: str
    difference: float
    percent: float = None

    @property
    def needs_approval(self):
        return self.kind in NEEDS_APPROVAL


def parse_quantity(text, digits=None):
    """Return the positive quantity typed or scanned as ``text``.

    ``digits`` is the number of decimals the unit allows (``None``: any).

    >>> parse_quantity(' 12 ')
    Decimal('12')
    >>> parse_quantity('2,5', digits=2)
    Decimal('2.5')
    >>> parse_quantity('0')
    Traceback (most recent call last):
    ...
    trytond.modules.inventory_flow.variance.QuantityError: not_positive: '0'
    """
    value = str(text if text is not None else '').strip().replace(',', '.')
    try:
        quantity = Decimal(value)
    except InvalidOperation:
        raise QuantityError('not_numeric', text)
    if not quantity.is_finite():
        raise QuantityError('not_numeric', text)
    if quantity <= 0:
        raise QuantityError('not_positive', text)
    if digits is not None and -quantity.normalize().as_tuple().exponent > max(
            digits, 0):
        raise QuantityError('too_precise', text)
    return quantity


def line_variance(expected, counted, tolerance=0, rounding=1e-9):
    """Classify ``counted`` against ``expected`` with ``tolerance`` percent
    allowed over; quantities closer than ``rounding`` / 2 are equal.

    >>> line_variance(10, 8)
    Variance(kind='short', difference=-2, percent=-20.0)
    >>> line_variance(10, 11, tolerance=10).kind
    'over'
    >>> line_variance(10, 12, tolerance=10).kind
    'over_tolerance'
    >>> line_variance(0, 3).kind
    'unexpected'
    """
    expected = expected or 0
    counted = counted or 0
    difference = counted - expected
    epsilon = rounding / 2
    if expected <= epsilon:
        if counted <= epsilon:
            return Variance('match', 0, None)
        return Variance('unexpected', difference, None)
    percent = difference * 100.0 / expected
    if abs(difference) < epsilon:
        kind = 'match'
    elif difference < 0:
        kind = 'short'
    elif percent <= (tolerance or 0) + 1e-9:
        kind = 'over'
    else:
        kind = 'over_tolerance'
    return Variance(kind, difference, round(percent, 6))
