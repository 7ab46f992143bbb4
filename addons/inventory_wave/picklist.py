"""Pick list PDF of a batch for paper-based sites (C3).

Pure Python (no Tryton import): :func:`render` takes the batch as plain
data and returns the PDF bytes.  Bars are encoded by python-barcode (Code
128 for bins and batches, EAN-13 for GTINs; ISO/IEC 15417 and 15420) and
drawn as vector rectangles by reportlab, so they stay sharp when printed.

``data`` keys: ``title``, ``batch`` (code), ``wave``, ``picker``, ``cart``,
``distance``, ``s_shape_distance``, ``labels`` (translated column titles
``stop``, ``bin``, ``product``, ``lot``, ``quantity``, ``totes``,
``distance``) and ``stops``, a list of dicts with ``sequence``, ``bin``,
``product``, ``gtin``, ``lot``, ``quantity`` (text) and ``totes`` (text).
"""
import io

import barcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

__all__ = ['render', 'bars']


def bars(kind, text):
    """Return the module pattern ('1' bar, '0' space) of a barcode.

    >>> bars('code128', 'A-01')[:11]
    '11010010000'
    """
    return barcode.get(kind, text).build()[0]


def _draw_bars(pdf, pattern, x, y, width, height):
    module = width / len(pattern)
    start = None
    for i, bit in enumerate(pattern + '0'):
        if bit == '1' and start is None:
            start = i
        elif bit != '1' and start is not None:
            pdf.rect(x + start * module, y, (i - start) * module, height,
                stroke=0, fill=1)
            start = None


def _gtin_pattern(gtin):
    digits = (gtin or '').strip()
    if digits.isdigit() and len(digits) == 14 and digits[0] == '0':
        digits = digits[1:]
    if digits.isdigit() and len(digits) == 13:
        try:
            return bars('ean13', digits[:12])
        except Exception:
            pass
    return bars('code128', gtin) if gtin else None


def _font():
    "A CID font that prints Chinese as well as Latin text"
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    name = 'STSong-Light'
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


def render(documents):
    """Return the PDF (bytes) of the pick list ``documents`` (one data
    dict or a list of them, each starting on a new page)"""
    if isinstance(documents, dict):
        documents = [documents]
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    if documents:
        pdf.setTitle(f"{documents[0]['title']} {documents[0]['batch']}")
    for data in documents:
        _draw(pdf, data)
    if not documents:
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _clean(value):
    "The CID font has no no-break space: print a plain one"
    if isinstance(value, str):
        return value.replace('\xa0', ' ').replace('\u202f', ' ')
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _draw(pdf, data):
    data = _clean(data)
    font = _font()
    width, height = A4
    labels = data['labels']
    margin = 15 * mm
    row_height = 24 * mm

    def header():
        pdf.setFont(font, 16)
        pdf.drawString(margin, height - 20 * mm,
            f"{data['title']} {data['wave']}")
        pdf.setFont(font, 9)
        pdf.drawString(margin, height - 26 * mm, '  /  '.join(
                filter(None, [data.get('picker'), data.get('cart'),
                        f"{labels['distance']}: {data['distance']} m "
                        f"(S: {data['s_shape_distance']} m)"])))
        _draw_bars(pdf, bars('code128', data['batch']),
            width - margin - 60 * mm, height - 24 * mm, 60 * mm, 10 * mm)
        pdf.drawCentredString(width - margin - 30 * mm, height - 28 * mm,
            data['batch'])
        y = height - 36 * mm
        pdf.setFont(font, 8)
        for x, key in [(0, 'stop'), (12, 'bin'), (62, 'product'),
                (122, 'quantity'), (142, 'totes')]:
            pdf.drawString(margin + x * mm, y, labels[key])
        pdf.line(margin, y - 2 * mm, width - margin, y - 2 * mm)
        return y - 4 * mm

    y = header()
    for stop in data['stops']:
        if y - row_height < margin:
            pdf.showPage()
            y = header()
        top = y
        pdf.setFont(font, 14)
        pdf.drawString(margin, top - 7 * mm, str(stop['sequence']))
        pdf.setFont(font, 11)
        pdf.drawString(margin + 12 * mm, top - 6 * mm, stop['bin'])
        _draw_bars(pdf, bars('code128', stop['bin']), margin + 12 * mm,
            top - 18 * mm, 45 * mm, 10 * mm)
        pdf.setFont(font, 9)
        pdf.drawString(margin + 62 * mm, top - 5 * mm, stop['product'][:34])
        if stop.get('lot'):
            pdf.drawString(margin + 62 * mm, top - 9 * mm,
                f"{labels['lot']}: {stop['lot']}")
        pattern = _gtin_pattern(stop.get('gtin'))
        if pattern:
            _draw_bars(pdf, pattern, margin + 62 * mm, top - 20 * mm,
                40 * mm, 9 * mm)
            pdf.setFont(font, 7)
            pdf.drawString(margin + 62 * mm, top - 23 * mm, stop['gtin'])
        pdf.setFont(font, 12)
        pdf.drawString(margin + 122 * mm, top - 7 * mm, stop['quantity'])
        pdf.setFont(font, 9)
        for k, text in enumerate(stop['totes'].split('\n')):
            pdf.drawString(margin + 142 * mm, top - (5 + 4 * k) * mm, text)
        # a box to tick
        pdf.rect(width - margin - 5 * mm, top - 8 * mm, 5 * mm, 5 * mm)
        pdf.line(margin, top - row_height + 1 * mm, width - margin,
            top - row_height + 1 * mm)
        y = top - row_height
    pdf.showPage()

