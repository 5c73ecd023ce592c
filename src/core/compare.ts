/**
 * Code-unit string order for sorting names and paths. Deliberately not localeCompare: that
 * pulls ICU collation data into memory (a few MB of RSS) for an order no consumer needs.
 */
export function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
