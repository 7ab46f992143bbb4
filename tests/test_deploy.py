"""Deployment files parse and say what docs/deploy.md promises."""
import configparser
import os
import unittest

import yaml

# Pure code: run once, not again on each database backend (tests/run.py)
BACKEND_INDEPENDENT = True


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DeployFilesTestCase(unittest.TestCase):

    def test_docker_compose_names_every_service(self):
        with open(os.path.join(ROOT, 'docker-compose.yml')) as fp:
            compose = yaml.safe_load(fp)
        services = compose['services']
        self.assertEqual(
            set(services), {'postgres', 'trytond', 'worker', 'cron'})
        self.assertTrue(services['postgres']['image'].startswith('postgres:'))
        trytond = services['trytond']
        self.assertIn('postgres', trytond['depends_on'])
        environment = trytond['environment']
        self.assertTrue(
            environment['TRYTOND_DATABASE__URI'].startswith('postgresql://'))
        command = '\n'.join(trytond['command'])
        for module in ['inventory_flow', 'inventory_qc', 'inventory_wave',
                'inventory_alerts']:
            self.assertIn(module, command)
        self.assertIn('tryton-sao@8.0', command)
        # trytond reads the environment before a -c file, which would
        # override TRYTOND_DATABASE__URI: the services take no config file
        for name in ['trytond', 'worker', 'cron']:
            self.assertNotIn(' -c ', '\n'.join(services[name]['command']))
            self.assertEqual(
                services[name]['environment']['TRYTOND_DATABASE__URI'],
                environment['TRYTOND_DATABASE__URI'])
        # The queue is on, so a worker must run it; cron runs the schedule
        self.assertEqual(environment['TRYTOND_QUEUE__WORKER'], 'True')
        self.assertIn('trytond-worker', '\n'.join(services['worker']['command']))
        self.assertIn('trytond-cron', '\n'.join(services['cron']['command']))

    def test_server_configs_parse(self):
        for name, uri in [
                ('trytond.conf', 'sqlite://'),
                ('postgresql.conf', 'postgresql://')]:
            parser = configparser.ConfigParser()
            with open(os.path.join(ROOT, 'config', name)) as fp:
                parser.read_file(fp)
            self.assertTrue(
                parser.get('database', 'uri').startswith(uri), name)

    def test_pyproject_pins_tryton_8_0(self):
        import tomllib
        with open(os.path.join(ROOT, 'pyproject.toml'), 'rb') as fp:
            project = tomllib.load(fp)['project']
        tryton = [d for d in project['dependencies']
            if d.startswith(('trytond', 'proteus'))]
        self.assertTrue(tryton)
        for dependency in tryton:
            self.assertIn('>=8.0,<8.1', dependency, dependency)
        self.assertEqual(
            set(project['entry-points']['trytond.modules']),
            {'inventory_flow', 'inventory_qc', 'inventory_wave',
                'inventory_alerts'})
