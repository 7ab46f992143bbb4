"""Shipping documents and labels as PDF: delivery notes, 4×6 in carrier
labels with an SSCC-18 in a GS1-128 barcode, bin labels and product labels
(C5, D1).

Pure rendering: no trytond import.  The models gather a *template* (a dict
built from an ``inventory.print.template`` record: page size, logo, header,
footer, which fields) and the documents (plain dicts), and call
:func:`render`, which returns the PDF bytes.

Barcodes are encoded by python-barcode (the bar/space modules of Code 128,
GS1-128 with its leading FNC1, EAN-13) and drawn as vector rectangles with
reportlab, so they print sharp at any printer resolution.

References: GS1 General Specifications 24.0, §2.2.1 (SSCC, AI 00), §3.2
(element strings), §5.4 (GS1-128), §7.9 (check digit calculation),
§6.6.5.3 (logistic label: X-dimension 0.495–0.94 mm, bar height ≥ 32 mm).
"""
import io
from dataclasses import dataclass

from barcode import EAN13, Code128, Gs1_128
from reportlab.lib.units import inch, mm
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

KINDS = ('delivery_note', 'carrier_label', 'bin_label', 'product_label')

#: The fields each kind of template can show (the template's ``fields``
#: chooses among them; the barcodes that identify the thing are always
#: printed)
FIELDS = {
    'delivery_note': ('ship_to', 'ship_from', 'reference', 'date',
        'lines', 'lot', 'packages', 'weight', 'carrier'),
    'carrier_label': ('ship_to', 'ship_from', 'reference', 'carrier',
        'weight', 'package_count', 'sscc_text'),
    'bin_label': ('zone', 'warehouse'),
    'product_label': ('code', 'lot', 'expiry', 'price'),
    }

#: Default page sizes (width, height) in millimetres
SIZES = {
    'delivery_note': (210.0, 297.0),
    'carrier_label': (101.6, 152.4),  # 4 × 6 in
    'bin_label': (100.0, 50.0),
    'product_label': (60.0, 40.0),
    }

FONT = 'Helvetica'
FONT_BOLD = 'Helvetica-Bold'
CJK_FONT = 'STSong-Light'


class LabelError(ValueError):
    "Invalid input to a label: ``code`` names the problem, ``value`` the input"

    def __init__(self, code, value):
        self.code = code
        self.value = value
        super().__init__(f'{code}: {value!r}')


def gs1_check_digit(payload):
    """Return the GS1 modulo 10 check digit of the digits ``payload``
    (GS1 General Specifications §7.9.1: weights 3 and 1 alternating from
    the rightmost digit).

    >>> gs1_check_digit('10614141123456789')
    '7'
    """
    if not payload.isdigit():
        raise LabelError('not_digits', payload)
    total = sum(int(d) * (3 if i % 2 == 0 else 1)
        for i, d in enumerate(reversed(payload)))
    return str((10 - total % 10) % 10)


def sscc(company_prefix, serial_reference, extension_digit=0):
    """Return the 18-digit Serial Shipping Container Code (SSCC, AI 00).

    The SSCC is the extension digit (0–9, chosen by the company), the GS1
    company prefix (6 to 12 digits), the serial reference padded to fill
    the 17 digits, and the check digit (§2.2.1).

    Raises :class:`LabelError` when the prefix is not 6–12 digits, the
    serial reference does not fit in the digits left or is negative, or
    the extension digit is not 0–9.

    >>> sscc('0614141', 123456789, extension_digit=1)
    '106141411234567897'
    """
    prefix = str(company_prefix or '')
    if not prefix.isdigit() or not 6 <= len(prefix) <= 12:
        raise LabelError('company_prefix', company_prefix)
    if not isinstance(extension_digit, int) or not 0 <= extension_digit <= 9:
        raise LabelError('extension_digit', extension_digit)
    width = 16 - len(prefix)
    if (not isinstance(serial_reference, int) or serial_reference < 0
            or serial_reference >= 10 ** width):
        raise LabelError('serial_reference', serial_reference)
    payload = f'{extension_digit}{prefix}{serial_reference:0{width}d}'
    return payload + gs1_check_digit(payload)


