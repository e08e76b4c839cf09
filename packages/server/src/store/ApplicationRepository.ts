import type Database from 'better-sqlite3';

/** A Vonage application: an ID (a UUID) and the RSA public key that verifies its RS256 JWTs. */
export interface Application {
  readonly applicationId: string;
  readonly name: string;
  /** SPKI PEM. */
  readonly publicKey: string;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

interface ApplicationRow {
  api_key: string;
  name: string;
  public_key: string;
  created_at: number;
}

/** Applications in the `projects` table, where their ID stands in the `api_key` column. */
export class ApplicationRepository {
  readonly #insert: Database.Statement<[string, string, string, number]>;
  readonly #byId: Database.Statement<[string], ApplicationRow>;
  readonly #all: Database.Statement<[], ApplicationRow>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO projects (api_key, kind, name, public_key, created_at) VALUES (?, 'application', ?, ?, ?)`,
    );
    this.#byId = db.prepare("SELECT * FROM projects WHERE api_key = ? AND kind = 'application'");
    this.#all = db.prepare("SELECT * FROM projects WHERE kind = 'application' ORDER BY created_at, api_key");
  }

  insert(application: Application): void {
    this.#insert.run(
      application.applicationId,
      application.name,
      application.publicKey,
      application.createdAt,
    );
  }

  find(applicationId: string): Application | undefined {
    const row = this.#byId.get(applicationId);
    return row && toApplication(row);
  }

  list(): Application[] {
    return this.#all.all().map(toApplication);
  }
}

function toApplication(row: ApplicationRow): Application {
  return { applicationId: row.api_key, name: row.name, publicKey: row.public_key, createdAt: row.created_at };
}
