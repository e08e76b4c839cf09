import { flag, type SqlClient } from './SqlClient.js';

/** An OpenTok project: an API key and the secret that signs its JWTs. */
export interface Project {
  readonly apiKey: string;
  readonly name: string;
  readonly apiSecret: string;
  /** The project `npm start` prints and the demo uses. */
  readonly isDefault: boolean;
  /** A suspended project's REST calls and client tokens are refused. */
  readonly suspended: boolean;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

interface ProjectRow {
  api_key: string;
  name: string;
  api_secret: string;
  is_default: number | boolean;
  suspended: number | boolean;
  created_at: number;
}

/** OpenTok projects in the `projects` table (applications are the other kind there). */
export class ProjectRepository {
  readonly #sql: SqlClient;

  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /** Adds a project, not suspended. */
  async insert(project: Omit<Project, 'suspended'>): Promise<void> {
    await this.#sql.run(
      `INSERT INTO projects (api_key, kind, name, api_secret, is_default, created_at)
       VALUES (?, 'opentok', ?, ?, ?, ?)`,
      [project.apiKey, project.name, project.apiSecret, project.isDefault, project.createdAt],
    );
  }

  async find(apiKey: string): Promise<Project | undefined> {
    const row = await this.#sql.get<ProjectRow>(
      "SELECT * FROM projects WHERE api_key = ? AND kind = 'opentok'",
      [apiKey],
    );
    return row && toProject(row);
  }

  async findDefault(): Promise<Project | undefined> {
    const row = await this.#sql.get<ProjectRow>('SELECT * FROM projects WHERE is_default = TRUE');
    return row && toProject(row);
  }

  async list(): Promise<Project[]> {
    const rows = await this.#sql.all<ProjectRow>(
      "SELECT * FROM projects WHERE kind = 'opentok' ORDER BY created_at, api_key",
    );
    return rows.map(toProject);
  }

  /** Returns whether there is such a project. */
  async rename(apiKey: string, name: string): Promise<boolean> {
    return (
      (await this.#sql.run("UPDATE projects SET name = ? WHERE api_key = ? AND kind = 'opentok'", [
        name,
        apiKey,
      ])) > 0
    );
  }

  /** Returns whether there is such a project. */
  async setSuspended(apiKey: string, suspended: boolean): Promise<boolean> {
    return (
      (await this.#sql.run("UPDATE projects SET suspended = ? WHERE api_key = ? AND kind = 'opentok'", [
        suspended,
        apiKey,
      ])) > 0
    );
  }

  async setSecret(apiKey: string, apiSecret: string): Promise<void> {
    await this.#sql.run('UPDATE projects SET api_secret = ? WHERE api_key = ?', [apiSecret, apiKey]);
  }

  /**
   * The secret that signs the callbacks of a project or application; null when it has none yet,
   * undefined when there is no such project.
   */
  async signatureSecret(apiKey: string): Promise<string | null | undefined> {
    const row = await this.#sql.get<{ signature_secret: string | null }>(
      'SELECT signature_secret FROM projects WHERE api_key = ?',
      [apiKey],
    );
    return row && row.signature_secret;
  }

  /** Sets the callback signature secret; with `onlyIfNone`, only where there is none yet. */
  async setSignatureSecret(apiKey: string, secret: string, onlyIfNone = false): Promise<void> {
    await this.#sql.run(
      `UPDATE projects SET signature_secret = ? WHERE api_key = ?${onlyIfNone ? ' AND signature_secret IS NULL' : ''}`,
      [secret, apiKey],
    );
  }

  /** Makes this project the default one (call inside a transaction). */
  async makeDefault(apiKey: string): Promise<void> {
    await this.#sql.run('UPDATE projects SET is_default = FALSE WHERE is_default = TRUE');
    await this.#sql.run('UPDATE projects SET is_default = TRUE WHERE api_key = ?', [apiKey]);
  }
}

function toProject(row: ProjectRow): Project {
  return {
    apiKey: row.api_key,
    name: row.name,
    apiSecret: row.api_secret,
    isDefault: flag(row.is_default),
    suspended: flag(row.suspended),
    createdAt: row.created_at,
  };
}
