"""Print templates and the PDF reports built on them (C5, D1): delivery
note, carrier label, bin label and product label.

A template is a record an administrator edits in the web client (logo,
header, footer, which fields, label size); the reports take the first
active template of their kind and render with :mod:`labels`.  Each
template has a preview on sample data.
"""
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction

from . import labels
from .pick import format_quantity
from .report import report_action

KIND_SELECTION = [
    ('delivery_note', "Delivery Note"),
    ('carrier_label', "Carrier Label"),
    ('bin_label', "Bin Label"),
    ('product_label', "Product Label"),
    ]
FIELD_SELECTION = [
    ('ship_to', "Ship To"),
    ('ship_from', "Ship From"),
    ('reference', "Order Reference"),
    ('date', "Date"),
    ('lines', "Lines"),
    ('lot', "Lot"),
    ('packages', "Packages"),
    ('weight', "Weight"),
    ('carrier', "Carrier"),
    ('package_count', "Package Count"),
    ('sscc_text', "SSCC in Text"),
    ('zone', "Zone"),
    ('warehouse', "Warehouse"),
    ('code', "Code"),
    ('expiry', "Expiration Date"),
    ('price', "Price"),
    ]


class PrintTemplate(DeactivableMixin, sequence_ordered(), ModelSQL,
        ModelView):
    "Print Template"
    __name__ = 'inventory.print.template'

    name = fields.Char("Name", required=True, translate=True,
        help="What the template prints, e.g. 'Carrier label 4x6'.")
    kind = fields.Selection(KIND_SELECTION, "Document", required=True,
        help="The document the template lays out.")
    width = fields.Float("Width (mm)", digits=(6, 1), required=True,
        domain=[('width', '>', 0)],
        help="The page or label width in millimetres.")
    height = fields.Float("Height (mm)", digits=(6, 1), required=True,
        domain=[('height', '>', 0)],
        help="The page or label height in millimetres.")
    font_size = fields.Integer("Font Size", required=True,
        domain=[('font_size', '>=', 5), ('font_size', '<=', 36)],
        help="The base size of the text, in points.")
    logo = fields.Binary("Logo",
        help="An image (PNG or JPEG) printed at the top left.")
    header = fields.Text("Header", translate=True,
        help="Text printed at the top right, e.g. the company's name.")
    footer = fields.Text("Footer", translate=True,
        help="Text printed at the bottom, e.g. the returns address.")
    fields_shown = fields.MultiSelection(FIELD_SELECTION, "Fields",
        help="Which fields the document shows; the barcodes that "
        "identify it are always printed.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'preview': {'icon': 'tryton-print', 'depends': ['kind']},
                })

    @staticmethod
    def default_kind():
        return 'carrier_label'

    @staticmethod
    def default_font_size():
        return 10

    @fields.depends('kind')
    def on_change_kind(self):
        if self.kind:
            self.width, self.height = labels.SIZES[self.kind]
            self.fields_shown = list(labels.FIELDS[self.kind])

    @classmethod
    def validate_fields(cls, templates, field_names):
        super().validate_fields(templates, field_names)
        for template in templates:
            wrong = set(template.fields_shown or []) - set(
                labels.FIELDS[template.kind])
            if wrong:
                raise ValidationError(gettext(
                        'inventory_wave.msg_template_field_kind',
                        template=template.rec_name,
                        fields=', '.join(sorted(wrong))))

    @classmethod
    @ModelView.button_action('inventory_wave.report_print_template_preview')
    def preview(cls, templates):
        pass

    @classmethod
    def get(cls, kind):
        "The template used for kind: the first active one"
        templates = cls.search([('kind', '=', kind)], limit=1)
        if templates:
            return templates[0]

    def as_dict(self):
        return template_dict(self.kind, self)


