/**
 * The stash as the domain-XML code takes it: property → value, where null is "decided: no such
 * device / no value" and a missing key is "not stashed, leave the domain alone".
 */
import { coerceProperty, isPropertyName, type PropertyName } from '../properties.js';
import { DomainXmlError } from './errors.js';
import { checkMachineTypeName } from './machine-type.js';

export type Stash = Partial<Record<PropertyName, string | null>>;

/**
 * Validate every value through the property table, and return the canonical form (Nova's own
 * rows may hold raw spellings such as `VirtualE1000`). This is the only way a stashed value
 * reaches the XML. An empty machine type means none, as it does to Nova.
 */
export function canonicalStash(stash: Stash): Stash {
  if (stash === null || typeof stash !== 'object') throw new DomainXmlError('stash must be an object of property → value');
  const out: Stash = {};
  for (const [key, value] of Object.entries(stash)) {
    if (!isPropertyName(key)) throw new DomainXmlError(`stash: unknown property ${JSON.stringify(key)}`);
    if (value === undefined) continue;
    if (value === null) {
      out[key] = null;
    } else if (key === 'hw_machine_type') {
      out[key] = value === '' ? null : checkMachineTypeName(key, value);
    } else {
      out[key] = coerceProperty(key, value);
    }
  }
  return out;
}
