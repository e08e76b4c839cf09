import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { fileURLToPath } from 'node:url';
import maxmind, { type CountryResponse, type Reader } from 'maxmind';

/**
 * The country-to-region table (`regions.json`, or `--regions-file`): each region's countries
 * (ISO 3166-1 alpha-2) and the regions to try, in order, when it has no node that takes new
 * sessions; a country in no region, or an address of no known country, goes to `default`.
 */
export interface RegionTable {
  readonly default: string;
  readonly regions: Readonly<
    Record<string, { readonly countries: readonly string[]; readonly fallback: readonly string[] }>
  >;
}

/** The table shipped with Parlor: `src/cluster/` and `dist/cluster/` both sit two levels under the package. */
export const shippedRegionsFile = fileURLToPath(new URL('../../regions.json', import.meta.url));

/** The offline country database: CC0, from the `@ip-location-db/geo-whois-asn-country-mmdb` package. */
const countryDatabase = createRequire(import.meta.url).resolve(
  '@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb',
);

/** The file is not a valid regions table; the message says where. */
export class RegionTableError extends Error {
  override readonly name = 'RegionTableError';
}

/** Where an address is: its country through the offline GeoIP database, then its region by the table. */
export class Regions {
  readonly table: RegionTable;
  readonly #reader: Reader<CountryResponse & { country_code?: string }>;
  readonly #regionOf = new Map<string, string>();

  private constructor(table: RegionTable, reader: Reader<CountryResponse & { country_code?: string }>) {
    this.table = table;
    this.#reader = reader;
    for (const [region, { countries }] of Object.entries(table.regions))
      for (const country of countries) this.#regionOf.set(country, region);
  }

  /** Reads the table (default: the shipped one) and opens the country database. */
  static async open(regionsFile: string = shippedRegionsFile): Promise<Regions> {
    const table = parseRegionTable(readFileSync(regionsFile, 'utf8'), regionsFile);
    return new Regions(table, await maxmind.open(countryDatabase, { watchForUpdates: false }));
  }

  /** The country (ISO alpha-2) of an IP address, or null when it is unknown or not an address. */
  countryOf(address: string): string | null {
    const bare = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
    if (isIP(bare) === 0) return null;
    const found = this.#reader.get(bare);
    return found?.country_code ?? found?.country?.iso_code ?? null;
  }

  /** The region of an IP address: its country's, or the default one. */
  regionOf(address: string): string {
    const country = this.countryOf(address);
    return (country !== null ? this.#regionOf.get(country) : undefined) ?? this.table.default;
  }

  /** The regions to try for a session of `region`, in order: itself, then its fallbacks. */
  preferenceOf(region: string): readonly string[] {
    return [region, ...(this.table.regions[region]?.fallback ?? [])];
  }
}

/** Reads a regions table, with every problem named. */
export function parseRegionTable(text: string, file: string): RegionTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new RegionTableError(`${file}: not JSON: ${(error as Error).message}`);
  }
  const problems: string[] = [];
  const { default: fallbackRegion, regions } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof fallbackRegion !== 'string' || fallbackRegion === '')
    problems.push('"default" must name a region');
  if (typeof regions !== 'object' || regions === null) problems.push('"regions" must be an object');
  const seen = new Map<string, string>();
  for (const [name, entry] of Object.entries((regions ?? {}) as Record<string, unknown>)) {
    const { countries, fallback } = (entry ?? {}) as Record<string, unknown>;
    if (!Array.isArray(countries) || !countries.every((c) => typeof c === 'string' && /^[A-Z]{2}$/.test(c)))
      problems.push(`regions.${name}.countries must be a list of two-letter country codes`);
    else
      for (const country of countries as string[]) {
        const other = seen.get(country);
        if (other !== undefined) problems.push(`${country} is in both ${other} and ${name}`);
        seen.set(country, name);
      }
    if (fallback !== undefined && (!Array.isArray(fallback) || !fallback.every((r) => typeof r === 'string')))
      problems.push(`regions.${name}.fallback must be a list of region names`);
  }
  if (problems.length > 0) throw new RegionTableError(`${file}: ${problems.join('; ')}`);
  const table = parsed as {
    default: string;
    regions: Record<string, { countries: string[]; fallback?: string[] }>;
  };
  return {
    default: table.default,
    regions: Object.fromEntries(
      Object.entries(table.regions).map(([name, { countries, fallback }]) => [
        name,
        { countries, fallback: fallback ?? [] },
      ]),
    ),
  };
}
