/** The options the image-property changes share, and nova-manage's exit codes for bad input. */
import { PropertyInputError, parseAssignments, type RequestedValue } from '../core/property-checks.js';
import type { Store } from '../store/index.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';
import { LibvirtLink } from './libvirt-link.js';
import type { ChangeEnv } from './property-change.js';

/** nova-manage's exit codes for a bad `--property`: 4 format, 5 name. */
export function inputError(err: unknown): unknown {
  if (err instanceof PropertyInputError) return new CliError(err.kind === 'format' ? EXIT.badFormat : EXIT.unknownProperty, err.message);
  return err;
}

/** Parse `key=value` items; `subject` (e.g. `instance <uuid>`) leads any error message. */
export function parseProperties(items: readonly string[], option = '--property', subject?: string): RequestedValue[] {
  try {
    return parseAssignments(items, option);
  } catch (err) {
    const mapped = inputError(err);
    if (mapped instanceof CliError && subject) throw new CliError(mapped.exitCode, `${subject}: ${mapped.message}; nothing written`);
    throw mapped;
  }
}

export interface ChangeOptions {
  dryRun?: boolean;
  force?: boolean;
  skipHostCheck?: boolean;
  reason?: string;
  format?: string;
}

export interface SetOptions extends ChangeOptions {
  property: string[];
  all?: boolean;
  where: string[];
  host?: string;
  limit?: string;
}

export function changeEnv(ctx: CliContext, store: Store, opts: ChangeOptions, command: string): ChangeEnv {
  const skipHostCheck = opts.skipHostCheck ?? false;
  if (skipHostCheck) ctx.warn(`host check skipped (--skip-host-check): values are checked against Nova's enums and [libvirt] virt_type only`);
  return {
    ctx,
    store,
    profile: ctx.profile(),
    // With --skip-host-check libvirt is still asked for a dry run's domain diff, if it answers.
    link: new LibvirtLink(
      ctx,
      skipHostCheck
        ? { required: false, consequence: 'no domain diff' }
        : { required: true, consequence: 'the host check cannot run; nothing written', hint: 'Pass --skip-host-check to go on without it' },
    ),
    force: opts.force ?? false,
    skipHostCheck,
    command,
  };
}

