/**
 * Classification of libvirt's messages, and the virsh runner's failure modes. The messages
 * below were captured from libvirt 9.0 on this machine (binding rejections and virsh stderr);
 * the live tests provoke most of them again, these cover the ones a test cannot provoke at
 * will (a peer reset mid-call, a keepalive timeout, QEMU's monitor going away).
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hypervisor, HypervisorError, classifyLibvirtMessage, execFileVirsh } from '../../src/hypervisor/index.js';

describe('classifyLibvirtMessage', () => {
  test.each([
    ['Domain not found', 'no-domain'],
    ["Domain not found: no domain with matching uuid '11111111-2222-3333-4444-555555555555'", 'no-domain'],
    ["Domain not found: no domain with matching name 'nope'", 'no-domain'],

    ['Cannot write data: Broken pipe', 'connection'],
    ['internal error: client socket is closed', 'connection'],
    ['Cannot recv data: Connection reset by peer', 'connection'],
    ['End of file while reading data: Input/output error', 'connection'],
    ['internal error: connection closed due to keepalive timeout', 'connection'],
    ["Failed to connect socket to '/run/libvirt/libvirt-sock': Connection refused", 'connection'],
    ["Failed to connect socket to '/tmp/nosock': No such file or directory", 'connection'],
    ['no connection driver available for bogus:///x', 'connection'],

    ['this function is not supported by the connection driver: virConnectGetDomainCapabilities', 'unsupported'],
    ['unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type', 'unsupported'],
    ["unsupported configuration: unknown video model 'nosuch'", 'unsupported'],
    ["unsupported configuration: unable to find any emulator to serve 'aarch64' architecture", 'unsupported'],
    ["invalid argument: Emulator '/usr/bin/qemu-system-x86_64' does not support virt type 'kvm'", 'unsupported'],
    ["invalid argument: the machine 'bogus' is not supported by emulator '/usr/bin/qemu-system-x86_64'", 'unsupported'],
    ['Cannot check QEMU binary /nope: No such file or directory', 'unsupported'],

    ["(domain_definition):1: Couldn't find end of Start Tag domain line 1\n<domain\n-------^", 'invalid'],
    ["(domain_definition):1: Start tag expected, '<' not found\nhello\n^", 'invalid'],
    ['missing name information', 'invalid'],
    ['XML error: No PCI buses available', 'invalid'],
    ['Invalid UUID', 'invalid'],
    ['invalid argument: unknown architecture: sparc99', 'invalid'],
    ['Requested operation is not valid: domain is not running', 'invalid'],
    ['Requested operation is not valid: domain is already running', 'invalid'],
    ["operation failed: domain 'a1' already exists with uuid aaaaaaaa-0000-0000-0000-000000000001", 'invalid'],
    ["internal error: Domain 'a1' is already running", 'invalid'],

    // The guest's QEMU going away is not the connection to libvirt going away.
    ['internal error: qemu unexpectedly closed the monitor: qemu-system-x86_64: -accel kvm: failed', 'other'],
    ['Unable to read from monitor: Connection reset by peer', 'other'],
    ['Timed out during operation: cannot acquire state change lock (held by monitor=remoteDispatchDomainCreate)', 'other'],
    ['operation forbidden: read only access prevents virConnectGetDomainCapabilities', 'other'],
    ['Unknown error', 'other'],
    ['', 'other'],
  ])('%j → %s', (message, kind) => {
    expect(classifyLibvirtMessage(message)).toBe(kind);
  });
});

describe('HypervisorError', () => {
  test('carries kind, operation and libvirt\'s message, and says all three', () => {
    const e = new HypervisorError('no-domain', 'start', 'Domain not found');
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toContain('start');
    expect(e.message).toContain('no-domain');
    expect(e.message).toContain('Domain not found');
  });
});

describe('the virsh runner', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hwstash-virsh-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function script(name: string, body: string): string {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }

  async function capabilitiesWith(binary: string, timeoutMs?: number): Promise<HypervisorError> {
    const virsh = execFileVirsh(timeoutMs === undefined ? { binary } : { binary, timeoutMs });
    const hv = await Hypervisor.open('test:///default', { virsh });
    try {
      await hv.capabilities();
    } catch (e) {
      if (e instanceof HypervisorError) return e;
      throw e;
    } finally {
      await hv.close();
    }
    throw new Error('expected capabilities() to fail');
  }

  test('a missing virsh binary says what to install', async () => {
    const e = await capabilitiesWith(join(dir, 'no-such-virsh'));
    expect(e.kind).toBe('other');
    expect(e.libvirtMessage).toContain('libvirt-clients');
  });

  test('a virsh that hangs is killed after the timeout', async () => {
    const started = Date.now();
    const e = await capabilitiesWith(script('hang', 'exec sleep 30'), 300);
    expect(e.kind).toBe('other');
    expect(e.libvirtMessage).toMatch(/killed/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  test('the last "error:" line of stderr is the message that is classified', async () => {
    const e = await capabilitiesWith(
      script('fails', `echo 'error: failed to get emulator capabilities' >&2\necho "error: Domain not found" >&2\nexit 1`),
    );
    expect(e).toMatchObject({ kind: 'no-domain', libvirtMessage: 'Domain not found' });
  });

  test('success without the expected document is an error, not an empty answer', async () => {
    const e = await capabilitiesWith(script('garbage', 'echo hello'));
    expect(e.kind).toBe('other');
  });

  test('virsh runs in the C locale, so libvirt\'s messages stay classifiable', async () => {
    const e = await capabilitiesWith(script('locale', 'echo "error: LC_ALL=$LC_ALL" >&2; exit 1'));
    expect(e.libvirtMessage).toBe('LC_ALL=C');
  });
});
