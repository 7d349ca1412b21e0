"""Nova's own code against a test database, so hwstash's tests compare with the real thing.

  nova_db.py sync URL          build the main (cell) schema with Nova's alembic migrations
  nova_db.py create URL        create instances (JSON list on stdin) with Nova's DB API
  nova_db.py destroy URL UUID... delete instances as Nova's API does at the end of a delete
                               (instance_destroy: the instance and its system_metadata soft-deleted)
  nova_db.py read URL UUID...  load instances with Nova's DB API and objects; print, per uuid,
                               the system_metadata Nova sees and instance.image_meta's properties

Runs with Debian's python3-nova: Zed on this machine, 2025.1 in the Debian 13 tree (nova-releases.ts). Output is one JSON document on stdout.
"""
import json
import sys
import warnings

warnings.filterwarnings('ignore')

import nova.conf  # noqa: E402

CONF = nova.conf.CONF
PROPERTIES = ['hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_floppy_bus', 'hw_rescue_bus', 'hw_input_bus',
              'hw_pointer_model', 'hw_rng_model', 'hw_scsi_model', 'hw_video_model', 'hw_vif_model']


def configure(url):
    CONF([], project='nova', default_config_files=[])
    CONF.set_override('connection', url, group='database')


def sync(url):
    configure(url)
    from nova.db import migration
    migration.db_sync(database='main')
    return {'version': migration.db_version(database='main')}


def create(url, specs):
    configure(url)
    from nova import context
    from nova.db.main import api as db
    ctx = context.get_admin_context()
    out = []
    for spec in specs:
        values = {
            'uuid': spec['uuid'],
            'host': spec.get('host'),
            'node': spec.get('host'),
            'vm_state': spec.get('vm_state', 'active'),
            'power_state': 1,
            'vm_mode': spec.get('vm_mode'),
            'display_name': spec.get('name', spec['uuid'][:8]),
            'image_ref': spec.get('image_ref', ''),
            'system_metadata': spec.get('system_metadata', {}),
        }
        inst = db.instance_create(ctx, values)
        for bdm in spec.get('block_devices', []):
            db.block_device_mapping_create(ctx, dict(bdm, instance_uuid=spec['uuid']), legacy=False)
        out.append(inst['uuid'])
    return {'created': out}


def read(url, uuids):
    configure(url)
    from nova import context
    from nova import objects
    from nova.db.main import api as db
    objects.register_all()
    ctx = context.get_admin_context()
    out = {}
    for uuid in uuids:
        db_inst = db.instance_get_by_uuid(ctx, uuid, columns_to_join=['system_metadata'])
        inst = objects.Instance._from_db_object(ctx, objects.Instance(), db_inst, expected_attrs=['system_metadata'])
        entry = {'system_metadata': dict(inst.system_metadata)}
        try:
            props = inst.image_meta.properties
            entry['properties'] = {p: props.get(p) for p in PROPERTIES}
        except Exception as exc:  # report, the test decides
            entry['error'] = '%s: %s' % (type(exc).__name__, exc)
        out[uuid] = entry
    return out


def destroy(url, uuids):
    configure(url)
    from nova import context
    from nova.db.main import api as db
    ctx = context.get_admin_context()
    for uuid in uuids:
        db.instance_destroy(ctx, uuid)
    return {'destroyed': uuids}


def main(argv):
    cmd, url = argv[1], argv[2]
    if cmd == 'sync':
        result = sync(url)
    elif cmd == 'create':
        result = create(url, json.load(sys.stdin))
    elif cmd == 'destroy':
        result = destroy(url, argv[3:])
    elif cmd == 'read':
        result = read(url, argv[3:])
    else:
        raise SystemExit('unknown command %s' % cmd)
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main(sys.argv)
