"""Webhook signing and delivery, carrier adapters (C5, D2)."""
import datetime as dt
import doctest
import json
import unittest

from hypothesis import given
from hypothesis import strategies as st

from trytond.modules.company.tests import create_company, set_company
from trytond.modules.inventory_flow.tests.tools import SuiteDatabaseMixin
from trytond.modules.inventory_wave import carrier_adapter, webhook
from trytond.modules.inventory_wave.tests.receiver import WebhookReceiver
from trytond.pool import Pool
from trytond.tests.test_tryton import _DBTestCase, with_transaction

#: Standard Webhooks' published example (standardwebhooks.com)
SPEC_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
SPEC_ID = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='


class WebhookSigningTestCase(unittest.TestCase):
    "Standard Webhooks signatures, URLs and back-off (pure)"

    def test_spec_example(self):
        self.assertEqual(
            webhook.sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE)

    def test_verify_round_trip_and_tampering(self):
        secret = webhook.generate_secret()
        body = b'{"type":"order.shipped"}'
        headers = webhook.headers(secret, 'msg_1', 1_000_000, body)
        self.assertEqual(
            webhook.verify(secret, headers, body, now=1_000_010), 'msg_1')
        for name, bad in [
                ('body', (secret, headers, body + b' ', 1_000_010)),
                ('secret', (webhook.generate_secret(), headers, body,
                        1_000_010)),
                ('late', (secret, headers, body, 1_000_000 + 301)),
                ('id', (secret, {**headers, 'webhook-id': 'msg_2'}, body,
                        1_000_010)),
                ]:
            with self.subTest(name), self.assertRaises(webhook.WebhookError):
                webhook.verify(bad[0], bad[1], bad[2], now=bad[3])
        # several signatures (key rotation): one match is enough
        rotated = {**headers, 'webhook-signature':
            'v1,AAAA ' + headers['webhook-signature']}
        self.assertEqual(
            webhook.verify(secret, rotated, body, now=1_000_000), 'msg_1')

    def test_bad_secrets(self):
        for secret in [None, '', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
                'whsec_not base64!', 'whsec_' + 'QUJD']:
            with self.subTest(secret=secret), \
                    self.assertRaises(webhook.WebhookError):
                webhook.secret_key(secret)

    def test_urls(self):
        for url in ['http://127.0.0.1:8080/hook',
                'https://shop.example.com/hooks?x=1']:
            webhook.check_url(url)
        for url in ['ftp://shop.example.com/', 'shop.example.com/hook',
                'https://', 'https://user:pw@shop.example.com/',
                'https://shop.example.com/a b', 'javascript:alert(1)',
                'https://shop.example.com:99999/', 'x' * 3000]:
            with self.subTest(url=url), \
                    self.assertRaises(webhook.WebhookError):
                webhook.check_url(url)

    @given(st.text(max_size=80))
    def test_any_text_is_accepted_only_as_http_url(self, text):
        try:
            webhook.check_url(text)
        except webhook.WebhookError:
            return
        self.assertRegex(text, r'^https?://[^\s]+$')

    def test_back_off(self):
        delays = [webhook.next_delay(n)
            for n in range(1, webhook.MAX_ATTEMPTS)]
        self.assertEqual(delays, sorted(delays))
        self.assertEqual(delays[0], 5)
        self.assertIsNone(webhook.next_delay(webhook.MAX_ATTEMPTS))
        # about a day and a half of attempts before giving up
        self.assertGreater(sum(delays), 24 * 3600)


class CarrierAdapterTestCase(unittest.TestCase):
    "The adapters behind one interface (pure)"

    parcel = carrier_adapter.Parcel('OUT/1', 'Li Wei', 'CN', 2.5, 1)

    def test_registry(self):
        codes = [c for c, _ in carrier_adapter.choices()]
        self.assertEqual(codes[0], 'manual')
        self.assertIn('test', codes)
        self.assertRaises(KeyError, carrier_adapter.get, 'nope')

    def test_manual_needs_a_valid_number(self):
        adapter = carrier_adapter.get('manual')
        self.assertTrue(adapter.needs_tracking)
        self.assertEqual(adapter.book(self.parcel, ' 1z999aa10123456784 '),
            '1Z999AA10123456784')
        for value, code in [(None, 'tracking_missing'),
                ('  ', 'tracking_missing'), ('AB', 'tracking_invalid'),
                ('SF 123 456', 'tracking_invalid'),
                ('-SF123', 'tracking_invalid'), ('X' * 41, 'tracking_invalid'),
                ('SF12\n34', 'tracking_invalid')]:
            with self.subTest(value=value):
                with self.assertRaises(carrier_adapter.AdapterError) as cm:
                    adapter.book(self.parcel, value)
                self.assertEqual(cm.exception.code, code)

    def test_test_carrier_books_a_stable_number(self):
        adapter = carrier_adapter.get('test')
        self.assertFalse(adapter.needs_tracking)
        number = adapter.book(self.parcel)
        self.assertRegex(number, r'^TEST[0-9]{12}$')
        self.assertEqual(adapter.book(self.parcel), number)
        self.assertNotEqual(adapter.book(
                carrier_adapter.Parcel('OUT/2', 'Li Wei', 'CN', 1, 1)),
            number)
        with self.assertRaises(carrier_adapter.AdapterError) as cm:
            adapter.book(carrier_adapter.Parcel('OUT/3', '', 'CN', 1, 1))
        self.assertEqual(cm.exception.code, 'carrier_refused')

    @given(st.text(max_size=50))
    def test_tracking_normalised_or_refused(self, text):
        try:
            number = carrier_adapter.normalise_tracking(text)
        except carrier_adapter.AdapterError:
            return
        self.assertRegex(number, r'^[A-Z0-9][A-Z0-9-]{2,38}[A-Z0-9]$')


