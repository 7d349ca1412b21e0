/**
 * The device models: SCSI controller, video, NICs, tablet (and keyboard) bus, RNG, and the USB
 * controller those may need.
 */
import { INPUT_BUSES } from '../properties.js';
import { describeDevice, devicesNamed } from './domain.js';
import { devicesElement, dropAddress, record, type RewriteContext } from './rewrite-context.js';
import {
  attr,
  attrNames,
  childNodes,
  children,
  element,
  firstChild,
  insertChild,
  removeAttr,
  removeChild,
  setAttr,
  tagOf,
  type XmlNode,
} from './xml-tree.js';

/** The next device after the last one named `tag`, to insert beside them; undefined = at the end. */
function afterLast(ctx: RewriteContext, tag: string): XmlNode | undefined {
  const all = devicesNamed(ctx.domain);
  let at = -1;
  all.forEach((d, i) => {
    if (tagOf(d) === tag) at = i;
  });
  return at >= 0 ? all[at + 1] : undefined;
}

function firstOf(ctx: RewriteContext, tags: readonly string[]): XmlNode | undefined {
  return devicesNamed(ctx.domain).find((d) => tags.includes(tagOf(d)));
}

/** The label of a device just added, numbered among the devices of its kind as they now stand. */
function addedLabel(ctx: RewriteContext, added: XmlNode): string {
  return describeDevice(added, devicesNamed(ctx.domain, tagOf(added)).indexOf(added));
}

// ---------------------------------------------------------------------------------------------

/**
 * hw_scsi_model: every SCSI controller gets the model; with none present, Nova's
 * `<controller type='scsi' index='0' model=…>` is added beside the disks. null leaves libvirt's
 * choice alone, and an unused controller is kept (it is in nobody's way).
 */
