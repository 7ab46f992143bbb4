"""Unit tests of :mod:`labels`: SSCC check digits, and every document
rendered to PDF, turned into PNG by ``pdftoppm`` (poppler-utils), checked
not blank, and its barcodes decoded back by zxing-cpp (C5, D1)."""
import doctest
import io
import os
import shutil
import subprocess
import tempfile
import unittest

from hypothesis import given, settings
from hypothesis import strategies as st

from trytond.modules.inventory_wave import labels

BACKEND_INDEPENDENT = True

try:
    import zxingcpp
except ImportError:  # the test extra installs it
    zxingcpp = None
from PIL import Image


def pdf_pages(pdf, dpi=200):
    "The pages of the PDF bytes as PIL images (pdftoppm)"
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, 'document.pdf')
        with open(path, 'wb') as fp:
            fp.write(pdf)
        subprocess.run(['pdftoppm', '-r', str(dpi), '-png', '-gray', path,
                os.path.join(directory, 'page')], check=True)
        pages = []
        for name in sorted(os.listdir(directory)):
            if name.endswith('.png'):
                with Image.open(os.path.join(directory, name)) as image:
                    pages.append(image.copy())
        return pages


def decode(image):
    "The texts of the barcodes zxing-cpp reads on the image"
    return [r.text for r in zxingcpp.read_barcodes(image)]


def ink(image):
    "The share of dark pixels of the page"
    histogram = image.convert('L').histogram()
    return sum(histogram[:128]) / sum(histogram)


CARRIER = {
    'ship_from': 'Example Warehouse\n1 Dock Road\n75001 Paris',
    'ship_to': 'Anna Sample\n12 Main Street\n10115 Berlin',
    'reference': 'SO-1', 'carrier': 'Parcel Express', 'weight': '1.2 kg',
    'package_count': 'Package 1 of 2',
    'sscc': labels.sscc('0614141', 123456789, 1),
    }


class SSCCTestCase(unittest.TestCase):
    "The SSCC-18 and the GS1 check digit"

    def test_doctest(self):
        result = doctest.testmod(labels)
        self.assertEqual(result.failed, 0)
        self.assertGreater(result.attempted, 0)

    def test_gs1_example(self):
        "GS1 General Specifications' example SSCC"
        self.assertEqual(labels.sscc('0614141', 123456789, 1),
            '106141411234567897')
        self.assertTrue(labels.check_sscc('106141411234567897'))
        self.assertFalse(labels.check_sscc('106141411234567898'))
        self.assertFalse(labels.check_sscc('10614141123456789'))
        self.assertFalse(labels.check_sscc(None))

    def test_gtin_check_digit(self):
        self.assertEqual(labels.gs1_check_digit('400638133393'), '1')
        self.assertEqual(labels.gs1_check_digit('501234567890'), '0')

    @given(st.text(alphabet='0123456789', min_size=6, max_size=12),
        st.integers(min_value=0), st.integers(min_value=0, max_value=9))
    @settings(max_examples=200)
    def test_sscc_properties(self, prefix, serial, extension):
        serial %= 10 ** (16 - len(prefix))
        code = labels.sscc(prefix, serial, extension)
        self.assertEqual(len(code), 18)
        self.assertTrue(labels.check_sscc(code))
        self.assertEqual(code[0], str(extension))
        self.assertEqual(code[1:1 + len(prefix)], prefix)
        self.assertEqual(int(code[1 + len(prefix):17]), serial)

    def test_bad_input(self):
        for args, code in [
                (('12345', 1), 'company_prefix'),
                (('1234567890123', 1), 'company_prefix'),
                (('06141A1', 1), 'company_prefix'),
                ((None, 1), 'company_prefix'),
                (('0614141', -1), 'serial_reference'),
                (('0614141', 10 ** 9), 'serial_reference'),
                (('0614141', '12'), 'serial_reference'),
                ]:
            with self.subTest(args=args):
                with self.assertRaises(labels.LabelError) as context:
                    labels.sscc(*args)
                self.assertEqual(context.exception.code, code)
        with self.assertRaises(labels.LabelError):
            labels.sscc('0614141', 1, 10)
        with self.assertRaises(labels.LabelError):
            labels.gs1_check_digit('12a')


class BarcodeTestCase(unittest.TestCase):
    "Barcode modules from python-barcode"

    def test_gs1_128_starts_with_fnc1(self):
        modules = labels.barcode_modules('gs1_128', '00106141411234567897')
        # Start C (11010011100), then FNC1 (11110101110)
        self.assertTrue(modules.startswith('11010011100' + '11110101110'))
        self.assertTrue(modules.endswith('1100011101011'))  # stop

    def test_bad_data(self):
        for symbology, data, code in [
                ('ean13', '12345', 'ean13'),
                ('ean13', '4006381333932', 'check_digit'),
                ('code128', '', 'empty'),
                ('qr', 'x', 'symbology'),
                ]:
            with self.subTest(symbology=symbology, data=data):
                with self.assertRaises(labels.LabelError) as context:
                    labels.barcode_modules(symbology, data)
                self.assertEqual(context.exception.code, code)


