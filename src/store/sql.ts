/**
 * Plain SELECTs for the stash's hot path. Sequelize's model finders build every result row
 * into an object graph; for the thousands of rows a batch reads, plain queries with escaped
 * replacements (identifiers quoted by the dialect: `key` is reserved in MySQL) take half the time.
 */
import { QueryTypes, type Transaction } from 'sequelize';
import type { Database } from './database.js';

export function quote(db: Database, identifier: string): string {
  return db.sequelize.getQueryInterface().quoteIdentifier(identifier);
}

export function select<T extends object = Record<string, unknown>>(
  db: Database,
  sql: string,
  replacements: Record<string, unknown>,
  transaction?: Transaction,
): Promise<T[]> {
  return db.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements, transaction });
}