def check_sscc(value):
    "Whether value is a well-formed SSCC-18 (digits and check digit)"
    value = str(value or '')
    return (len(value) == 18 and value.isdigit()
        and gs1_check_digit(value[:17]) == value[17])


def hri(element_string):
    """The human readable interpretation of an element string of fixed
    length AIs, e.g. ``(00) 003761230000000016``."""
    if element_string.startswith('00') and len(element_string) == 20:
        return f'(00) {element_string[2:]}'
    if element_string.startswith('01') and len(element_string) >= 16:
        text = f'(01) {element_string[2:16]}'
        rest = element_string[16:]
        if rest.startswith('10'):
            text += f' (10) {rest[2:]}'
        return text
    return element_string


# --- barcodes --------------------------------------------------------------

def barcode_modules(symbology, data):
    """Return the modules of the barcode as a string of '1' (bar) and '0'
    (space), without quiet zones.  ``symbology`` is ``gs1_128`` (data is an
    element string without parentheses; a variable-length AI only last),
    ``code128`` or ``ean13`` (12 or 13 digits)."""
    if symbology == 'gs1_128':
        code = Gs1_128(data)
    elif symbology == 'code128':
        if not data:
            raise LabelError('empty', data)
        code = Code128(data)
    elif symbology == 'ean13':
        if not str(data).isdigit() or len(str(data)) not in {12, 13}:
            raise LabelError('ean13', data)
        if len(data) == 13 and gs1_check_digit(data[:12]) != data[12]:
            raise LabelError('check_digit', data)
        code = EAN13(data[:12])
    else:
        raise LabelError('symbology', symbology)
    return ''.join(code.build())


def draw_barcode(canvas, modules, x, y, module_width, height):
    """Draw ``modules`` with its lower left corner at (x, y), one module
    ``module_width`` points wide; return the width drawn."""
    canvas.saveState()
    canvas.setFillColorRGB(0, 0, 0)
    start = None
    for i, module in enumerate(modules + '0'):
        if module == '1' and start is None:
            start = i
        elif module != '1' and start is not None:
            canvas.rect(x + start * module_width, y,
                (i - start) * module_width, height, stroke=0, fill=1)
            start = None
    canvas.restoreState()
    return len(modules) * module_width


def fit_module_width(modules, available, preferred, minimum=0.0):
    "The module width (points) of the barcode that fits ``available``"
    quiet = 20  # 10 modules each side
    return max(min(preferred, available / (len(modules) + quiet)), minimum)


# --- text ------------------------------------------------------------------

_cjk_registered = False


def font_for(text, bold=False):
    "Helvetica for Latin-1 text, the CID font of reportlab for the rest"
    global _cjk_registered
    try:
        (text or '').encode('latin-1')
    except UnicodeEncodeError:
        if not _cjk_registered:
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
            _cjk_registered = True
        return CJK_FONT
    return FONT_BOLD if bold else FONT


def draw_text(canvas, x, y, text, size, bold=False, width=None,
        align='left'):
    """Draw text (wrapped to ``width`` points when given) from its first
    baseline at y; return the y under the last line."""
    if text is None or text == '':
        return y
    leading = size * 1.2
    lines = []
    for paragraph in str(text).splitlines() or ['']:
        font = font_for(paragraph, bold)
        if width:
            lines.extend((line, font) for line in simpleSplit(
                    paragraph, font, size, width) or [''])
        else:
            lines.append((paragraph, font))
    for line, font in lines:
        canvas.setFont(font, size)
        if align == 'center':
            canvas.drawCentredString(x, y, line)
        elif align == 'right':
            canvas.drawRightString(x, y, line)
        else:
            canvas.drawString(x, y, line)
        y -= leading
    return y


