"""Nova's own code against a test database, so hwstash's tests compare with the real thing.

  nova_db.py sync URL          build the main (cell) schema with Nova's alembic migrations
  nova_db.py create URL        create instances (JSON list on stdin) with Nova's DB API
  nova_db.py destroy URL UUID... delete instances as Nova's API does at the end of a delete
                               (instance_destroy: the instance and its system_metadata soft-deleted)
  nova_db.py reqspec-create API_URL UUID   create the instance's RequestSpec with Nova's objects
                               (image properties as JSON on stdin) in the API database
  nova_db.py reqspec-read API_URL UUID     RequestSpec.get_by_instance_uuid: its image properties
  nova_db.py read URL UUID...  load instances with Nova's DB API and objects; print, per uuid,
                               the system_metadata Nova sees and instance.image_meta's properties
  nova_db.py hold URL OP ARG...  one of Nova's own operations, paused where another writer can
                               act: prints {"phase": ...} lines and waits for a line on stdin at each
                               pause; its JSON result is the last line. OP:
                                 shelve UUID    the API loads the instance and saves task_state
                                                shelving; the compute service saves its shelved_*
                                                system_metadata with the object the API loaded
                                                (pauses: loaded, task-set)
                                 register HOST  nova-compute's init_host: InstanceList.get_by_host,
                                                then the libvirt driver's registration of the
                                                seven image property defaults (pause: loaded)

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
            'project_id': spec.get('project_id', 'project-1'),
            'user_id': spec.get('user_id', 'user-1'),
            'system_metadata': spec.get('system_metadata', {}),
        }
        inst = db.instance_create(ctx, values)
        # A flavor, as Nova stores it in instance_extra: init_host loads instances with it.
        from oslo_serialization import jsonutils
        from nova import objects
        objects.register_all()
        flavor = objects.Flavor(id=1, flavorid='1', name='m1', memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0, swap=0,
                                extra_specs={}, rxtx_factor=1.0, vcpu_weight=0, disabled=False, is_public=True,
                                description=None)
        db.instance_extra_update_by_uuid(ctx, spec['uuid'], {
            'flavor': jsonutils.dumps({'cur': flavor.obj_to_primitive(), 'old': None, 'new': None})})
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


def configure_api(url):
    CONF([], project='nova', default_config_files=[])
    CONF.set_override('connection', url, group='api_database')
    # Nova's object layer wants a cell connection configured even for API-only objects.
    CONF.set_override('connection', url, group='database')


def reqspec_create(url, uuid, properties):
    configure_api(url)
    from nova import context
    from nova import objects
    objects.register_all()
    ctx = context.get_admin_context()
    image = objects.ImageMeta.from_dict({'name': 'image', 'properties': properties})
    flavor = objects.Flavor(id=1, flavorid='1', name='m1', memory_mb=512, vcpus=1, root_gb=1, ephemeral_gb=0, swap=0, extra_specs={})
    spec = objects.RequestSpec(context=ctx, instance_uuid=uuid, image=image, flavor=flavor, num_instances=1, project_id='p', user_id='u')
    spec.create()
    return {'created': uuid}


def reqspec_read(url, uuid):
    configure_api(url)
    from nova import context
    from nova import objects
    objects.register_all()
    ctx = context.get_admin_context()
    spec = objects.RequestSpec.get_by_instance_uuid(ctx, uuid)
    props = spec.image.properties
    return {
        'properties': {k: props.get(k) for k in props.fields if props.obj_attr_is_set(k)},
        'flavor': spec.flavor.name,
        'num_instances': spec.num_instances,
        'image_name': spec.image.name if spec.image.obj_attr_is_set('name') else None,
    }


def pause(phase):
    print(json.dumps({'phase': phase}), flush=True)
    sys.stdin.readline()


def hold_shelve(url, uuid):
    configure(url)
    from nova import context
    from nova import objects
    from nova.compute import task_states, vm_states
    from oslo_utils import timeutils
    objects.register_all()
    ctx = context.get_admin_context()
    # nova/compute/api.py API.shelve: the instance of the request, loaded at its start.
    instance = objects.Instance.get_by_uuid(ctx, uuid, expected_attrs=['system_metadata', 'flavor'])
    pause('loaded')
    instance.task_state = task_states.SHELVING
    instance.system_metadata.setdefault('image_base_image_ref', instance.image_ref)
    instance.save(expected_task_state=[None])
    pause('task-set')
    # nova/compute/manager.py ComputeManager._shelve_instance, with the object the API sent.
    instance.system_metadata['shelved_at'] = timeutils.utcnow().isoformat()
    instance.system_metadata['shelved_image_id'] = 'image-of-' + uuid[:8]
    instance.system_metadata['shelved_host'] = instance.host
    instance.vm_state = vm_states.SHELVED
    instance.task_state = None
    instance.save(expected_task_state=[task_states.SHELVING, task_states.SHELVING_IMAGE_UPLOADING])
    return {'saved': uuid}


class _Guest(object):
    # Stands in for libvirt only: the guest config Nova would read back from the domain.
    def get_config(self):
        from nova.virt.libvirt import config as vconfig
        cfg = vconfig.LibvirtConfigGuest()
        cfg.os_type = 'hvm'
        return cfg


class _Host(object):
    def get_guest(self, instance):
        return _Guest()


def hold_register(url, host):
    configure(url)
    from nova import context
    from nova import objects
    from nova.virt.libvirt import driver as libvirt_driver
    objects.register_all()
    ctx = context.get_admin_context()
    # LibvirtDriver._register_all_undefined_instance_details, its libvirt connection stood in for.
    instances = objects.InstanceList.get_by_host(ctx, host, expected_attrs=['flavor', 'system_metadata'])
    pause('loaded')
    drv = libvirt_driver.LibvirtDriver.__new__(libvirt_driver.LibvirtDriver)
    drv._host = _Host()
    for instance in instances:
        libvirt_driver.LibvirtDriver._register_undefined_instance_details(drv, ctx, instance)
    return {'registered': [i.uuid for i in instances]}


def main(argv):
    cmd, url = argv[1], argv[2]
    if cmd == 'sync':
        result = sync(url)
    elif cmd == 'create':
        result = create(url, json.load(sys.stdin))
    elif cmd == 'reqspec-create':
        result = reqspec_create(url, argv[3], json.load(sys.stdin))
    elif cmd == 'reqspec-read':
        result = reqspec_read(url, argv[3])
    elif cmd == 'destroy':
        result = destroy(url, argv[3:])
    elif cmd == 'read':
        result = read(url, argv[3:])
    elif cmd == 'hold' and argv[3] == 'shelve':
        result = hold_shelve(url, argv[4])
    elif cmd == 'hold' and argv[3] == 'register':
        result = hold_register(url, argv[4])
    else:
        raise SystemExit('unknown command %s' % cmd)
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main(sys.argv)
