"""Pure parts of stock thresholds and alerts (B1, B2): no trytond import.

* :func:`check_levels` — the coherence of safety stock, minimum and maximum;
* :func:`crossed_kinds` — which lines a projected quantity crosses;
* :func:`alert_transitions` — the crossing / recovery state machine that opens
  an alert once when a line is crossed and resolves it when it recovers;
* :func:`order_quantity` — how much to buy back up to the ceiling;
* :func:`age_bucket`, :func:`days_of_cover`, :func:`turnover` — dashboard
  figures;
* :func:`expiry_state` — near-expiry and expired lots;
* :func:`parse_threshold_csv` — the whole-file validation of a CSV import.

The levels follow the classic order-point system (Silver, Pyke & Peterson,
*Inventory Management and Production Planning and Scheduling*, 3rd ed.,
ch. 7): the *safety stock* is the reorder point that triggers replenishment,
the *minimum* is the red line below which stock-outs are imminent, and the
*maximum* is the order-up-to level above which stock is excess.
"""
import csv
import io
from typing import NamedTuple, Optional

#: The kinds of lines an alert watches
KINDS = ('safety', 'minimum', 'maximum')

#: Upper bounds (days, inclusive) of the stock-age buckets; older stock
#: falls in the last, open bucket
AGE_BOUNDS = (30, 60, 90, 180)


class LevelError(ValueError):
    """A threshold is incoherent; ``code`` names the broken rule and
    ``values`` the numbers involved."""

    def __init__(self, code, **values):
        super().__init__(code, values)
        self.code = code
        self.values = values


def check_levels(safety, minimum, maximum):
    """Raise :class:`LevelError` unless the levels are coherent.

    Every level is optional (None) but none may be negative; the minimum is
    at most the safety stock and the safety stock at most the maximum.

    >>> check_levels(10, 5, 40)
    >>> try:
    ...     check_levels(50, 5, 40)
    ... except LevelError as error:
    ...     print(error.code, error.values)
    safety_above_maximum {'safety': 50, 'maximum': 40}
    """
    for name, value in (
            ('safety', safety), ('minimum', minimum), ('maximum', maximum)):
        if value is not None and value < 0:
            raise LevelError('negative', level=name, value=value)
    if minimum is not None and safety is not None and minimum > safety:
        raise LevelError('minimum_above_safety', minimum=minimum,
            safety=safety)
    if safety is not None and maximum is not None and safety > maximum:
        raise LevelError('safety_above_maximum', safety=safety,
            maximum=maximum)
    if minimum is not None and maximum is not None and minimum > maximum:
        raise LevelError('minimum_above_maximum', minimum=minimum,
            maximum=maximum)


def crossed_kinds(projected, safety, minimum, maximum):
    """The set of lines the projected quantity is across.

    Below safety and below minimum are strict (``<``): stock exactly at the
    safety level does not trigger; above maximum is strict (``>``).

    >>> sorted(crossed_kinds(3, 10, 5, 40))
    ['minimum', 'safety']
    >>> sorted(crossed_kinds(41, 10, 5, 40))
    ['maximum']
    >>> crossed_kinds(10, 10, 5, 40)
    set()
    """
    crossed = set()
    if safety is not None and projected < safety:
        crossed.add('safety')
    if minimum is not None and projected < minimum:
        crossed.add('minimum')
    if maximum is not None and projected > maximum:
        crossed.add('maximum')
    return crossed


def alert_transitions(open_keys, crossed_keys):
    """The crossing / recovery state machine, for all keys at once.

    ``open_keys`` are the keys (e.g. ``(rule, product, warehouse, kind)``)
    that have an unresolved alert (open or acknowledged); ``crossed_keys``
    those whose line is crossed now.  Return ``(to_open, to_resolve)``:
    a key crossed without an alert opens one, an alert whose key is no longer
    crossed is resolved, and a key still crossed with its alert changes
    nothing — so no duplicates while a line stays crossed.
    O(n) in the number of keys.

    >>> alert_transitions({('p', 'safety')}, {('p', 'safety'), ('q', 'safety')})
    ([('q', 'safety')], [])
    >>> alert_transitions({('p', 'safety')}, set())
    ([], [('p', 'safety')])
    """
    open_keys = set(open_keys)
    crossed_keys = set(crossed_keys)
    return (sorted(crossed_keys - open_keys, key=repr),
        sorted(open_keys - crossed_keys, key=repr))


def order_quantity(projected, safety, maximum):
    """The quantity that brings the projected stock up to the maximum (or,
    without a maximum, to the safety stock); never negative.

    >>> order_quantity(3, 10, 40)
    37
    >>> order_quantity(3, 10, None)
    7
    >>> order_quantity(50, 10, 40)
    0
    """
    target = maximum if maximum is not None else (safety or 0)
    return max(target - projected, 0)