class WebhookDeliveryTestCase(SuiteDatabaseMixin, _DBTestCase):
    "Webhook events delivered at least once with back-off"
    module = 'inventory_wave'

    def _event(self, url):
        pool = Pool()
        Channel = pool.get('inventory.channel')
        Location = pool.get('stock.location')
        Event = pool.get('inventory.webhook.event')
        company = create_company()
        with set_company(company):
            warehouse, = Location.search([('type', '=', 'warehouse')])
            channel, = Channel.create([{
                        'code': 'SHOP', 'name': "Shop", 'company': company.id,
                        'warehouse': warehouse.id, 'webhook_url': url}])
            event, = Event.create([{
                        'channel': channel.id, 'event_id': 'msg_test_1',
                        'event_type': 'order.shipped',
                        'payload': json.dumps({'type': 'order.shipped'}),
                        'next_attempt': dt.datetime(2026, 1, 1, 12)}])
        return channel, event

    @with_transaction()
    def test_retries_with_back_off_then_delivered(self):
        Event = Pool().get('inventory.webhook.event')
        with WebhookReceiver(fail_first=2) as receiver:
            channel, event = self._event(receiver.url)
            start = dt.datetime(2026, 1, 1, 12)
            self.assertEqual(Event.deliver_due(now=start), [event])
            self.assertEqual((event.state, event.attempts, event.last_status),
                ('pending', 1, 500))
            self.assertEqual(event.next_attempt,
                start + dt.timedelta(seconds=5))
            # not due yet: nothing sent
            self.assertEqual(Event.deliver_due(
                    now=start + dt.timedelta(seconds=4)), [])
            Event.deliver_due(now=start + dt.timedelta(seconds=5))
            self.assertEqual((event.state, event.attempts), ('pending', 2))
            self.assertEqual(event.next_attempt, start + dt.timedelta(
                    seconds=5 + 300))
            Event.deliver_due(now=start + dt.timedelta(seconds=305))
            self.assertEqual((event.state, event.attempts, event.last_status),
                ('delivered', 3, 200))
            self.assertEqual(Event.deliver_due(
                    now=start + dt.timedelta(days=3)), [])
        self.assertEqual([r[0] for r in receiver.received], [500, 500, 200])
        # every attempt: the same id and body, a valid signature
        for status, headers, body in receiver.received:
            self.assertEqual(webhook.verify(channel.webhook_secret, headers,
                    body), 'msg_test_1')
            self.assertEqual(json.loads(body), {'type': 'order.shipped'})

    @with_transaction()
    def test_given_up_then_retried(self):
        Event = Pool().get('inventory.webhook.event')
        # a port where nothing listens: no HTTP answer at all
        with WebhookReceiver() as closed:
            url = closed.url
        channel, event = self._event(url)
        now = dt.datetime(2026, 1, 1, 12)
        for attempt in range(webhook.MAX_ATTEMPTS):
            Event.deliver_due(now=now)
            now = event.next_attempt or now
        self.assertEqual((event.state, event.attempts, event.last_status),
            ('failed', webhook.MAX_ATTEMPTS, 0))
        self.assertTrue(event.last_error)
        Event.retry([event])
        self.assertEqual((event.state, event.attempts), ('pending', 0))

    @with_transaction()
    def test_webhook_url_must_be_http(self):
        from trytond.exceptions import UserError
        channel, _ = self._event('http://127.0.0.1:1/x')
        for url in ['ftp://shop.example.com/x', 'not a url', 'mailto:a@b.c']:
            with self.subTest(url=url):
                with self.assertRaises(UserError) as cm:
                    channel.webhook_url = url
                    channel.save()
                self.assertIn(url, cm.exception.message)
                channel.webhook_url = 'http://127.0.0.1:1/x'


def load_tests(loader, tests, pattern):
    for module in (webhook, carrier_adapter):
        tests.addTests(doctest.DocTestSuite(module,
                optionflags=doctest.ELLIPSIS
                | doctest.IGNORE_EXCEPTION_DETAIL))
    return tests


del _DBTestCase
