/** The host file behind a guest RNG's `random` backend (Nova's `[libvirt] rng_dev_path`). */
import { DomainXmlError } from './errors.js';

export const DEFAULT_RNG_BACKEND = '/dev/urandom';

export function checkRngBackendPath(path: string): string {
  if (typeof path !== 'string' || !/^\/\S*$/.test(path) || path.split('/').includes('..')) {
    throw new DomainXmlError(`rng backend path ${JSON.stringify(path)} must be an absolute path without spaces or "..", like ${DEFAULT_RNG_BACKEND}`);
  }
  return path;
}
