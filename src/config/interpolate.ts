/**
 * oslo.config's `$` substitution (ConfigOpts._substitute): every option value may refer to
 * other options as `$name`, `${name}` or `${group.name}`; `$$` and `\$` are a literal `$`.
 * Nova reads nova.conf through it, so a password containing `$` is written `$$` there, and
 * hwstash must undo that the same way or it would log in with the wrong password.
 *
 * Like Python's string.Template.safe_substitute, a `$` not followed by a name is kept as is; a
 * name that refers to no option is an error (oslo raises NoSuchOptError).
 */

/** How a reference is resolved: the raw (unsubstituted) value of `[section] name`, or undefined when no such option exists. */
export type OptionLookup = (section: string, name: string) => string | undefined;

export class InterpolationError extends Error {
  constructor(
    readonly reference: string,
    readonly reason: 'unknown' | 'loop',
  ) {
    super(reason === 'unknown' ? `$${reference} refers to no option` : `$${reference} refers back to itself`);
    this.name = 'InterpolationError';
  }
}

// string.Template's pattern with oslo's idpattern `[_a-z][\._a-z0-9]*`, case-insensitive.
const TEMPLATE = /\$(?:(\$)|([_a-z][._a-z0-9]*)|\{([_a-z][._a-z0-9]*)\}|)/gi;

/** Which option a reference inside an option of `section` means: its own group first, then DEFAULT. */
function candidates(section: string, reference: string): Array<[string, string]> {
  const dot = reference.indexOf('.');
  if (dot >= 0) return [[reference.slice(0, dot), reference.slice(dot + 1)], ['DEFAULT', reference]];
  return [[section, reference], ['DEFAULT', reference]];
}

export function interpolate(value: string, section: string, lookup: OptionLookup, visiting: readonly string[] = []): string {
  const text = value.split('\\$').join('$$');
  return text.replace(TEMPLATE, (match, escaped: string | undefined, named: string | undefined, braced: string | undefined) => {
    if (escaped) return '$';
    const reference = named ?? braced;
    if (reference === undefined) return match;
    for (const [group, name] of candidates(section, reference)) {
      const raw = lookup(group, name);
      if (raw === undefined) continue;
      const id = `${group}.${name}`;
      if (visiting.includes(id)) throw new InterpolationError(reference, 'loop');
      return interpolate(raw, group, lookup, [...visiting, id]);
    }
    throw new InterpolationError(reference, 'unknown');
  });
}
