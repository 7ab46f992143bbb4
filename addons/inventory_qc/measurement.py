"""Reading an inspector's entry for a check (requirement A4).

Pure Python (no Tryton import).  A measurement is typed or scanned as a
number with an optional unit symbol ("12.5", "12,5 mm"); a pass/fail point
as yes/no words; free text as is.  :func:`parse_entry` refuses what does not
fit the check, naming why with a :class:`EntryError` code:

* ``number`` — a measurement that is not a number;
* ``unit`` — a measurement in another unit than the check's;
* ``boolean`` — a pass/fail answer that is neither yes nor no;
* ``empty`` — nothing entered.
"""
import re

__all__ = ['EntryError', 'parse_entry', 'PASS_WORDS', 'FAIL_WORDS']

PASS_WORDS = {'y', 'yes', 'ok', 'pass', 'passed', 'true', '1', 'good',
    '是', '合格', '通过'}
FAIL_WORDS = {'n', 'no', 'nok', 'ko', 'fail', 'failed', 'false', '0', 'bad',
    '否', '不合格'}
NUMBER = re.compile(
    r'\s*(?P<number>[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?)'
    r'\s*(?P<unit>\S.*?)?\s*$')


class EntryError(ValueError):
    "An entry that does not fit the check; ``code`` says why"

    def __init__(self, code, value):
        super().__init__(f'{code}: {value!r}')
        self.code = code
        self.value = value


def parse_entry(kind, value, unit=None):
    """Return the value of an entry for a check of ``kind`` (``boolean``,
    ``integer``, ``float``, ``numeric`` or ``char``) whose unit symbol is
    ``unit`` (measurements only).

    >>> parse_entry('float', '12,5 mm', 'mm')
    12.5
    >>> parse_entry('boolean', 'OK')
    True
    >>> parse_entry('float', '12.5 cm', 'mm')
    Traceback (most recent call last):
    ...
    trytond.modules.inventory_qc.measurement.EntryError: unit: '12.5 cm'
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        raise EntryError('empty', value)
    if kind == 'char':
        return str(value).strip()
    if kind == 'boolean':
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in PASS_WORDS:
            return True
        if word in FAIL_WORDS:
            return False
        raise EntryError('boolean', value)
    if isinstance(value, bool):
        raise EntryError('number', value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = NUMBER.fullmatch(str(value))
        if not match:
            raise EntryError('number', value)
        given = match.group('unit')
        if given and (not unit or given.strip() != unit):
            raise EntryError('unit', value)
        number = float(match.group('number').replace(',', '.'))
    if number != number or number in (float('inf'), float('-inf')):
        raise EntryError('number', value)
    if kind == 'integer':
        if number != int(number):
            raise EntryError('number', value)
        return int(number)
    return number
