"""Three-way match of a supplier invoice line (D2, issue 12).

Pure algorithm, no trytond import: the model (``three_way_match.py``)
gathers the figures of a purchase order line, of its receipts (done
incoming stock moves minus returns to the supplier) and of the invoice lines
already booked for it, converts them to the purchase line's unit and the
invoice's currency, and calls :func:`match_line`.

The method is the classic accounts-payable control ("three-way match": order
– goods receipt – invoice, see e.g. SAP MM *Logistics Invoice Verification*,
tolerance keys PP/DQ, or Odoo's *3-way matching* bill control):

* quantity: the quantity invoiced for the order line so far (booked lines
  plus this one) must not exceed the quantity received, plus the quantity
  tolerance; when the line is matched on the ordered quantity instead (a
  service, or a purchase invoiced *On Order* paid in advance by policy),
  ``received`` is ``None`` and the ordered quantity is the reference;
* price: the invoiced unit price must not exceed the ordered unit price
  plus the price tolerance.  Paying less than ordered is never a mismatch,
  and a credit (negative quantity) is never checked on price.

Tolerances: a percentage and/or an absolute figure.  When both are set the
stricter one applies (the variance must stay within each), when none is set
the tolerance is zero.  The absolute price tolerance is the total variance of
the line, ``(invoiced price − ordered price) × invoiced quantity``, so that
"ignore differences under 1.00" means what finance expects.

Complexity: O(1) per line.

>>> from decimal import Decimal as D
>>> match_line(LineFacts(10, D('5.00'), 8, 0, 10, D('5.00'))).state
'quantity'
>>> match_line(LineFacts(10, D('5.00'), 8, 0, 8, D('5.20')),
...     Tolerance(price_percentage=D(5))).state
'matched'
>>> result = match_line(LineFacts(10, D('5.00'), 8, 0, 8, D('5.50')),
...     Tolerance(price_percentage=D(5)))
>>> result.state, result.reasons[0].code, result.reasons[0].values['allowed']
('price', 'price', Decimal('5.25'))
"""
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Optional

#: Line states, most severe first: the state of a line is its worst reason.
STATES = ('not_received', 'quantity', 'price', 'no_purchase_line', 'matched')
#: States that block the posting of the invoice (unless accepted)
MISMATCH_STATES = frozenset(['not_received', 'quantity', 'price'])

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Tolerance:
    """How far an invoice line may go beyond the order and the receipt.

    ``price_percentage`` (e.g. ``Decimal(5)`` for 5 %) of the ordered unit
    price; ``price_amount`` the largest total price variance of the line;
    ``quantity_percentage`` of the reference (received or ordered) quantity;
    ``quantity_amount`` in the purchase line's unit.  ``None`` = not set."""
    price_percentage: Optional[Decimal] = None
    price_amount: Optional[Decimal] = None
    quantity_percentage: Optional[float] = None
    quantity_amount: Optional[float] = None

    def quantity_allowance(self, reference):
        "The extra quantity allowed above the ``reference`` quantity"
        limits = []
        if self.quantity_percentage is not None:
            limits.append(
                max(reference, 0) * float(self.quantity_percentage) / 100)
        if self.quantity_amount is not None:
            limits.append(float(self.quantity_amount))
        return max(min(limits), 0) if limits else 0

    def highest_price(self, ordered_price, quantity):
        "The highest unit price accepted for ``quantity`` (> 0) units"
        limits = []
        if self.price_percentage is not None:
            limits.append(ordered_price * (
                    _HUNDRED + Decimal(self.price_percentage)) / _HUNDRED)
        if self.price_amount is not None:
            limits.append(ordered_price
                + Decimal(self.price_amount) / Decimal(str(quantity)))
        highest = min(limits) if limits else ordered_price
        return max(highest, ordered_price)


