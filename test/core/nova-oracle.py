#!/usr/bin/python3
"""What real Nova (Zed, python3-nova 26.2.2) answers for each of hwstash's 11 properties.

Reads `hwstash defaults --batch` input lines (JSON Lines) on stdin and writes one line per input:
    {"id": ..., "properties": {name: value-or-null}, "errors": {key: code}}
`properties` holds only the properties that resolved; `errors` is keyed by property, or by the
first bad input key when Nova rejects the image properties (then `properties` is empty).

Every answer comes from Nova's own functions, called with Nova's own objects and options; this
file only wires inputs into them. Run it with Debian's /usr/bin/python3 under LC_ALL=C (libosinfo
picks localised device names otherwise, see RULES.md §8).

Deliberate departures, each named where it happens:
* Every property is computed on its own, with its own try/except (hwstash's RULES.md §9.3);
  Nova's stash gives up on all of them when the disk or cdrom bus fails.
* hw_rescue_bus follows LibvirtDriver.rescue() with the image as its own rescue image; a legacy
  rescue puts the rescue disk on the disk bus.
* hw_rng_model: Nova's stash never computes it; the value is the model of the RNG device that
  get_guest_config adds (kvm/qemu only) through Nova's own _add_rng_device, with a flavor
  without extra specs (RULES.md §7).
* Input the batch format itself refuses (an unknown virt_type, a host arch Nova cannot name, an
  option value oslo.config would refuse) is reported as `InvalidInput` on `host.*` / `conf.*`,
  checked with Nova's and oslo.config's own validators, before the image properties.
"""
import json
import linecache
import os
import sys
import warnings
from unittest import mock

warnings.simplefilter('ignore')
os.environ.setdefault('LC_ALL', 'C')

from oslo_config import types as cfg_types  # noqa: E402

import nova.conf  # noqa: E402
from nova import exception  # noqa: E402
from nova import objects  # noqa: E402
from nova.objects import fields  # noqa: E402
from nova.objects import image_meta as image_meta_mod  # noqa: E402
from nova.virt import hardware  # noqa: E402
from nova.virt.libvirt import blockinfo  # noqa: E402
from nova.virt.libvirt import config as vconfig  # noqa: E402
from nova.virt.libvirt import driver as libvirt_driver  # noqa: E402
from nova.virt.libvirt import utils as libvirt_utils  # noqa: E402
from nova.virt.libvirt import vif as libvirt_vif  # noqa: E402

CONF = nova.conf.CONF
objects.register_all()

# Nova logs a warning for every unknown os_distro and invalid hw_machine_type entry; the oracle's
# stdout must stay one JSON line per input.
import logging  # noqa: E402
logging.disable(logging.CRITICAL)

PROPERTIES = [
    'hw_machine_type', 'hw_cdrom_bus', 'hw_disk_bus', 'hw_input_bus', 'hw_pointer_model',
    'hw_video_model', 'hw_vif_model', 'hw_floppy_bus', 'hw_rescue_bus', 'hw_scsi_model',
    'hw_rng_model',
]

# (batch conf key, oslo group or None for DEFAULT, option name, oslo type that parses a string)
CONF_OPTIONS = {
    'libvirt.hw_machine_type': ('libvirt', 'hw_machine_type', cfg_types.List()),
    'spice.enabled': ('spice', 'enabled', cfg_types.Boolean()),
    'spice.agent_enabled': ('spice', 'agent_enabled', cfg_types.Boolean()),
    'vnc.enabled': ('vnc', 'enabled', cfg_types.Boolean()),
    'pointer_model': (None, 'pointer_model', None),
    'libvirt.use_virtio_for_bridges': ('libvirt', 'use_virtio_for_bridges', cfg_types.Boolean()),
}
VIRT_TYPE_CHOICES = ('kvm', 'qemu', 'lxc', 'parallels')


class InvalidInput(Exception):
    def __init__(self, key):
        super().__init__(key)
        self.key = key


def first_bad_key(exc, image_props):
    """The input key Nova was processing when from_dict raised, read from Nova's own frames.

    ImageMetaProps.from_dict sets legacy names first (`_set_attr_from_legacy_names`, loop
    variable `legacy_key`, then the vmware_adaptertype lines), then current names in field order
    (`_set_attr_from_current_names`, loop variable `key`). The innermost of those frames at the
    time of the exception says which input key was being set.
    """
    tb = exc.__traceback__
    found = None
    while tb is not None:
        frame = tb.tb_frame
        name = frame.f_code.co_name
        if frame.f_code.co_filename == image_meta_mod.__file__:
            if name == '_set_attr_from_current_names':
                found = frame.f_locals.get('key')
            elif name == '_set_attr_from_legacy_names':
                line = linecache.getline(frame.f_code.co_filename, tb.tb_lineno)
                found = 'vmware_adaptertype' if 'vmware_adaptertype' in line else frame.f_locals.get('legacy_key')
        tb = tb.tb_next
    if found is None or found not in image_props:
        raise RuntimeError(f'cannot tell which key failed: {exc!r}') from exc
    return found