@unittest.skipUnless(shutil.which('pdftoppm'), "poppler-utils missing")
@unittest.skipUnless(zxingcpp, "zxing-cpp missing")
class RenderTestCase(unittest.TestCase):
    "The PDFs, rasterised and read back"

    def test_carrier_label(self):
        template = {'kind': 'carrier_label', 'header': 'ACME',
            'footer': 'Thank you', 'labels': {'ship_to': 'SHIP TO'}}
        second = dict(CARRIER, sscc=labels.sscc('0614141', 2))
        pdf = labels.render(template, [CARRIER, second])
        pages = pdf_pages(pdf, dpi=200)
        self.assertEqual(len(pages), 2)
        # 4 × 6 in at 200 dpi
        self.assertEqual(pages[0].size, (800, 1200))
        for page, label in zip(pages, [CARRIER, second]):
            self.assertGreater(ink(page), 0.03)
            self.assertEqual(decode(page), ['(00)' + label['sscc']])

    def test_carrier_label_chinese_address(self):
        label = dict(CARRIER, ship_to='张三\n北京市朝阳区建国路 1 号')
        pdf = labels.render({'kind': 'carrier_label'}, [label])
        page, = pdf_pages(pdf, dpi=150)
        self.assertEqual(decode(page), ['(00)' + label['sscc']])
        self.assertIn(b'STSong-Light', pdf)

    def test_carrier_label_invalid_sscc(self):
        with self.assertRaises(labels.LabelError) as context:
            labels.render({'kind': 'carrier_label'},
                [dict(CARRIER, sscc='106141411234567898')])
        self.assertEqual(context.exception.code, 'sscc')

    def test_delivery_note(self):
        note = {'title': 'Delivery Note', 'ship_to': 'Anna\nParis',
            'ship_from': 'ACME', 'reference': 'CS-1 / SO-1',
            'reference_barcode': 'CS-1',
            'lines': [{'product': f'Product {i}', 'code': f'P{i}',
                    'lot': 'L1' if i % 2 else None, 'quantity': f'{i} u'}
                for i in range(1, 80)]}
        template = {'kind': 'delivery_note', 'header': 'ACME Ltd',
            'footer': 'Returns: 1 Dock Road', 'labels': {}}
        pages = pdf_pages(labels.render(template, [note]), dpi=150)
        # 79 lines run onto a second page
        self.assertGreaterEqual(len(pages), 2)
        self.assertEqual(decode(pages[0]), ['CS-1'])
        self.assertTrue(all(ink(p) > 0.002 for p in pages))

    def test_fields_hidden(self):
        "A template that hides the lines prints less"
        note = {'title': 'Delivery Note', 'ship_to': 'Anna',
            'lines': [{'product': 'Soap', 'quantity': '1 u'}] * 20}
        full = pdf_pages(labels.render({'kind': 'delivery_note'}, [note]))
        bare = pdf_pages(labels.render({'kind': 'delivery_note',
                    'fields': ['ship_to']}, [note]))
        self.assertLess(ink(bare[0]), ink(full[0]))

    def test_bin_label(self):
        pdf = labels.render({'kind': 'bin_label', 'width': 80, 'height': 40},
            [{'code': 'A-01-1-03', 'zone': 'Pick'},
                {'code': 'A-01-1-04', 'barcode': 'BIN0104'}])
        pages = pdf_pages(pdf, dpi=300)
        self.assertEqual([decode(p) for p in pages],
            [['A-01-1-03'], ['BIN0104']])
        self.assertEqual(pages[0].size[0], 945)
        self.assertIn(pages[0].size[1], {472, 473})

    def test_product_label(self):
        pdf = labels.render({'kind': 'product_label'}, [
                {'name': 'Water', 'gtin': '4006381333931'},
                {'name': 'Milk', 'gtin': '04006381333931', 'lot': 'L7'}])
        pages = pdf_pages(pdf, dpi=300)
        self.assertEqual([decode(p) for p in pages],
            [['4006381333931'], ['(01)04006381333931(10)L7']])

    def test_logo(self):
        image = Image.new('RGB', (200, 80), (200, 30, 30))
        buffer = io.BytesIO()
        image.save(buffer, 'PNG')
        with_logo = labels.render({'kind': 'carrier_label',
                'logo': buffer.getvalue()}, [CARRIER])
        without = labels.render({'kind': 'carrier_label'}, [CARRIER])
        self.assertGreater(len(with_logo), len(without))
        broken = labels.render({'kind': 'carrier_label',
                'logo': b'not an image'}, [CARRIER])
        self.assertTrue(broken.startswith(b'%PDF'))

    def test_bad_template(self):
        for template, code in [
                ({'kind': 'poster'}, 'kind'),
                ({'kind': 'bin_label', 'width': -5}, 'size'),
                ]:
            with self.subTest(template=template):
                with self.assertRaises(labels.LabelError) as context:
                    labels.render(template, [{'code': 'X'}])
                self.assertEqual(context.exception.code, code)

