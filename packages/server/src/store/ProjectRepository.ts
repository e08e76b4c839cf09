import type Database from 'better-sqlite3';

/** An OpenTok project: an API key and the secret that signs its JWTs. */
export interface Project {
  readonly apiKey: string;
  readonly name: string;
  readonly apiSecret: string;
  /** The project `npm start` prints and the demo uses. */
  readonly isDefault: boolean;
  /** Unix milliseconds. */
  readonly createdAt: number;
}

interface ProjectRow {
  api_key: string;
  name: string;
  api_secret: string;
  is_default: number;
  created_at: number;
}

/** OpenTok projects in the `projects` table (applications are the other kind there). */

export class ProjectRepository {
  readonly #insert: Database.Statement<[string, string, string, number, number]>;
  readonly #byKey: Database.Statement<[string], ProjectRow>;
  readonly #defaultProject: Database.Statement<[], ProjectRow>;
  readonly #all: Database.Statement<[], ProjectRow>;
  readonly #setSecret: Database.Statement<[string, string]>;
  readonly #clearDefault: Database.Statement<[]>;
  readonly #setDefault: Database.Statement<[string]>;

  constructor(db: Database.Database) {
    this.#insert = db.prepare(
      `INSERT INTO projects (api_key, kind, name, api_secret, is_default, created_at)
       VALUES (?, 'opentok', ?, ?, ?, ?)`,
    );
    this.#byKey = db.prepare("SELECT * FROM projects WHERE api_key = ? AND kind = 'opentok'");
    this.#defaultProject = db.prepare('SELECT * FROM projects WHERE is_default = 1');
    this.#all = db.prepare("SELECT * FROM projects WHERE kind = 'opentok' ORDER BY created_at, api_key");
    this.#setSecret = db.prepare('UPDATE projects SET api_secret = ? WHERE api_key = ?');
    this.#clearDefault = db.prepare('UPDATE projects SET is_default = 0 WHERE is_default = 1');
    this.#setDefault = db.prepare('UPDATE projects SET is_default = 1 WHERE api_key = ?');
  }

  insert(project: Project): void {
    this.#insert.run(
      project.apiKey,
      project.name,
      project.apiSecret,
      project.isDefault ? 1 : 0,
      project.createdAt,
    );
  }

  find(apiKey: string): Project | undefined {
    const row = this.#byKey.get(apiKey);
    return row && toProject(row);
  }

  findDefault(): Project | undefined {
    const row = this.#defaultProject.get();
    return row && toProject(row);
  }

  list(): Project[] {
    return this.#all.all().map(toProject);
  }

  setSecret(apiKey: string, apiSecret: string): void {
    this.#setSecret.run(apiSecret, apiKey);
  }

  /** Makes this project the default one (call inside a transaction). */
  makeDefault(apiKey: string): void {
    this.#clearDefault.run();
    this.#setDefault.run(apiKey);
  }
}

function toProject(row: ProjectRow): Project {
  return {
    apiKey: row.api_key,
    name: row.name,
    apiSecret: row.api_secret,
    isDefault: row.is_default === 1,
    createdAt: row.created_at,
  };
}