def draw_logo(canvas, logo, x, top, max_width, max_height):
    "Draw the logo image (bytes) in the box; return its height drawn"
    if not logo:
        return 0
    try:
        image = ImageReader(io.BytesIO(logo))
        width, height = image.getSize()
    except Exception:  # a broken image is not worth a failed label
        return 0
    scale = min(max_width / width, max_height / height)
    canvas.drawImage(image, x, top - height * scale, width * scale,
        height * scale, mask='auto')
    return height * scale


@dataclass
class Page:
    "The geometry of one page of the template (points)"
    width: float
    height: float
    margin: float


def page_of(template):
    kind = template['kind']
    default_width, default_height = SIZES[kind]
    width = float(template.get('width') or default_width) * mm
    height = float(template.get('height') or default_height) * mm
    if width <= 0 or height <= 0:
        raise LabelError('size', (width, height))
    margin = min(width, height) * (0.06 if kind != 'delivery_note' else 0.08)
    return Page(width, height, margin)


def shows(template, field):
    fields = template.get('fields')
    return fields is None or field in fields


# --- the documents ---------------------------------------------------------

def _header(canvas, template, page, y):
    "Logo, header text; return the y below"
    margin = page.margin
    logo_height = draw_logo(canvas, template.get('logo'), margin, y,
        page.width * 0.3, page.height * 0.08)
    size = template.get('font_size') or 10
    if template.get('header'):
        draw_text(canvas, page.width - margin, y - size, template['header'],
            size, bold=True, align='right')
    return y - max(logo_height, size * 1.6) - 4


def _footer(canvas, template, page):
    if template.get('footer'):
        size = max((template.get('font_size') or 10) - 2, 5)
        draw_text(canvas, page.width / 2, page.margin + size * 0.2,
            template['footer'], size, align='center')


def carrier_label(canvas, template, page, label):
    """A 4×6 in logistic label: ship from / ship to, carrier and
    reference, and the SSCC in a GS1-128 barcode (AI 00) at the bottom."""
    margin, width = page.margin, page.width - 2 * page.margin
    size = template.get('font_size') or 10
    y = _header(canvas, template, page, page.height - margin)
    if shows(template, 'ship_from') and label.get('ship_from'):
        y = draw_text(canvas, margin, y - size * 0.2, template.get(
                'labels', {}).get('ship_from', 'FROM'), size * 0.7,
            bold=True)
        y = draw_text(canvas, margin, y, label['ship_from'], size * 0.8,
            width=width)
        y -= 4
    canvas.setLineWidth(1)
    canvas.line(margin, y, page.width - margin, y)
    y -= size * 1.2
    if shows(template, 'ship_to'):
        y = draw_text(canvas, margin, y, template.get('labels', {}).get(
                'ship_to', 'TO'), size * 0.8, bold=True)
        y = draw_text(canvas, margin, y - size * 0.5, label.get('ship_to'),
            size * 1.4, bold=True, width=width)
    canvas.line(margin, y, page.width - margin, y)
    y -= size * 1.4
    details = []
    if shows(template, 'carrier') and label.get('carrier'):
        details.append(label['carrier'])
    if shows(template, 'reference') and label.get('reference'):
        details.append(label['reference'])
    if shows(template, 'package_count') and label.get('package_count'):
        details.append(label['package_count'])
    if shows(template, 'weight') and label.get('weight'):
        details.append(label['weight'])
    for detail in details:
        y = draw_text(canvas, margin, y, detail, size, width=width)
    code = label.get('sscc')
    if code:
        if not check_sscc(code):
            raise LabelError('sscc', code)
        data = '00' + code
        modules = barcode_modules('gs1_128', data)
        module = fit_module_width(modules, width, 0.6 * mm)
        bar_height = min(32 * mm, page.height * 0.25)
        x = margin + (width - len(modules) * module) / 2
        bottom = margin + size * 3
        canvas.line(margin, bottom + bar_height + size * 2.2,
            page.width - margin, bottom + bar_height + size * 2.2)
        draw_text(canvas, margin, bottom + bar_height + size * 1.1,
            'SSCC', size * 0.8, bold=True)
        draw_barcode(canvas, modules, x, bottom, module, bar_height)
        if shows(template, 'sscc_text'):
            draw_text(canvas, page.width / 2, bottom - size * 1.2, hri(data),
                size, bold=True, align='center')
    _footer(canvas, template, page)