@dataclass(frozen=True)
class LineFacts:
    """The figures of one invoice line, all in the purchase line's unit and
    the invoice's currency.

    ``ordered``/``ordered_price``: the purchase line; ``received``: the
    quantity received for it (``None`` to match on the ordered quantity);
    ``invoiced_before``: the quantity of its other booked invoice lines;
    ``quantity``/``unit_price``: this invoice line; ``rounding``: the unit's
    rounding (differences below half of it are noise)."""
    ordered: float
    ordered_price: Decimal
    received: Optional[float]
    invoiced_before: float
    quantity: float
    unit_price: Decimal
    rounding: float = 0.0


@dataclass(frozen=True)
class Reason:
    """Why a line does not match: ``code`` in ``not_received``,
    ``over_received``, ``over_ordered``, ``price``, ``no_purchase_line`` and
    the figures to show (``values``)."""
    code: str
    values: dict = field(default_factory=dict)

    @property
    def state(self):
        return {
            'over_received': 'quantity',
            'over_ordered': 'quantity',
            }.get(self.code, self.code)


@dataclass(frozen=True)
class MatchResult:
    "The state of the line and its reasons, worst first"
    state: str
    reasons: tuple = ()

    @property
    def mismatch(self):
        return self.state in MISMATCH_STATES


MATCHED = MatchResult('matched')


def _state(reasons):
    if not reasons:
        return MATCHED
    reasons = tuple(sorted(reasons, key=lambda r: STATES.index(r.state)))
    return MatchResult(reasons[0].state, reasons)


def no_purchase_line():
    "The result for an invoice line without a purchase order line"
    return _state([Reason('no_purchase_line')])


def match_line(facts, tolerance=Tolerance()):
    """Match one invoice line against its order line and receipts.

    Parameters: ``facts`` (:class:`LineFacts`), ``tolerance``
    (:class:`Tolerance`).  Returns a :class:`MatchResult` whose reasons carry
    the expected and the invoiced figures."""
    reasons = []
    noise = (facts.rounding or 0) / 2
    invoiced = facts.invoiced_before + facts.quantity
    if facts.received is None:
        reference, code = facts.ordered, 'over_ordered'
    else:
        reference, code = facts.received, 'over_received'
    if facts.quantity > noise:
        if facts.received is not None and facts.received <= noise:
            reasons.append(Reason('not_received', {
                        'quantity': facts.quantity,
                        'ordered': facts.ordered,
                        }))
        else:
            allowed = reference + tolerance.quantity_allowance(reference)
            if invoiced - allowed > noise:
                reasons.append(Reason(code, {
                            'invoiced': invoiced,
                            'quantity': facts.quantity,
                            'invoiced_before': facts.invoiced_before,
                            'reference': reference,
                            'allowed': allowed,
                            'ordered': facts.ordered,
                            }))
        highest = tolerance.highest_price(
            facts.ordered_price, facts.quantity)
        if facts.unit_price > highest:
            reasons.append(Reason('price', {
                        'price': facts.unit_price,
                        'expected': facts.ordered_price,
                        'allowed': highest,
                        'quantity': facts.quantity,
                        }))
    return _state(reasons)


def match_lines(facts_by_key, tolerance_by_key):
    """Match invoice lines posted together: lines of the same purchase line
    count against each other in the given order.

    ``facts_by_key`` is a list of ``(key, purchase_line_key, facts)``;
    ``tolerance_by_key`` maps ``key`` to its :class:`Tolerance`.  Returns
    ``{key: MatchResult}``."""
    seen = {}
    results = {}
    for key, purchase_line, facts in facts_by_key:
        before = seen.get(purchase_line, 0)
        if before:
            facts = LineFacts(
                facts.ordered, facts.ordered_price, facts.received,
                facts.invoiced_before + before, facts.quantity,
                facts.unit_price, facts.rounding)
        results[key] = match_line(facts, tolerance_by_key[key])
        seen[purchase_line] = before + facts.quantity
    return results
