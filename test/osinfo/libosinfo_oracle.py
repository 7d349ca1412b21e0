#!/usr/bin/python3
"""Nova's own osinfo lookups, run on the real libosinfo: the reference for hwstash's index.

Reproduces nova.virt.osinfo (Zed): the db is loaded with process_default_path(), an os_distro
is looked up with a Filter on 'id' (names starting with 'http') or 'short-id', the first match
wins, and a device class list is read with get_nth() (Nova reads element 0). The answer is the
raw device names: Nova's mapping to VIF models and disk buses is left to the caller.

Usage: libosinfo_oracle.py < extra-names.json > answers.json
The caller pins the environment: OSINFO_SYSTEM_DIR (the db), OSINFO_LOCAL_DIR and
OSINFO_USER_DIR (empty), LC_ALL=C and no LANGUAGE (GLib reads LANGUAGE even under C, and
libosinfo then picks translated device names).

Output: {"oses": [{"id", "shortIds"}] in db list order,
         "lookups": {name: null | {"id", "net": [[id, name]...], "block": [[id, name]...]}}}
for every OS id, every short-id and each extra name.
"""
import json
import sys
import warnings

import gi

gi.require_version('Libosinfo', '1.0')
from gi.repository import Libosinfo  # noqa: E402

# OsList.new_filtered is deprecated in the bindings, and it is what Nova calls.
warnings.filterwarnings('ignore', category=DeprecationWarning)


def nova_get_os(oslist, os_name):
    """nova.virt.osinfo._OsInfoDatabase.get_os; None where Nova raises OsInfoNotFound."""
    if not os_name:
        return None
    fltr = Libosinfo.Filter.new()
    flt_field = 'id' if os_name.startswith('http') else 'short-id'
    fltr.add_constraint(flt_field, os_name)
    filtered = oslist.new_filtered(fltr)
    if not filtered.get_length():
        return None
    return filtered.get_nth(0)


def devices(os_obj, device_class):
    """os.get_all_devices(Filter(class=...)) in get_nth() order, as [id, name] pairs."""
    fltr = Libosinfo.Filter()
    fltr.add_constraint('class', device_class)
    devs = os_obj.get_all_devices(fltr)
    return [[devs.get_nth(i).get_id(), devs.get_nth(i).get_name()] for i in range(devs.get_length())]


def main():
    extra = json.load(sys.stdin)
    loader = Libosinfo.Loader()
    loader.process_default_path()
    oslist = loader.get_db().get_os_list()

    oses = []
    for i in range(oslist.get_length()):
        os_obj = oslist.get_nth(i)
        oses.append({'id': os_obj.get_id(), 'shortIds': list(os_obj.get_short_id_list())})

    names = [o['id'] for o in oses] + [s for o in oses for s in o['shortIds']] + extra
    lookups = {}
    for name in names:
        if name in lookups:
            continue
        os_obj = nova_get_os(oslist, name)
        lookups[name] = None if os_obj is None else {
            'id': os_obj.get_id(),
            'net': devices(os_obj, 'net'),
            'block': devices(os_obj, 'block'),
        }
    json.dump({'oses': oses, 'lookups': lookups}, sys.stdout)


if __name__ == '__main__':
    main()
