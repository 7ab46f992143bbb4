"""Keep every module's ``locale/zh_CN.po`` complete.

``source_catalog(module)`` exports the module's translatable strings (field
labels, help texts, selections, views, menus, messages) from an activated
database; ``missing_translations`` lists those without a Chinese entry.  The
module tests call it so that an untranslated string fails the build, and
``scripts/i18n.py`` merges new strings into the po files for translators.
"""
import polib

from trytond.pool import Pool


def source_catalog(module):
    "Return a polib.POFile of the module's source (English) strings"
    Translation = Pool().get('ir.translation')
    return polib.pofile(
        Translation.translation_export('en', module).decode('utf-8'))


def _key(entry):
    return (entry.msgctxt, entry.msgid)


def missing_translations(module, po_path):
    "Return the (context, source) pairs of the module lacking a translation"
    translated = {
        _key(e) for e in polib.pofile(po_path) if e.msgstr and not e.obsolete
        and 'fuzzy' not in e.flags}
    return sorted(
        _key(e) for e in source_catalog(module)
        if e.msgid and _key(e) not in translated)


def merge(module, po_path):
    "Rewrite po_path with the module's current strings, keeping translations"
    try:
        existing = {_key(e): e.msgstr for e in polib.pofile(po_path)}
    except (OSError, IOError):
        existing = {}
    catalog = source_catalog(module)
    catalog.metadata = {'Content-Type': 'text/plain; charset=utf-8'}
    for entry in catalog:
        entry.msgstr = existing.get(_key(entry), '')
    catalog.save(po_path)
    return [e for e in catalog if e.msgid and not e.msgstr]