def template_dict(kind, template=None):
    "The dict labels.render takes, from the template record (or defaults)"
    captions = {
        'ship_to': gettext('inventory_wave.msg_label_ship_to'),
        'ship_from': gettext('inventory_wave.msg_label_ship_from'),
        'reference': gettext('inventory_wave.msg_label_reference'),
        'date': gettext('inventory_wave.msg_label_date'),
        'carrier': gettext('inventory_wave.msg_label_carrier'),
        'packages': gettext('inventory_wave.msg_label_packages'),
        'weight': gettext('inventory_wave.msg_label_weight'),
        'product': gettext('inventory_wave.msg_label_product'),
        'code': gettext('inventory_wave.msg_label_code'),
        'lot': gettext('inventory_wave.msg_label_lot'),
        'quantity': gettext('inventory_wave.msg_label_quantity'),
        }
    data = {'kind': kind, 'labels': captions}
    if template:
        data.update({
                'width': template.width, 'height': template.height,
                'font_size': template.font_size,
                'logo': bytes(template.logo) if template.logo else None,
                'header': template.header, 'footer': template.footer,
                'fields': list(template.fields_shown or []),
                'title': template.name,
                })
    return data


def address_text(party, address):
    lines = [party.rec_name] if party else []
    if address:
        text = address.full_address if hasattr(address, 'full_address') \
            else address.rec_name
        lines.extend(l for l in (text or '').splitlines() if l.strip())
    return '\n'.join(lines)


def weight_text(weight):
    if not weight:
        return None
    return f'{weight:.3f}'.rstrip('0').rstrip('.') + ' kg'


def shipment_documents(shipment):
    """Return (delivery note dict, [carrier label dicts]) of a customer
    shipment."""
    pool = Pool()
    Package = pool.get('stock.package')
    Lang = pool.get('ir.lang')
    company = shipment.company
    ship_from = address_text(company.party,
        shipment.warehouse.address if shipment.warehouse else None)
    ship_to = address_text(shipment.customer, shipment.delivery_address)
    packages = Package.search([('shipment', '=', str(shipment))],
        order=[('id', 'ASC')])
    carrier = getattr(shipment, 'carrier', None)
    carrier = carrier.rec_name if carrier else None
    total = sum(p.gross_weight or 0 for p in packages)
    reference = shipment.reference or shipment.number
    moves = [m for m in (shipment.outgoing_moves or [])
        if m.state != 'cancelled' and m.quantity]
    note = {
        'title': gettext('inventory_wave.msg_delivery_note_title'),
        'ship_from': ship_from, 'ship_to': ship_to,
        'reference': ' / '.join(filter(None, [shipment.number,
                    shipment.reference])),
        'reference_barcode': shipment.number,
        'date': Lang.get().strftime(shipment.effective_date
            or shipment.planned_date) if (shipment.effective_date
            or shipment.planned_date) else None,
        'carrier': carrier,
        'packages': ', '.join(p.number for p in packages) or None,
        'weight': weight_text(total),
        'lines': [{
                'product': m.product.rec_name,
                'code': m.product.code,
                'lot': m.lot.number if m.lot else None,
                'quantity': format_quantity(m.quantity, m.unit),
                } for m in sorted(moves, key=lambda m: (
                        m.product.rec_name, m.id))],
        }
    count = len(packages)
    carrier_labels = [{
            'ship_from': ship_from, 'ship_to': ship_to,
            'reference': reference, 'carrier': carrier,
            'weight': weight_text(p.gross_weight),
            'package_count': gettext('inventory_wave.msg_label_package_of',
                number=i, count=count),
            'sscc': p.sscc,
            } for i, p in enumerate(packages, 1)]
    return note, carrier_labels


def sample_documents(kind):
    "The sample data a template preview renders"
    note = {
        'title': gettext('inventory_wave.msg_delivery_note_title'),
        'ship_from': 'Example Warehouse\n1 Dock Road\n75001 Paris',
        'ship_to': 'Anna Sample\n12 Main Street\n10115 Berlin\nGermany',
        'reference': 'CS-0001 / SO-0001', 'reference_barcode': 'CS-0001',
        'date': '2026-01-15', 'carrier': 'Parcel Express',
        'packages': 'PKG-1, PKG-2', 'weight': '3.2 kg',
        'lines': [
            {'product': 'Orange Juice 1 l', 'code': 'OJ-1', 'lot': 'L2401',
                'quantity': '2 u'},
            {'product': 'Soap 100 g', 'code': 'SOAP', 'lot': None,
                'quantity': '3 u'}],
        }
    return {
        'delivery_note': [note],
        'carrier_label': [{
                'ship_from': note['ship_from'], 'ship_to': note['ship_to'],
                'reference': 'SO-0001', 'carrier': 'Parcel Express',
                'weight': '1.6 kg', 'package_count': '1 / 2',
                'sscc': labels.sscc('0614141', 1)}],
        'bin_label': [{'code': 'A-01-1-03', 'zone': 'Pick',
                'warehouse': 'Main'}],
        'product_label': [{'name': 'Orange Juice 1 l', 'code': 'OJ-1',
                'gtin': '4006381333931', 'lot': 'L2401',
                'expiry': '2026-03-01', 'price': '2.50'}],
        }[kind]


