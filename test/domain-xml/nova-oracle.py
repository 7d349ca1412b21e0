#!/usr/bin/python3
"""Oracle for the domain-XML tests: asks Nova Zed's own code (Debian python3-nova) how it names
disks and how it formats the devices hwstash builds. Reads a JSON list of requests on stdin and
writes a JSON list of answers on stdout."""
import json
import sys

from nova import block_device
from nova.virt.libvirt import config as vc


def device(req):
    kind = req['kind']
    if kind == 'disk':
        d = vc.LibvirtConfigGuestDisk()
        d.source_device = req['deviceType']
        d.target_dev = req['dev']
        d.target_bus = req['bus']
        if req.get('path'):
            d.source_type = 'file'
            d.source_path = req['path']
        elif req.get('block'):
            d.source_type = 'block'
            d.source_path = req['block']
        else:
            d.source_type = 'file'
        if req.get('format'):
            d.driver_name = 'qemu'
            d.driver_format = req['format']
        if req.get('bootOrder'):
            d.boot_order = req['bootOrder']
        d.readonly = req['deviceType'] != 'disk'
        return d
    if kind == 'video':
        v = vc.LibvirtConfigGuestVideo()
        # driver.py: video.type = self._get_video_type(image_meta) or video.type
        v.type = req['type'] or v.type
        return v
    if kind == 'input':
        i = vc.LibvirtConfigGuestInput()
        i.type = req['type']
        i.bus = req['bus']
        return i
    if kind == 'rng':
        r = vc.LibvirtConfigGuestRng()
        r.backend = req['backend']
        return r
    if kind == 'scsi':
        c = vc.LibvirtConfigGuestController()
        c.type = 'scsi'
        c.model = req['model']
        c.index = 0
        return c
    if kind == 'usb':
        u = vc.LibvirtConfigGuestUSBHostController()
        u.index = 0
        u.model = req['model']
        return u
    if kind == 'balloon':
        b = vc.LibvirtConfigMemoryBalloon()
        b.model = 'virtio'
        b.period = 10
        return b
    if kind == 'nic':
        n = vc.LibvirtConfigGuestInterface()
        n.net_type = 'bridge'
        n.source_dev = 'br0'
        n.mac_addr = req['mac']
        n.model = req['model']
        return n
    raise ValueError(kind)


def answer(req):
    if req['kind'] == 'deviceName':
        return block_device.generate_device_name(req['prefix'], req['index'])
    if req['kind'] == 'devicePrefix':
        from nova.virt.libvirt import blockinfo
        return blockinfo.get_dev_prefix_for_disk_bus(req['bus'])
    return device(req).to_xml()


def main():
    requests = json.load(sys.stdin)
    json.dump([answer(r) for r in requests], sys.stdout)


if __name__ == '__main__':
    main()
