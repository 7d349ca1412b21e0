/** hw_input_bus and hw_pointer_model: `_get_pointer_bus_and_model` (RULES.md §4). */
import type { Decided, RuleContext, Source } from './context.js';

export interface PointerDecision {
  inputBus: Decided;
  pointerModel: Decided;
}

const none = (source: Source): PointerDecision => ({
  inputBus: { value: null, source },
  pointerModel: { value: null, source },
});

/** `osType` is the guest's `<os><type>`: from its domain, or derived from instance.vm_mode. */
export function pointer(ctx: RuleContext, osType: string): PointerDecision {
  const { props, host } = ctx;
  let bus: string;
  let source: Source;
  if (props.hw_input_bus !== undefined) {
    bus = props.hw_input_bus;
    source = 'image';
  } else if (props.hw_pointer_model !== undefined) {
    bus = 'usb';
    source = 'image';
  } else if (host.pointerModel === 'usbtablet') {
    bus = 'usb';
    source = 'config';
  } else {
    return none('config');
  }
  // A tablet only works in an HVM guest, and the SPICE agent's paravirt mouse replaces it
  // unless VNC still needs one.
  if (osType !== 'hvm') return none('driver');
  if (host.spiceEnabled && host.spiceAgentEnabled && !host.vncEnabled) return none('driver');
  return { inputBus: { value: bus, source }, pointerModel: { value: 'usbtablet', source } };
}