class PdfReport(Report):
    "A report that renders records with a print template"
    kind = None
    model = None

    @classmethod
    def execute(cls, ids, data):
        Model = Pool().get(cls.model)
        ids = list(map(int, ids))
        action_report = report_action(cls.__name__, data)
        cls.check_access(action_report, cls.model, ids)
        with Transaction().set_context(_check_access=False):
            records = Model.browse(ids)
            content = labels.render(
                cls.template(records), cls.documents(records))
        name = (records[0].rec_name if len(records) == 1
            else action_report.name)
        return 'pdf', content, False, name

    @classmethod
    def template(cls, records):
        "The template dict: the first active template of the kind"
        Template = Pool().get('inventory.print.template')
        return template_dict(cls.kind, Template.get(cls.kind))

    @classmethod
    def documents(cls, records):
        "The list of document dicts to render, one per page"
        raise NotImplementedError


class DeliveryNote(PdfReport):
    __name__ = 'stock.shipment.out.delivery_note_pdf'
    kind = 'delivery_note'
    model = 'stock.shipment.out'

    @classmethod
    def documents(cls, shipments):
        return [shipment_documents(s)[0] for s in shipments]


class CarrierLabel(PdfReport):
    __name__ = 'stock.shipment.out.carrier_label_pdf'
    kind = 'carrier_label'
    model = 'stock.shipment.out'

    @classmethod
    def documents(cls, shipments):
        documents = []
        for shipment in shipments:
            _, carrier_labels = shipment_documents(shipment)
            if not carrier_labels:
                raise ValidationError(gettext(
                        'inventory_wave.msg_label_no_package',
                        shipment=shipment.rec_name))
            documents.extend(carrier_labels)
        return documents


class BinLabel(PdfReport):
    __name__ = 'stock.location.bin_label'
    kind = 'bin_label'
    model = 'stock.location'

    @classmethod
    def documents(cls, locations):
        Location = Pool().get('stock.location')
        zones = dict(Location.fields_get(['zone'])['zone']['selection']) \
            if 'zone' in Location._fields else {}
        return [{
                'code': l.code or l.name,
                'barcode': getattr(l, 'barcode', None) or l.code or l.name,
                'zone': zones.get(getattr(l, 'zone', None)),
                'warehouse': l.warehouse.rec_name if l.warehouse else None,
                } for l in locations]


class ProductLabel(PdfReport):
    __name__ = 'product.product.label'
    kind = 'product_label'
    model = 'product.product'

    @classmethod
    def documents(cls, products):
        Lang = Pool().get('ir.lang')
        lang = Lang.get()
        return [{
                'name': p.rec_name, 'code': p.code,
                'gtin': p.gtin if getattr(p, 'gtin', None) else None,
                'price': lang.currency(p.list_price_used, p.currency)
                if getattr(p, 'list_price_used', None) is not None
                and getattr(p, 'currency', None) else None,
                } for p in products]


class TemplatePreview(PdfReport):
    "A template rendered on sample data"
    __name__ = 'inventory.print.template.preview'
    model = 'inventory.print.template'

    @classmethod
    def template(cls, templates):
        return templates[0].as_dict()

    @classmethod
    def documents(cls, templates):
        return sample_documents(templates[0].kind)


__all__ = ['PrintTemplate', 'DeliveryNote', 'CarrierLabel', 'BinLabel',
    'ProductLabel', 'TemplatePreview']