def age_bucket(age_days, bounds=AGE_BOUNDS):
    """The label of the stock-age bucket of ``age_days`` (days since receipt).

    >>> [age_bucket(d) for d in (0, 30, 31, 90, 200)]
    ['0-30', '0-30', '31-60', '61-90', '>180']
    """
    lower = 0
    for bound in bounds:
        if age_days <= bound:
            return f'{lower}-{bound}'
        lower = bound + 1
    return f'>{bounds[-1]}'


def days_of_cover(on_hand, consumed, period_days):
    """How many days the stock lasts at the period's average consumption;
    None when nothing was consumed (infinite cover).

    >>> days_of_cover(100, 50, 30)
    60.0
    >>> days_of_cover(100, 0, 30) is None
    True
    """
    if not consumed or consumed <= 0 or period_days <= 0:
        return None
    return on_hand / (consumed / period_days)


def turnover(consumed, average_stock):
    """Inventory turnover over a period: consumption divided by the average
    stock; None without stock.

    >>> turnover(120, 40)
    3.0
    """
    if not average_stock or average_stock <= 0:
        return None
    return consumed / average_stock


def expiry_state(expiry, today, alert_days):
    """``'expired'`` when the lot's expiry date is before today, ``'near'``
    when it is within ``alert_days`` days, else None.

    >>> import datetime as dt
    >>> today = dt.date(2026, 1, 10)
    >>> [expiry_state(today + dt.timedelta(d), today, 7) for d in (-1, 0, 7, 8)]
    ['expired', 'near', 'near', None]
    """
    if expiry is None:
        return None
    delta = (expiry - today).days
    if delta < 0:
        return 'expired'
    if delta <= alert_days:
        return 'near'
    return None


class CsvRow(NamedTuple):
    line: int
    code: str
    warehouse: str
    safety: Optional[float]
    minimum: Optional[float]
    maximum: Optional[float]


#: The columns of the threshold CSV file, in order
CSV_COLUMNS = ('sku', 'warehouse', 'safety', 'minimum', 'maximum')


def _number(text):
    text = (text or '').strip()
    if not text:
        return None
    value = float(text)
    if value != value or value in (float('inf'), float('-inf')):
        raise ValueError(text)
    return value


def parse_threshold_csv(text, known_codes, known_warehouses):
    """Validate a whole threshold CSV file before anything is imported.

    ``text`` has a header line with :data:`CSV_COLUMNS`; ``known_codes`` and
    ``known_warehouses`` are the product codes and warehouse codes that
    exist.  Return ``(rows, errors)``: the :class:`CsvRow` of every line and
    the list of ``(line number, code, values)`` of every bad line (unknown
    SKU or warehouse, bad number, incoherent levels, duplicate).  The caller
    imports the rows only when ``errors`` is empty.  O(n).

    >>> rows, errors = parse_threshold_csv(
    ...     'sku,warehouse,safety,minimum,maximum\\nA,WH,10,5,40\\nZ,WH,x,,\\n',
    ...     {'A'}, {'WH'})
    >>> [r.code for r in rows], [(e[0], e[1]) for e in errors]
    (['A'], [(3, 'unknown_sku'), (3, 'bad_number')])
    """
    reader = csv.reader(io.StringIO(text))
    rows, errors, seen = [], [], {}
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header[:5]] != list(
            CSV_COLUMNS):
        errors.append((1, 'bad_header', {'expected': ','.join(CSV_COLUMNS)}))
        return rows, errors
    for line_no, fields in enumerate(reader, start=2):
        if not any(f.strip() for f in fields):
            continue
        fields = (fields + [''] * 5)[:5]
        code, warehouse = fields[0].strip(), fields[1].strip()
        bad = False
        if code not in known_codes:
            errors.append((line_no, 'unknown_sku', {'sku': code}))
            bad = True
        if warehouse not in known_warehouses:
            errors.append((line_no, 'unknown_warehouse',
                    {'warehouse': warehouse}))
            bad = True
        levels = []
        for name, value in zip(CSV_COLUMNS[2:], fields[2:]):
            try:
                levels.append(_number(value))
            except ValueError:
                errors.append((line_no, 'bad_number',
                        {'column': name, 'value': value}))
                bad = True
        if bad:
            continue
        try:
            check_levels(*levels)
        except LevelError as error:
            errors.append((line_no, error.code, error.values))
            continue
        key = (code, warehouse)
        if key in seen:
            errors.append((line_no, 'duplicate',
                    {'sku': code, 'warehouse': warehouse,
                        'first': seen[key]}))
            continue
        seen[key] = line_no
        rows.append(CsvRow(line_no, code, warehouse, *levels))
    return rows, errors


def format_threshold_csv(rows):
    """The CSV text of ``rows``, tuples (sku, warehouse, safety, minimum,
    maximum); the inverse of :func:`parse_threshold_csv`.

    >>> format_threshold_csv([('A', 'WH', 10.0, 5.0, None)]).splitlines()
    ['sku,warehouse,safety,minimum,maximum', 'A,WH,10,5,']
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator='\n')
    writer.writerow(CSV_COLUMNS)
    for code, warehouse, *levels in rows:
        writer.writerow([code, warehouse] + [
                '' if v is None else f'{v:g}' for v in levels])
    return out.getvalue()