def apply_host_and_conf(line):
    """Reset Nova's options to their defaults, then apply the line's overrides."""
    for key, (group, opt, _) in CONF_OPTIONS.items():
        CONF.clear_override(opt, group=group)
    CONF.clear_override('virt_type', group='libvirt')

    host = line.get('host') or {}
    arch = BASE_ARCH
    for k, v in host.items():
        if k == 'arch':
            try:
                arch = fields.Architecture.canonicalize(v)
            except Exception:
                raise InvalidInput('host.arch')
        elif k == 'virt_type':
            if v not in VIRT_TYPE_CHOICES:
                raise InvalidInput('host.virt_type')
            CONF.set_override('virt_type', v, group='libvirt')
        else:
            raise InvalidInput(f'host.{k}')

    conf = line.get('conf') or {}
    for k, v in conf.items():
        if k not in CONF_OPTIONS:
            raise InvalidInput(f'conf.{k}')
        group, opt, parse = CONF_OPTIONS[k]
        if k == 'libvirt.hw_machine_type' and v is None:
            v = []
        elif isinstance(v, str) and parse is not None:
            v = parse(v)
        try:
            CONF.set_override(opt, v, group=group)
        except ValueError:
            raise InvalidInput(f'conf.{k}')
    return arch


def compute(line):
    out = {'id': line.get('id'), 'properties': {}, 'errors': {}}
    try:
        host_arch = apply_host_and_conf(line)
    except InvalidInput as e:
        out['errors'][e.key] = 'InvalidInput'
        return out

    vm_mode = (line.get('instance') or {}).get('vm_mode')
    if vm_mode is not None and not isinstance(vm_mode, str):
        # The batch format's own check, made before the image properties (Instance.vm_mode would
        # quietly str() it).
        out['errors']['instance.vm_mode'] = 'InvalidInput'
        return out

    image_props = line.get('image_properties') or {}
    try:
        image_meta = objects.ImageMeta.from_dict({'properties': dict(image_props)})
    except Exception as e:  # ValueError, and AttributeError for non-strings in case-folded enums
        out['errors'][first_bad_key(e, image_props)] = type(e).__name__
        return out

    instance = objects.Instance(uuid='00000000-0000-4000-8000-000000000000', vm_mode=vm_mode)
    vt = CONF.libvirt.virt_type
    drv = libvirt_driver.LibvirtDriver.__new__(libvirt_driver.LibvirtDriver)

    def bus(device_type):
        return lambda: blockinfo.get_disk_bus_for_device_type(instance, vt, image_meta, device_type)

    def guest():
        g = vconfig.LibvirtConfigGuest()
        # get_guest_config's own expression.
        g.os_type = fields.VMMode.get_from_instance(instance) or drv._get_guest_os_type()
        return g

    def input_bus():
        _, b = drv._get_pointer_bus_and_model(guest(), image_meta)
        return b

    def pointer_model():
        m, _ = drv._get_pointer_bus_and_model(guest(), image_meta)
        # _find_default_for_image_property's mapping.
        return 'usbtablet' if m == 'tablet' else m

    def rescue_bus():
        # LibvirtDriver.rescue(), then get_disk_info's rescue paths.
        if hardware.check_hw_rescue_props(image_meta):
            if vt == 'lxc':
                raise exception.InstanceNotRescuable(
                    instance_id=instance.uuid, reason="Stable device rescue is not supported by virt_type 'lxc'")
            device = blockinfo.get_rescue_device(image_meta)
            return blockinfo.get_rescue_bus(instance, vt, image_meta, device)
        return blockinfo.get_disk_bus_for_device_type(instance, vt, image_meta, 'disk')

    def scsi_model():
        c = drv._get_scsi_controller(image_meta)
        return c.model if c is not None else None

    def rng_model():
        g = vconfig.LibvirtConfigGuest()
        if vt in ('qemu', 'kvm'):  # get_guest_config's condition
            drv._add_rng_device(g, objects.Flavor(extra_specs={}), image_meta)
        rngs = [d for d in g.devices if isinstance(d, vconfig.LibvirtConfigGuestRng)]
        return rngs[0].device_model if rngs else None

    rules = {
        'hw_machine_type': lambda: libvirt_utils.get_machine_type(image_meta),
        'hw_cdrom_bus': bus('cdrom'),
        'hw_disk_bus': bus('disk'),
        'hw_floppy_bus': bus('floppy'),
        'hw_rescue_bus': rescue_bus,
        'hw_input_bus': input_bus,
        'hw_pointer_model': pointer_model,
        'hw_video_model': lambda: drv._get_video_type(image_meta),
        'hw_vif_model': lambda: libvirt_vif.LibvirtGenericVIFDriver().get_vif_model(image_meta),
        'hw_scsi_model': scsi_model,
        'hw_rng_model': rng_model,
    }
    with mock.patch.object(fields.Architecture, 'from_host', return_value=host_arch):
        for name in PROPERTIES:
            try:
                out['properties'][name] = rules[name]()
            except AttributeError as e:
                # hw_rescue_device=lun asks for the non-existent field hw_lun_bus (RULES.md §3.4);
                # hwstash reports it as an unsupported rescue device (§9.6).
                if name != 'hw_rescue_bus' or 'hw_lun_bus' not in str(e):
                    raise
                out['errors'][name] = 'UnsupportedRescueDevice'
            except exception.NovaException as e:
                out['errors'][name] = type(e).__name__
    return out


BASE_ARCH = 'x86_64'


def main():
    global BASE_ARCH
    args = sys.argv[1:]
    if len(args) == 2 and args[0] == '--host-arch':
        BASE_ARCH = fields.Architecture.canonicalize(args[1])
    elif args:
        sys.exit('usage: nova-oracle.py [--host-arch ARCH] < batch.jsonl')
    for raw in sys.stdin:
        if not raw.strip():
            continue
        sys.stdout.write(json.dumps(compute(json.loads(raw))) + '\n')
    sys.stdout.flush()


if __name__ == '__main__':
    main()
