/**
 * The instance's RequestSpec in Nova's API database (`request_specs.spec`): Nova's scheduler
 * reads its `image` on every move, so a property the operator changed must change there too, as
 * nova-manage's `image_property set` does from 28.3.1/29.2.1/30.0.0 on. Edited in place in Nova's
 * own serialized form — the ImageMetaProps object's data, nothing else, object versions kept — so
 * that Nova's RequestSpec.get_by_instance_uuid reads the new value and every other field as it was.
 */
import { QueryTypes, Transaction } from 'sequelize';
import type { PropertyName } from '../core/properties.js';
import type { Database } from './database.js';
import { naiveUtc } from './timestamps.js';

export interface SpecChange {
  property: PropertyName;
  /** null or absent: the property is removed (Nova's ImageMeta.from_instance skips None values). */
  value: string | null;
}

export type SpecOutcome = 'updated' | 'unchanged' | 'no-request-spec' | 'no-image';

type NovaObject = { 'nova_object.name'?: string; 'nova_object.data'?: Record<string, unknown> } & Record<string, unknown>;

const isObject = (v: unknown): v is NovaObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function updateRequestSpecImage(
  db: Database,
  instanceUuid: string,
  changes: readonly SpecChange[],
  imageMetaPropsVersion: string,
): Promise<SpecOutcome> {
  const type = db.dialect === 'sqlite' ? Transaction.TYPES.IMMEDIATE : undefined;
  return db.sequelize.transaction({ type }, async (transaction) => {
    const lock = db.dialect === 'sqlite' ? '' : ' FOR UPDATE';
    const rows = await db.sequelize.query<{ id: number; spec: string }>(
      `SELECT id, spec FROM request_specs WHERE instance_uuid = :uuid ORDER BY id DESC LIMIT 1${lock}`,
      { type: QueryTypes.SELECT, replacements: { uuid: instanceUuid }, transaction },
    );
    const row = rows[0];
    if (!row) return 'no-request-spec';
    const spec = JSON.parse(String(row.spec)) as NovaObject;
    const image = spec['nova_object.data']?.['image'];
    if (!isObject(image) || !isObject(image['nova_object.data'])) return 'no-image';
    const imageData = image['nova_object.data'];
    if (!isObject(imageData['properties'])) {
      imageData['properties'] = {
        'nova_object.name': 'ImageMetaProps',
        'nova_object.namespace': 'nova',
        'nova_object.version': imageMetaPropsVersion,
        'nova_object.data': {},
      };
    }
    const props = imageData['properties'] as NovaObject;
    const data = (props['nova_object.data'] ??= {}) as Record<string, unknown>;
    let changed = false;
    for (const c of changes) {
      if (c.value === null) {
        if (c.property in data) {
          delete data[c.property];
          changed = true;
        }
      } else if (data[c.property] !== c.value) {
        data[c.property] = c.value;
        changed = true;
      }
    }
    if (!changed) return 'unchanged';
    await db.sequelize.query('UPDATE request_specs SET spec = :spec, updated_at = :now WHERE id = :id', {
      replacements: { spec: JSON.stringify(spec), now: naiveUtc(new Date()), id: row.id },
      transaction,
    });
    return 'updated';
  });
}

/**
 * The image properties of the instance's RequestSpec as Nova would read them (null: no
 * RequestSpec, or none with an image). From 2024.1 nova-manage's `image_property set` writes
 * them with the instance's system_metadata; a stale save of Nova's touches neither.
 */
export async function requestSpecImageProperties(db: Database, instanceUuid: string): Promise<Record<string, string> | null> {
  const rows = await db.sequelize.query<{ spec: string }>(
    'SELECT spec FROM request_specs WHERE instance_uuid = :uuid ORDER BY id DESC LIMIT 1',
    { type: QueryTypes.SELECT, replacements: { uuid: instanceUuid } },
  );
  if (!rows[0]) return null;
  const spec = JSON.parse(String(rows[0].spec)) as NovaObject;
  const image = spec['nova_object.data']?.['image'];
  if (!isObject(image) || !isObject(image['nova_object.data'])) return null;
  const props = image['nova_object.data']['properties'];
  const data = isObject(props) && isObject(props['nova_object.data']) ? props['nova_object.data'] : {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) if (typeof v === 'string') out[k] = v;
  return out;
}
