"""The traceability PDF of a lot (D3): plain data in, PDF bytes out.

Pure Python (no Tryton import), drawn with reportlab platypus so long
histories flow over pages.  ``data`` keys: ``title``, ``lot``, ``product``,
``expiration`` (text or None), ``printed`` (text), ``sections``: a list of
``{'title', 'columns': [titles], 'rows': [[cells]], 'empty': text}``.
Cells are text; Chinese prints with the CID font STSong-Light.
"""
import io

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle)
from xml.sax.saxutils import escape

__all__ = ['render']


def _font():
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    name = 'STSong-Light'
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(name))
    return name


CHUNK = 40
STYLE = TableStyle([
        ('BACKGROUND', (0, 0), (-1, 0), colors.HexColor('#37474f')),
        ('GRID', (0, 0), (-1, -1), 0.25, colors.grey),
        ('VALIGN', (0, 0), (-1, -1), 'TOP'),
        ('ROWBACKGROUNDS', (0, 1), (-1, -1),
            [colors.white, colors.HexColor('#f2f2f2')]),
        ])


def _paragraph(text, style):
    return Paragraph(escape('' if text is None else str(text)), style)


def _fits(width, size):
    "How many half-width characters fit on one line of a cell"
    return int((width - 12) / (size * 0.55))


def _cell(text, style, fits):
    """A plain string when the text fits on one line (cheap to lay out),
    else a wrapping paragraph; full-width characters count double"""
    text = '' if text is None else str(text)
    length = sum(2 if ord(c) > 0x2e80 else 1 for c in text)
    if length <= fits and '\n' not in text:
        return text
    return _paragraph(text, style)


def render(data):
    """Return the PDF bytes of a lot's trace.

    >>> pdf = render({'title': 'Lot trace', 'lot': 'L1', 'product': 'Milk',
    ...     'expiration': None, 'printed': '2026-11-26', 'sections': [
    ...         {'title': 'Upstream', 'columns': ['Date', 'Document'],
    ...          'rows': [['2026-11-20', 'PO-1']], 'empty': '-'}]})
    >>> pdf[:5]
    b'%PDF-'
    """
    font = _font()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        style.fontName = font
    cell = styles['BodyText'].clone('cell', fontSize=7.5, leading=9)
    head = cell.clone('head', textColor=colors.white)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer, pagesize=landscape(A4), leftMargin=12 * mm,
        rightMargin=12 * mm, topMargin=12 * mm, bottomMargin=12 * mm,
        title=f"{data['title']} {data['lot']}")
    story = [
        _paragraph(f"{data['title']}: {data['lot']}", styles['Title']),
        _paragraph(' | '.join(str(v) for v in [
                    data['product'], data.get('expiration'),
                    data.get('printed')] if v), styles['Normal']),
        Spacer(1, 4 * mm)]
    width = document.width
    for section in data['sections']:
        story.append(_paragraph(section['title'], styles['Heading2']))
        rows = section['rows']
        if not rows:
            story.append(_paragraph(section.get('empty', '-'),
                    styles['Normal']))
            continue
        columns = section['columns']
        header = [_paragraph(c, head) for c in columns]
        fits = _fits(width / len(columns), cell.fontSize)
        # Tables of CHUNK rows: splitting one long table across pages
        # re-measures its remaining rows at every page (quadratic)
        for index in range(0, len(rows), CHUNK):
            table = Table(
                [header] + [[_cell(c, cell, fits) for c in row]
                    for row in rows[index:index + CHUNK]],
                colWidths=[width / len(columns)] * len(columns),
                repeatRows=1)
            table.setStyle(STYLE)
            table.setStyle(TableStyle([
                        ('FONT', (0, 1), (-1, -1), font, cell.fontSize,
                            cell.leading)]))
            story.append(table)
        story.append(Spacer(1, 4 * mm))
    document.build(story)
    return buffer.getvalue()