def delivery_note(canvas, template, page, note):
    """A delivery note: addresses, reference, date, the lines (product,
    code, lot, quantity), the packages and their weight."""
    margin, width = page.margin, page.width - 2 * page.margin
    size = template.get('font_size') or 10
    labels = template.get('labels', {})
    y = _header(canvas, template, page, page.height - margin)
    # The barcode of the reference on the first page, top right
    code = note.get('reference_barcode')
    if code:
        modules = barcode_modules('code128', code)
        module = 0.4 * mm
        draw_barcode(canvas, modules, page.width - margin - len(modules)
            * module, page.height - margin - size * 6.5, module, size * 3)
    y = draw_text(canvas, margin, y - size, note.get('title'), size * 1.8,
        bold=True)
    y -= size
    top = y
    if shows(template, 'ship_from') and note.get('ship_from'):
        y = draw_text(canvas, margin, top, labels.get('ship_from'),
            size * 0.8, bold=True)
        y = draw_text(canvas, margin, y, note['ship_from'], size,
            width=width / 2 - 10)
    bottom = y
    if shows(template, 'ship_to'):
        y = draw_text(canvas, margin + width / 2, top, labels.get('ship_to'),
            size * 0.8, bold=True)
        y = draw_text(canvas, margin + width / 2, y, note.get('ship_to'),
            size * 1.1, bold=True, width=width / 2)
    y = min(y, bottom) - size
    facts = []
    for key in ('reference', 'date', 'carrier', 'packages', 'weight'):
        if shows(template, key) and note.get(key):
            facts.append(f'{labels.get(key, key)}: {note[key]}')
    for fact in facts:
        y = draw_text(canvas, margin, y, fact, size, width=width)
    y -= size
    if shows(template, 'lines'):
        with_lot = shows(template, 'lot')
        columns = [(labels.get('product'), 0.0),
            (labels.get('code'), 0.45)]
        if with_lot:
            columns.append((labels.get('lot'), 0.65))
        columns.append((labels.get('quantity'), 1.0))
        for title, at in columns:
            draw_text(canvas, margin + width * at, y, title, size, bold=True,
                align='right' if at == 1.0 else 'left')
        y -= size * 0.5
        canvas.line(margin, y, page.width - margin, y)
        y -= size * 1.3
        for line in note.get('lines', []):
            if y < margin + size * 4:
                _footer(canvas, template, page)
                canvas.showPage()
                y = page.height - margin - size
            values = [line.get('product'), line.get('code')]
            if with_lot:
                values.append(line.get('lot'))
            values.append(line.get('quantity'))
            low = y
            for (_, at), value in zip(columns, values):
                if at == 1.0:
                    draw_text(canvas, margin + width, y, value, size,
                        align='right')
                else:
                    low = min(low, draw_text(canvas, margin + width * at, y,
                            value, size, width=width * 0.2 if at else
                            width * 0.44))
            y = min(low, y - size * 1.2)
    _footer(canvas, template, page)


