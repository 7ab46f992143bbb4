"""Merge the modules' current strings into their locale/zh_CN.po files and
list what still needs a translation.  Usage: .venv/bin/python scripts/i18n.py
"""
import os
import sys

os.environ.setdefault('DB_CACHE', os.path.join(
        os.path.dirname(__file__), '..', '.cache', 'db-sqlite'))
from trytond.tests.test_tryton import DB_NAME, activate_module  # noqa: E402
from trytond.transaction import Transaction  # noqa: E402

MODULES = ['inventory_flow', 'inventory_qc', 'inventory_wave',
    'inventory_alerts']
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')


def main():
    """Merge, then fill empty entries from the translation memory
    scripts/zh_CN*.json (source string -> Chinese)."""
    import json
    import polib
    import glob
    memory = {}
    # scripts/zh_CN.json plus one scripts/zh_CN.<domain>.json per domain
    for path in sorted(glob.glob(os.path.join(ROOT, 'scripts', 'zh_CN*.json'))):
        with open(path, encoding='utf-8') as fp:
            memory.update(json.load(fp))
    activate_module(MODULES)
    from trytond.modules.inventory_flow.i18n import merge
    missing = 0
    with Transaction().start(DB_NAME, 0, readonly=True):
        for module in MODULES:
            path = os.path.join(ROOT, 'addons', module, 'locale', 'zh_CN.po')
            merge(module, path)
            catalog = polib.pofile(path)
            for entry in catalog:
                if not entry.msgstr and entry.msgid in memory:
                    entry.msgstr = memory[entry.msgid]
            catalog.save(path)
            untranslated = [e for e in catalog if e.msgid and not e.msgstr]
            missing += len(untranslated)
            for entry in untranslated:
                print(f"{module}: {entry.msgctxt}: {entry.msgid}")
    print(f"{missing} strings to translate", file=sys.stderr)


if __name__ == '__main__':
    main()
