import type { SqlClient } from './SqlClient.js';

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
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  async insert(application: Application): Promise<void> {
    await this.#sql.run(
      `INSERT INTO projects (api_key, kind, name, public_key, created_at) VALUES (?, 'application', ?, ?, ?)`,
      [application.applicationId, application.name, application.publicKey, application.createdAt],
    );
  }

  async find(applicationId: string): Promise<Application | undefined> {
    const row = await this.#sql.get<ApplicationRow>(
      "SELECT * FROM projects WHERE api_key = ? AND kind = 'application'",
      [applicationId],
    );
    return row && toApplication(row);
  }

  async list(): Promise<Application[]> {
    const rows = await this.#sql.all<ApplicationRow>(
      "SELECT * FROM projects WHERE kind = 'application' ORDER BY created_at, api_key",
    );
    return rows.map(toApplication);
  }
}

function toApplication(row: ApplicationRow): Application {
  return { applicationId: row.api_key, name: row.name, publicKey: row.public_key, createdAt: row.created_at };
}