export function rewriteScsiController(ctx: RewriteContext): void {
  const want = ctx.stash.hw_scsi_model;
  if (want === undefined || want === null) return;
  const controllers = devicesNamed(ctx.domain, 'controller');
  const scsi = controllers.filter((c) => attr(c, 'type') === 'scsi');
  if (scsi.length === 0) {
    const added = element('controller', { type: 'scsi', index: '0', model: want });
    insertChild(devicesElement(ctx), added, afterLast(ctx, 'disk'));
    record(ctx, { property: 'hw_scsi_model', element: addedLabel(ctx, added), aspect: 'device', from: null, to: want });
    return;
  }
  for (const c of scsi) {
    const have = attr(c, 'model');
    if (have === want) continue;
    const label = describeDevice(c, controllers.indexOf(c));
    setAttr(c, 'model', want);
    record(ctx, { property: 'hw_scsi_model', element: label, aspect: 'model', from: have ?? null, to: want });
    dropAddress(ctx, c, 'hw_scsi_model', label);
    // Every <driver> tunable of a SCSI controller (queues, iothread, cmd_per_lun…) is virtio-scsi's.
    const driver = firstChild(c, 'driver');
    if (driver && want !== 'virtio-scsi') {
      removeChild(c, driver);
      record(ctx, { property: 'hw_scsi_model', element: label, aspect: 'driver', from: 'set', to: null });
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** `<model>` attributes that keep their meaning whatever the video type. */
const VIDEO_MODEL_KEEP = new Set(['type', 'primary']);

/**
 * hw_video_model on the primary (first) video device. A stashed null still gets a video device
 * of libvirt config's default type `virtio` (RULES.md §5), exactly as Nova builds it. No video
 * device is added where the domain has none (no graphics: Nova adds none either).
 */
export function rewriteVideo(ctx: RewriteContext): void {
  if (!('hw_video_model' in ctx.stash)) return;
  const want = ctx.stash.hw_video_model ?? 'virtio';
  const video = devicesNamed(ctx.domain, 'video')[0];
  if (!video) return;
  const label = describeDevice(video, 0);
  let model = firstChild(video, 'model');
  const have = model ? attr(model, 'type') : undefined;
  if (have === want) return;

  if (!model) {
    model = element('model', { type: want });
    insertChild(video, model, children(video)[0]);
  } else {
    setAttr(model, 'type', want);
    // vram, ram, vgamem, heads, acceleration… belong to the old type; libvirt fills in the
    // defaults of the new one.
    for (const name of attrNames(model)) if (!VIDEO_MODEL_KEEP.has(name)) removeAttr(model, name);
    childNodes(model).length = 0;
  }
  record(ctx, { property: 'hw_video_model', element: label, aspect: 'type', from: have ?? null, to: want });
  dropAddress(ctx, video, 'hw_video_model', label);
  const driver = firstChild(video, 'driver');
  if (driver) {
    removeChild(video, driver);
    record(ctx, { property: 'hw_video_model', element: label, aspect: 'driver', from: 'set', to: null });
  }
}

// ---------------------------------------------------------------------------------------------

/** Interfaces that have no emulated NIC model (passthrough). */
const NO_MODEL_INTERFACES = new Set(['hostdev', 'vdpa']);

/**
 * hw_vif_model on every interface. null (no model decided: lxc, or use_virtio_for_bridges off)
 * leaves the domain alone: removing a model would hand the guest QEMU's default NIC instead.
 */
export function rewriteInterfaces(ctx: RewriteContext): void {
  const want = ctx.stash.hw_vif_model;
  if (want === undefined || want === null) return;
  devicesNamed(ctx.domain, 'interface').forEach((nic, position) => {
    if (NO_MODEL_INTERFACES.has(attr(nic, 'type') ?? '')) return;
    const label = describeDevice(nic, position);
    const model = firstChild(nic, 'model');
    const have = model ? attr(model, 'type') : undefined;
    if (have === want) return;
    if (model) setAttr(model, 'type', want);
    else insertChild(nic, element('model', { type: want }), firstChild(nic, 'address'));
    record(ctx, { property: 'hw_vif_model', element: label, aspect: 'model', from: have ?? null, to: want });
    dropAddress(ctx, nic, 'hw_vif_model', label);
    // <driver> (vhost, queues, rx_queue_size…) only exists for virtio NICs.
    const driver = firstChild(nic, 'driver');
    if (driver && want !== 'virtio') {
      removeChild(nic, driver);
      record(ctx, { property: 'hw_vif_model', element: label, aspect: 'driver', from: 'set', to: null });
    }
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * hw_pointer_model and hw_input_bus: null pointer model removes the tablet; `usbtablet` adds one
 * where the domain has graphics but no tablet (Nova adds pointers only with a video device).
 * The input bus applies to tablets and to the keyboards Nova puts on that bus (not the
 * implicit PS/2 keyboard).
 */
export function rewritePointer(ctx: RewriteContext): void {
  const pointer = ctx.stash.hw_pointer_model;
  const bus = ctx.stash.hw_input_bus;
  const inputs = (): XmlNode[] => devicesNamed(ctx.domain, 'input');
  const tablets = inputs().filter((i) => attr(i, 'type') === 'tablet');

  if (pointer === null) {
    for (const t of tablets) {
      const label = describeDevice(t, inputs().indexOf(t));
      removeChild(devicesElement(ctx), t);
      record(ctx, { property: 'hw_pointer_model', element: label, aspect: 'device', from: `tablet ${attr(t, 'bus') ?? ''}`.trim(), to: null });
    }
  } else if (pointer === 'usbtablet' && tablets.length === 0 && devicesNamed(ctx.domain, 'graphics').length > 0) {
    const tabletBus = typeof bus === 'string' ? bus : 'usb';
    const added = element('input', { type: 'tablet', bus: tabletBus });
    insertChild(devicesElement(ctx), added, firstOf(ctx, ['input', 'graphics', 'video']));
    record(ctx, { property: 'hw_pointer_model', element: addedLabel(ctx, added), aspect: 'device', from: null, to: `tablet ${tabletBus}` });
    if (tabletBus === 'usb') ctx.usbNeededBy ??= 'hw_pointer_model';
  }

  if (typeof bus !== 'string') return;
  for (const [position, input] of inputs().entries()) {
    const type = attr(input, 'type');
    const have = attr(input, 'bus');
    const follows = type === 'tablet' || (type === 'keyboard' && (INPUT_BUSES as readonly string[]).includes(have ?? ''));
    if (!follows || have === bus) continue;
    const label = describeDevice(input, position);
    setAttr(input, 'bus', bus);
    record(ctx, { property: 'hw_input_bus', element: label, aspect: 'bus', from: have ?? null, to: bus });
    dropAddress(ctx, input, 'hw_input_bus', label);
    if (bus === 'usb') ctx.usbNeededBy ??= 'hw_input_bus';
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * hw_rng_model: `virtio` makes every RNG virtio and adds Nova's RNG (random backend) where there
 * is none; null means the guest has no RNG (lxc, parallels, or a flavor that forbids it).
 */
export function rewriteRng(ctx: RewriteContext): void {
  if (!('hw_rng_model' in ctx.stash)) return;
  const want = ctx.stash.hw_rng_model;
  const rngs = devicesNamed(ctx.domain, 'rng');
  if (want === null || want === undefined) {
    rngs.forEach((rng, i) => {
      removeChild(devicesElement(ctx), rng);
      record(ctx, { property: 'hw_rng_model', element: describeDevice(rng, i), aspect: 'device', from: attr(rng, 'model') ?? null, to: null });
    });
    return;
  }
  if (rngs.length === 0) {
    const added = element('rng', { model: want }, [element('backend', { model: 'random' }, ctx.rngBackendPath)]);
    insertChild(devicesElement(ctx), added, firstOf(ctx, ['memballoon']));
    record(ctx, { property: 'hw_rng_model', element: addedLabel(ctx, added), aspect: 'device', from: null, to: want });
    return;
  }
  rngs.forEach((rng, i) => {
    const have = attr(rng, 'model');
    if (have === want) return;
    const label = describeDevice(rng, i);
    setAttr(rng, 'model', want);
    record(ctx, { property: 'hw_rng_model', element: label, aspect: 'model', from: have ?? null, to: want });
    dropAddress(ctx, rng, 'hw_rng_model', label);
  });
}

// ---------------------------------------------------------------------------------------------

/**
 * Nova disables USB (`<controller type='usb' model='none'>`) on guests without USB devices. When
 * a step put a device on USB, that controller goes, so libvirt adds the machine's default one.
 */
export function enableUsbIfNeeded(ctx: RewriteContext): void {
  if (ctx.usbNeededBy === null) return;
  const devices = firstChild(ctx.domain, 'devices');
  if (!devices) return;
  devicesNamed(ctx.domain, 'controller').forEach((c, position) => {
    if (attr(c, 'type') !== 'usb' || attr(c, 'model') !== 'none') return;
    removeChild(devices, c);
    record(ctx, { property: ctx.usbNeededBy!, element: describeDevice(c, position), aspect: 'device', from: 'usb none', to: null });
  });
}
