/**
 * The one place where libvirt's failures are turned into kinds. The Node binding rejects with
 * only libvirt's message (its code is always -1) and virsh prints the same messages on stderr,
 * so the classification reads the message, anchored on the prefixes libvirt's virerror.c puts
 * in front of every message. Call sites switch on `kind` and never parse messages.
 */

export type HypervisorErrorKind = 'no-domain' | 'connection' | 'unsupported' | 'invalid' | 'other';

export class HypervisorError extends Error {
  override readonly name = 'HypervisorError';

  constructor(
    readonly kind: HypervisorErrorKind,
    /** The gateway operation that failed, e.g. `define` or `domainCapabilities`. */
    readonly op: string,
    /** libvirt's (or virsh's, or the gateway's own) message, unchanged. */
    readonly libvirtMessage: string,
    options?: { cause?: unknown },
  ) {
    super(`libvirt ${op} failed (${kind}): ${libvirtMessage}`, options);
  }
}

export function isHypervisorError(e: unknown, kind?: HypervisorErrorKind): e is HypervisorError {
  return e instanceof HypervisorError && (kind === undefined || e.kind === kind);
}

/**
 * Ordered: the first match wins, so the specific patterns (which libvirt reports under a
 * generic prefix such as "invalid argument" or "internal error") come before the prefixes.
 */
const RULES: ReadonlyArray<readonly [RegExp, HypervisorErrorKind]> = [
  // The lookup functions of every driver: "Domain not found" (test driver) or
  // "Domain not found: no domain with matching uuid '…'" (QEMU).
  [/^Domain not found\b/, 'no-domain'],

  // The transport to the daemon is gone or never came up: worth reopening.
  [/^internal error: client socket is closed/, 'connection'],
  [/^internal error: connection closed due to keepalive timeout/, 'connection'],
  [/^Cannot write data:/, 'connection'],
  [/^Cannot recv data:/, 'connection'],
  [/^End of file while reading data/, 'connection'],
  [/^Failed to connect socket to /, 'connection'],
  [/^unable to connect to server/i, 'connection'],
  [/^invalid connection pointer in/, 'connection'],
  [/^no connection driver available/, 'connection'],
  [/^failed to connect to the hypervisor/, 'connection'],
  [/^authentication failed/, 'connection'],

  // The host cannot do what was asked: the driver lacks the function, QEMU or the machine
  // type lacks the device, no emulator serves the architecture or virt type.
  [/^this function is not supported by the connection driver/, 'unsupported'],
  [/^unsupported configuration/, 'unsupported'],
  [/^Operation not supported/, 'unsupported'],
  [/^argument unsupported/, 'unsupported'],
  [/^the CPU is incompatible with host CPU/, 'unsupported'],
  [/^invalid argument: Emulator '.*' does not support virt type/, 'unsupported'],
  [/^invalid argument: KVM is not supported/, 'unsupported'],
  [/^invalid argument: the machine '.*' is not supported by emulator/, 'unsupported'],
  [/^Cannot check QEMU binary /, 'unsupported'],

  // The request itself is wrong: unparsable or incomplete XML, a bad argument, a name or
  // uuid that clashes with another domain, an operation the domain's state does not allow.
  [/^\([A-Za-z_]+\):\d+:/, 'invalid'], // libxml2 parse error, e.g. "(domain_definition):1: …"
  [/^XML error/, 'invalid'],
  [/^XML description is invalid/, 'invalid'],
  [/^XML document failed to validate against schema/, 'invalid'],
  [/^missing [a-z ]+ information/, 'invalid'],
  [/^invalid argument/, 'invalid'],
  [/^Invalid UUID/, 'invalid'],
  [/^invalid MAC address/, 'invalid'],
  [/^unknown OS type/, 'invalid'],
  [/^parser error/, 'invalid'],
  [/^Requested operation is not valid/, 'invalid'],
  [/^operation failed: domain '.*' (already exists|is already defined) with uuid/, 'invalid'],
  [/^this domain exists already/, 'invalid'],
  [/^internal error: Domain '.*' is already running/, 'invalid'], // the test driver's wording
];

export function classifyLibvirtMessage(message: string): HypervisorErrorKind {
  const m = message.trimStart();
  for (const [pattern, kind] of RULES) if (pattern.test(m)) return kind;
  return 'other';
}

/** What the binding rejected with (a LibvirtError, an Error or a bare string), as text. */
export function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  return String(e);
}

/** Wraps anything the binding threw; a HypervisorError passes through unchanged. */
export function toHypervisorError(op: string, e: unknown): HypervisorError {
  if (e instanceof HypervisorError) return e;
  const message = messageOf(e);
  return new HypervisorError(classifyLibvirtMessage(message), op, message, { cause: e });
}
