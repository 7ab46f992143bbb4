#!/usr/bin/env python3
"""Labels and delivery notes rendered per second (issue 9, C5), each figure
beside its baseline.  Standalone, no database:

    .venv/bin/python tests/bench/bench_labels.py [--count 200]

1. 4×6 in carrier labels with an SSCC in GS1-128 (python-barcode modules
   drawn as reportlab rectangles, :mod:`inventory_wave.labels`): one PDF of
   ``count`` pages, and one PDF per label (as the pack station prints).
   Baseline: the same page with reportlab's own Code 128 widget
   (``reportlab.graphics.barcode``), which is what a plain reportlab label
   would use (it has no GS1 FNC1).
2. Product labels 60×40 mm (EAN-13) and delivery notes A4 of 10 lines.

It never fails on a figure (tests never assert on time).
"""
import argparse
import io
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, 'addons', 'inventory_wave'))

import labels  # noqa: E402  the pure module, no trytond needed

CARRIER = {
    'ship_from': 'Example Warehouse\n1 Dock Road\n75001 Paris',
    'ship_to': 'Anna Sample\n12 Main Street\n10115 Berlin\nGermany',
    'reference': 'SO-0001', 'carrier': 'Parcel Express',
    'weight': '1.6 kg', 'package_count': 'Package 1 of 2',
    }
NOTE = {
    'title': 'Delivery Note', 'ship_to': CARRIER['ship_to'],
    'ship_from': CARRIER['ship_from'], 'reference': 'CS-1 / SO-1',
    'reference_barcode': 'CS-1', 'carrier': 'Parcel Express',
    'lines': [{'product': f'Product {i}', 'code': f'P{i}', 'lot': 'L1',
            'quantity': '2 u'} for i in range(10)],
    }


def carrier_labels(count):
    return [dict(CARRIER, sscc=labels.sscc('0614141', n))
        for n in range(1, count + 1)]


def baseline(documents):
    "The same 4x6 page with reportlab's Code 128 widget"
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode import createBarcodeDrawing
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    output = io.BytesIO()
    width, height = 101.6 * mm, 152.4 * mm
    canvas = Canvas(output, pagesize=(width, height), pageCompression=1)
    for label in documents:
        y = height - 20
        for line in (label['ship_from'] + '\n' + label['ship_to']).split(
                '\n'):
            canvas.setFont('Helvetica', 11)
            canvas.drawString(12, y, line)
            y -= 14
        drawing = createBarcodeDrawing('Code128', value='00' + label['sscc'],
            barWidth=0.5 * mm, barHeight=32 * mm, humanReadable=True)
        renderPDF.draw(drawing, canvas, 12, 40)
        canvas.showPage()
    canvas.save()
    return output.getvalue()


def rate(function, documents, repeat=1):
    "Documents per second of function(documents), best of repeat"
    best = None
    for _ in range(repeat):
        start = time.perf_counter()
        function(documents)
        elapsed = time.perf_counter() - start
        best = elapsed if best is None else min(best, elapsed)
    return len(documents) / best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--count', type=int, default=200,
        help="documents per measure (default 200)")
    args = parser.parse_args(argv)
    count = max(args.count, 1)
    documents = carrier_labels(count)
    template = {'kind': 'carrier_label', 'header': 'ACME',
        'footer': 'Thank you'}
    rows = []
    # warm-up: fonts, barcode tables
    labels.render(template, documents[:2])
    baseline(documents[:2])
    rows.append(("carrier label 4x6, one PDF of N pages",
            rate(lambda d: labels.render(template, d), documents, 3),
            rate(baseline, documents, 3)))
    rows.append(("carrier label 4x6, one PDF per label",
            rate(lambda d: [labels.render(template, [x]) for x in d],
                documents, 2),
            rate(lambda d: [baseline([x]) for x in d], documents, 2)))
    products = [{'name': f'Product {n}', 'code': f'P{n}',
            'gtin': '4006381333931'} for n in range(count)]
    rows.append(("product label 60x40 (EAN-13)",
            rate(lambda d: labels.render({'kind': 'product_label'}, d),
                products, 3), None))
    notes = [NOTE] * max(count // 10, 1)
    rows.append(("delivery note A4, 10 lines",
            rate(lambda d: labels.render({'kind': 'delivery_note'}, d),
                notes, 3), None))
    print(f"Labels rendered per second ({count} documents, best of runs)")
    print(f"{'document':42} {'ours /s':>10} {'baseline /s':>12}")
    for name, ours, base in rows:
        base_text = f'{base:12.0f}' if base else f"{'-':>12}"
        print(f"{name:42} {ours:10.0f} {base_text}")
    print("baseline: reportlab's own Code 128 widget on the same page "
        "(no GS1 FNC1, so not a valid logistic label)")
    return 0


if __name__ == '__main__':
    sys.exit(main())
