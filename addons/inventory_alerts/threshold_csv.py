"""CSV import and export of product thresholds for thousands of SKUs (B2).

The import validates the whole file first (``thresholds.parse_threshold_csv``)
and reports every bad line; a file with one bad line imports nothing.  A good
file is written in batches: one search of the existing thresholds, then
``create`` and ``write`` in chunks of :data:`BATCH`.
"""
from trytond.i18n import gettext
from trytond.exceptions import UserError
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .thresholds import format_threshold_csv, parse_threshold_csv

BATCH = 1000
#: At most this many bad lines are listed in the message (all are counted)
MAX_LISTED = 50


class ThresholdImportError(UserError):
    pass


class ThresholdImportStart(ModelView):
    "Import Thresholds"
    __name__ = 'stock.threshold.import.start'

    file = fields.Binary("File", required=True, filename='filename',
        help="A UTF-8 CSV file with the columns sku, warehouse, safety, "
        "minimum, maximum (warehouse by its code).")
    filename = fields.Char("File Name")


class ThresholdImport(Wizard):
    "Import Thresholds"
    __name__ = 'stock.threshold.import'
    start = StateView('stock.threshold.import.start',
        'inventory_alerts.threshold_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()

    def transition_import_(self):
        data = self.start.file
        if isinstance(data, (bytes, bytearray, memoryview)):
            try:
                text = bytes(data).decode('utf-8-sig')
            except UnicodeDecodeError as error:
                raise ThresholdImportError(gettext(
                        'inventory_alerts.msg_csv_not_utf8')) from error
        else:
            text = data or ''
        import_thresholds(text)
        return 'end'


def _line_message(line, code, values):
    if 'level' in values:
        values = dict(values, level=gettext(
                f'inventory_alerts.msg_level_{values["level"]}'))
    return gettext('inventory_alerts.msg_csv_line', line=line,
        problem=gettext(f'inventory_alerts.msg_csv_{code}', **values))


def import_thresholds(text):
    """Import the CSV ``text``; raise :class:`ThresholdImportError` listing
    every bad line and change nothing when one line is bad.  Return the
    number of thresholds created and updated."""
    pool = Pool()
    Product = pool.get('product.product')
    Location = pool.get('stock.location')
    Threshold = pool.get('stock.threshold')
    cursor = Transaction().connection.cursor()
    product = Product.__table__()
    location = Location.__table__()
    cursor.execute(*product.select(product.code, product.id,
            where=(product.code != None)  # noqa: E711
            & (product.active == True)))  # noqa: E712
    products = dict(cursor)
    cursor.execute(*location.select(location.code, location.id,
            where=(location.type == 'warehouse')
            & (location.code != None)))  # noqa: E711
    warehouses = dict(cursor)
    rows, errors = parse_threshold_csv(text, products, warehouses)
    if errors:
        listed = '\n'.join(_line_message(*e) for e in errors[:MAX_LISTED])
        raise ThresholdImportError(gettext(
                'inventory_alerts.msg_csv_errors', count=len(errors),
                lines=listed))
    if not rows:
        raise ThresholdImportError(gettext('inventory_alerts.msg_csv_empty'))
    threshold = Threshold.__table__()
    existing = {}
    product_ids = sorted({products[r.code] for r in rows})
    for i in range(0, len(product_ids), BATCH):
        cursor.execute(*threshold.select(
                threshold.product, threshold.warehouse, threshold.id,
                where=threshold.product.in_(product_ids[i:i + BATCH])))
        for product_id, warehouse_id, id_ in cursor:
            existing[product_id, warehouse_id] = id_
    to_create, to_write = [], []
    for row in rows:
        key = (products[row.code], warehouses[row.warehouse])
        values = {'safety': row.safety, 'minimum': row.minimum,
            'maximum': row.maximum}
        if key in existing:
            to_write.append((existing[key], values))
        else:
            to_create.append(dict(values, product=key[0],
                    warehouse=key[1]))
    for i in range(0, len(to_create), BATCH):
        Threshold.create(to_create[i:i + BATCH])
    for i in range(0, len(to_write), BATCH):
        args = []
        for id_, values in to_write[i:i + BATCH]:
            args.extend([[Threshold(id_)], values])
        Threshold.write(*args)
    return len(to_create), len(to_write)


def export_thresholds(thresholds=None):
    "The CSV text of the product thresholds (all when None)"
    Threshold = Pool().get('stock.threshold')
    if thresholds is None:
        thresholds = Threshold.search([('product', '!=', None)],
            order=[('id', 'ASC')])
    return format_threshold_csv(
        (t.product.code or '', t.warehouse.code or '', t.safety, t.minimum,
            t.maximum)
        for t in thresholds if t.product)


class ThresholdExportResult(ModelView):
    "Export Thresholds"
    __name__ = 'stock.threshold.export.result'

    file = fields.Binary("File", readonly=True, filename='filename')
    filename = fields.Char("File Name", readonly=True)


class ThresholdExport(Wizard):
    "Export Thresholds"
    __name__ = 'stock.threshold.export'
    start = StateView('stock.threshold.export.result',
        'inventory_alerts.threshold_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        records = self.records if self.model and self.model.__name__ == (
            'stock.threshold') and self.records else None
        return {
            'file': export_thresholds(records).encode('utf-8'),
            'filename': 'thresholds.csv',
            }
