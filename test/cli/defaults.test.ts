/**
 * `hwstash defaults` end to end: one image on the command line (table and JSON), a JSON Lines
 * batch from a file and from stdin, and bad input. Expected values are RULES.md's, for a kvm
 * x86_64 host on Nova's defaults and the real osinfo-db.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main.js';
import { ensureBuilt, REPO } from '../agent/helpers/cli.js';
import { Sink } from './helpers.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hwstash-defaults-'));
const conf = path.join(dir, 'hwstash.conf');
fs.writeFileSync(conf, ['[DEFAULT]', 'host = compute-9', '[libvirt]', 'virt_type = kvm', '[hwstash]', 'host_arch = x86_64', `state_dir = ${dir}`, ''].join('\n'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(args: string[], stdin = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const input = new PassThrough();
  input.end(stdin);
  const code = await runCli(['--config-file', conf, 'defaults', ...args], { stdout, stderr, stdin: input, env: {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const pairs = (props: Record<string, { value: string | null; source: string }>) =>
  Object.fromEntries(Object.entries(props).map(([k, v]) => [k, [v.value, v.source]]));

describe('single image', () => {
  test('win10 on q35: libosinfo NIC, sata cdrom, the image machine type', async () => {
    const r = await run(['--property', 'os_distro=win10', '--property', 'hw_machine_type=q35', '--format', 'json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.errors).toEqual({});
    expect(pairs(out.properties)).toEqual({
      hw_machine_type: ['q35', 'image'],
      hw_cdrom_bus: ['sata', 'driver'],
      hw_disk_bus: ['virtio', 'driver'],
      hw_input_bus: ['usb', 'config'],
      hw_pointer_model: ['usbtablet', 'config'],
      hw_video_model: ['virtio', 'driver'],
      hw_vif_model: ['e1000', 'osinfo'],
      hw_floppy_bus: ['fdc', 'driver'],
      hw_rescue_bus: ['virtio', 'driver'],
      hw_scsi_model: [null, 'driver'],
      hw_rng_model: ['virtio', 'driver'],
    });
  });

  test('--virt-type, --host-arch and --conf override the configured host', async () => {
    const r = await run(['--virt-type', 'qemu', '--host-arch', 'aarch64', '--conf', 'spice.enabled=true', '--conf', 'vnc.enabled=false', '--format', 'json']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.stdout).properties;
    expect(p.hw_machine_type).toEqual({ value: 'virt', source: 'driver' });
    expect(p.hw_cdrom_bus).toEqual({ value: 'scsi', source: 'driver' });
    expect(p.hw_video_model).toEqual({ value: 'virtio', source: 'driver' });
    // SPICE with its agent and no VNC: no tablet.
    expect(p.hw_pointer_model).toEqual({ value: null, source: 'driver' });
  });

  test('a table on a terminal names every property and source', async () => {
    const stdout = new Sink(true);
    const code = await runCli(['--config-file', conf, 'defaults', '--property', 'hw_vif_model=VirtualE1000'], { stdout, stderr: new Sink(), stdin: new PassThrough(), env: {} });
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/hw_vif_model\s*│\s*e1000\s*│\s*image/);
    expect(stdout.text.split('\n').filter((l) => /│ hw_/.test(l))).toHaveLength(11);
  });

  test('an invalid value is an error naming the key and the allowed values, exit 1', async () => {
    const r = await run(['--property', 'hw_video_model=hologram', '--format', 'json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.properties).toEqual({});
    expect(out.errors.hw_video_model.code).toBe('ValueError');
    expect(out.errors.hw_video_model.message).toContain('cirrus, qxl, vga, vmvga, xen, virtio, gop, none, bochs');
  });

  test('a --property without "=" is refused with exit 4', async () => {
    const r = await run(['--property', 'os_distro']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('--property "os_distro": expected key=value');
  });

  test('a bad --virt-type names the allowed ones', async () => {
    const r = await run(['--virt-type', 'xen', '--format', 'json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).errors['host.virt_type'].message).toContain('allowed: kvm, qemu, lxc, parallels');
  });
});

describe('batch', () => {
  const lines = [
    { id: 'a', image_properties: { os_distro: 'fedora36' } },
    { id: 'b', host: { virt_type: 'lxc' }, image_properties: { hw_disk_bus: 'xen' } },
    'this is not JSON',
    { id: 'd', image_properties: { architecture: 'arm64' } },
    { image_properties: { vmware_adaptertype: 'lsiLogicsas' } },
    { id: 'f', conf: { 'libvirt.hw_machine_type': ['x86_64=pc-q35-7.2'], pointer_model: null }, instance: { vm_mode: null } },
  ];
  const text = `${lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n')}\n`;

  const check = (stdout: string) => {
    const out = stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(out.map((o) => o.id)).toEqual(['a', 'b', 3, 'd', 5, 'f']);
    // fedora36: libosinfo gives e1000e and a virtio disk.
    expect(out[0].properties.hw_vif_model).toEqual({ value: 'e1000e', source: 'osinfo' });
    expect(out[0].properties.hw_disk_bus).toEqual({ value: 'virtio', source: 'osinfo' });
    // lxc refuses a xen disk but resolves the rest (RULES §9.3).
    expect(out[1].errors.hw_disk_bus.code).toBe('UnsupportedHardware');
    expect(out[1].properties.hw_cdrom_bus).toEqual({ value: 'lxc', source: 'driver' });
    expect(out[2].errors.input.code).toBe('InvalidInput');
    // Invalid image properties: nothing resolves and the first bad input key is named.
    expect(out[3].properties).toEqual({});
    expect(Object.keys(out[3].errors)).toEqual(['architecture']);
    expect(out[4].properties.hw_disk_bus).toEqual({ value: 'scsi', source: 'image' });
    expect(out[4].properties.hw_scsi_model).toEqual({ value: 'lsisas1068', source: 'image' });
    expect(out[5].properties.hw_machine_type).toEqual({ value: 'pc-q35-7.2', source: 'config' });
    expect(out[5].properties.hw_cdrom_bus).toEqual({ value: 'sata', source: 'driver' });
    expect(out[5].properties.hw_input_bus).toEqual({ value: null, source: 'config' });
  };

  test('from a file: one line out per line in, in order', async () => {
    const file = path.join(dir, 'in.jsonl');
    fs.writeFileSync(file, text);
    const r = await run(['--batch', file]);
    expect(r.code).toBe(0);
    check(r.stdout);
  });

  test('from stdin', async () => {
    const r = await run(['--batch', '-'], text);
    expect(r.code).toBe(0);
    check(r.stdout);
  });

  test('a missing file is one line and exit 1', async () => {
    const r = await run(['--batch', path.join(dir, 'nope.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^hwstash: --batch .*nope\.jsonl: ENOENT/);
  });

  test('the installed command reads a batch on stdin', async () => {
    await ensureBuilt();
    const out = execFileSync(process.execPath, [path.join(REPO, 'bin/hwstash.js'), '--config-file', conf, 'defaults', '--batch', '-'], {
      input: text,
      encoding: 'utf8',
    });
    check(out);
  }, 120_000);
});