def bin_label(canvas, template, page, bin_):
    "A bin label: the bin code large, its barcode (Code 128), the zone"
    margin, width = page.margin, page.width - 2 * page.margin
    size = template.get('font_size') or 10
    y = page.height - margin
    y = draw_text(canvas, page.width / 2, y - size * 2, bin_.get('code'),
        size * 2.4, bold=True, align='center')
    details = [bin_.get(f) for f in ('zone', 'warehouse')
        if shows(template, f) and bin_.get(f)]
    if details:
        y = draw_text(canvas, page.width / 2, y, ' · '.join(details), size,
            align='center')
    value = bin_.get('barcode') or bin_.get('code')
    modules = barcode_modules('code128', value)
    module = fit_module_width(modules, width, 0.5 * mm)
    bar_height = max(min(y - margin - size, 20 * mm), 5 * mm)
    draw_barcode(canvas, modules, margin + (width - len(modules) * module)
        / 2, margin + size * 0.5, module, bar_height)


def product_label(canvas, template, page, product):
    """A product label: the name, the code, and the GTIN (EAN-13, or
    GS1-128 with AIs 01 and 10 when the label is for a lot)."""
    margin, width = page.margin, page.width - 2 * page.margin
    size = template.get('font_size') or 8
    y = page.height - margin - size
    y = draw_text(canvas, margin, y, product.get('name'), size * 1.2,
        bold=True, width=width)
    details = []
    if shows(template, 'code') and product.get('code'):
        details.append(product['code'])
    if shows(template, 'lot') and product.get('lot'):
        details.append(f"LOT {product['lot']}")
    if shows(template, 'expiry') and product.get('expiry'):
        details.append(product['expiry'])
    if shows(template, 'price') and product.get('price'):
        details.append(product['price'])
    if details:
        y = draw_text(canvas, margin, y, ' · '.join(details), size,
            width=width)
    gtin = product.get('gtin')
    if not gtin:
        return
    gtin = gtin.zfill(14)
    if product.get('lot') and shows(template, 'lot'):
        data = '01' + gtin + '10' + product['lot']
        modules = barcode_modules('gs1_128', data)
        text = hri(data)
    else:
        modules = barcode_modules('ean13', gtin[1:])
        text = gtin[1:]
    module = fit_module_width(modules, width, 0.33 * mm)
    bar_height = max(min(y - margin - size * 1.8, 18 * mm), 4 * mm)
    bottom = margin + size * 1.2
    draw_barcode(canvas, modules, margin + (width - len(modules) * module)
        / 2, bottom, module, bar_height)
    draw_text(canvas, page.width / 2, margin + size * 0.1, text, size * 0.9,
        align='center')


RENDERERS = {
    'delivery_note': delivery_note,
    'carrier_label': carrier_label,
    'bin_label': bin_label,
    'product_label': product_label,
    }


def render(template, documents):
    """Render ``documents`` (a list of dicts, one page each) with the
    ``template`` dict and return the PDF bytes.

    ``template`` keys: ``kind`` (one of :data:`KINDS`), ``width`` and
    ``height`` (mm, default :data:`SIZES`), ``logo`` (image bytes),
    ``header``, ``footer``, ``font_size`` (points), ``fields`` (the keys
    of :data:`FIELDS` to show; ``None`` for all), ``labels`` (the
    translated captions), ``title``.

    Raises :class:`LabelError` for an unknown kind, a bad size, an invalid
    SSCC or barcode data.  Linear in the number of documents.
    """
    kind = template.get('kind')
    if kind not in RENDERERS:
        raise LabelError('kind', kind)
    page = page_of(template)
    output = io.BytesIO()
    canvas = Canvas(output, pagesize=(page.width, page.height),
        pageCompression=1)
    canvas.setTitle(template.get('title') or kind)
    canvas.setCreator('inventory_wave')
    for document in documents or [{}]:
        RENDERERS[kind](canvas, template, page, document)
        canvas.showPage()
    canvas.save()
    return output.getvalue()


__all__ = ['sscc', 'check_sscc', 'gs1_check_digit', 'render',
    'barcode_modules', 'LabelError', 'KINDS', 'FIELDS', 'SIZES', 'inch']
