/**
 * What to stash for one instance, decided from its rows alone (pure): every one of the 11
 * properties without an `image_<property>` row gets the resolver's value, canonical (RULES.md
 * §9.4), NULL meaning "no such device"; a row that exists is never touched, whatever it holds.
 * A property that does not resolve is left out and reported, the others are still stashed
 * (§9.3). A stored value Nova cannot coerce is reported with instance and key; as Nova then
 * cannot build the instance's image metadata at all, nothing is computed from it.
 */
import type { DomainFacts, HostProfile, OsInfoLookup } from '../core/inputs.js';
import { PROPERTIES, type PropertyName } from '../core/properties.js';
import { resolve, type Source } from '../core/resolve.js';
import { UnstorableValueError } from './errors.js';
import { storableValue } from './storable.js';
import { imagePropertiesFromSysmeta, storedProperties, sysmetaDict, type BadStoredValue, type SysmetaRow } from './sysmeta.js';

export interface StashedValue {
  value: string | null;
  source: Source;
}

export interface PropertyFailure {
  /** Nova's exception name (UnsupportedHardware, ValueError, …) or UnstorableValue. */
  code: string;
  message: string;
}

export interface InstancePlanInput {
  uuid: string;
  /** instances.vm_mode */
  vmMode: string | null;
  /** All its system_metadata rows, soft-deleted ones included. */
  rows: readonly SysmetaRow[];
  profile: HostProfile;
  osinfo: OsInfoLookup | null;
  domain: DomainFacts | null;
  /** Why the instance's libvirt domain could not be read, when it could not. */
  domainError?: string;
}

export interface InstancePlan {
  uuid: string;
  /** Properties already stored, as Nova reads them (coerced; the raw text when it cannot be coerced). */
  present: Partial<Record<PropertyName, string | null>>;
  /** Rows to add. */
  toStash: Partial<Record<PropertyName, StashedValue>>;
  /** Properties left unstashed, and why. */
  errors: Partial<Record<PropertyName, PropertyFailure>>;
  badStoredValues: BadStoredValue[];
}

export function planInstanceStash(input: InstancePlanInput): InstancePlan {
  const dict = sysmetaDict(input.rows);
  const stored = storedProperties(dict);
  const plan: InstancePlan = { uuid: input.uuid, present: {}, toStash: {}, errors: {}, badStoredValues: [] };

  const missing: PropertyName[] = [];
  for (const spec of PROPERTIES) {
    const s = stored[spec.name];
    if (!s.present) {
      missing.push(spec.name);
      continue;
    }
    plan.present[spec.name] = s.error ? s.raw : s.value;
    if (s.error && s.raw !== null) {
      plan.badStoredValues.push({ instanceUuid: input.uuid, key: spec.key, value: s.raw, message: s.error });
    }
  }
  if (missing.length === 0) return plan;
  if (input.domainError !== undefined) {
    for (const name of missing) {
      plan.errors[name] = { code: 'DomainUnreadable', message: `${name}: not resolved: cannot read the libvirt domain: ${input.domainError}` };
    }
    return plan;
  }

  const raw = imagePropertiesFromSysmeta(dict);
  const resolution = resolve({
    imageProperties: raw.properties,
    instance: { vmMode: input.vmMode },
    host: input.profile,
    osinfo: input.osinfo,
    domain: input.domain,
  });

  const rejected = Object.entries(resolution.errors).find(([, e]) => e.code === 'ValueError');
  if (rejected) {
    const [inputKey, failure] = rejected;
    const key = raw.keys[inputKey] ?? inputKey;
    if (!plan.badStoredValues.some((b) => b.key === key)) {
      plan.badStoredValues.push({ instanceUuid: input.uuid, key, value: failure.value ?? '', message: failure.message });
    }
    for (const name of missing) {
      plan.errors[name] = {
        code: 'ValueError',
        message: `${name}: not resolved: Nova cannot load this instance's image metadata: ${key}: ${failure.message.replace(/^[^:]*: /, '')}`,
      };
    }
    return plan;
  }

  for (const name of missing) {
    const failure = resolution.errors[name];
    if (failure) {
      plan.errors[name] = { code: failure.code, message: failure.message };
      continue;
    }
    const decided = resolution.properties[name];
    if (!decided) {
      plan.errors[name] = { code: 'Unresolved', message: `${name}: the resolver gave no value` };
      continue;
    }
    try {
      plan.toStash[name] = { value: storableValue(name, decided.value), source: decided.source };
    } catch (err) {
      if (!(err instanceof UnstorableValueError)) throw err;
      plan.errors[name] = { code: 'UnstorableValue', message: `${err.message} (from ${decided.source})` };
    }
  }
  return plan;
}

/**
 * What Nova's start-up registration writes for an instance whose loaded system_metadata lacked
 * the properties hwstash recorded: image > libosinfo > driver default, with no domain (Nova does
 * not look at the guest). Only to recognise such a write; never stored.
 */
export function novaRegistrationDefaults(
  vmMode: string | null,
  rows: readonly SysmetaRow[],
  recordedKeys: ReadonlySet<string>,
  profile: HostProfile,
  osinfo: OsInfoLookup | null,
): Partial<Record<PropertyName, string | null>> {
  const dict = new Map([...sysmetaDict(rows)].filter(([key]) => !recordedKeys.has(key)));
  const resolution = resolve({
    imageProperties: imagePropertiesFromSysmeta(dict).properties,
    instance: { vmMode },
    host: profile,
    osinfo,
    domain: null,
  });
  const out: Partial<Record<PropertyName, string | null>> = {};
  for (const spec of PROPERTIES) {
    const decided = resolution.properties[spec.name];
    if (!decided || resolution.errors[spec.name]) continue;
    try {
      out[spec.name] = storableValue(spec.name, decided.value);
    } catch {
      // Not storable: Nova would not have written it either.
    }
  }
  return out;
}
