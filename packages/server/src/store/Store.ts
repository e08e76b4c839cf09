import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ApplicationRepository } from './ApplicationRepository.js';
import { ArchiveRepository } from './ArchiveRepository.js';
import { CallbackRepository } from './CallbackRepository.js';
import { migrations } from './migrations.js';
import { ProjectRepository } from './ProjectRepository.js';
import { SessionRepository } from './SessionRepository.js';
import { WebhookRepository } from './WebhookRepository.js';

/** Parlor's embedded store: one SQLite file (WAL) and a repository per entity. */
export class Store {
  readonly projects: ProjectRepository;
  readonly applications: ApplicationRepository;
  readonly sessions: SessionRepository;
  readonly archives: ArchiveRepository;
  readonly callbacks: CallbackRepository;
  readonly webhooks: WebhookRepository;
  readonly #db: Database.Database;

  private constructor(db: Database.Database) {
    this.#db = db;
    this.projects = new ProjectRepository(db);
    this.applications = new ApplicationRepository(db);
    this.sessions = new SessionRepository(db);
    this.archives = new ArchiveRepository(db);
    this.callbacks = new CallbackRepository(db);
    this.webhooks = new WebhookRepository(db);
  }

  /** Opens (creating if needed) the store file and brings its schema up to date. */
  static open(file: string): Store {
    mkdirSync(dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // In WAL mode NORMAL loses no committed transaction when the process crashes; only a
      // power loss may roll back the last ones. FULL would cost an fsync per session create.
      db.pragma('synchronous = NORMAL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new Store(db);
  }

  get schemaVersion(): number {
    return this.#db.pragma('user_version', { simple: true }) as number;
  }

  /** Runs `fn` in one transaction: all its writes land, or none. */
  transaction<T>(fn: () => T): T {
    return this.#db.transaction(fn)();
  }

  /** Folds the WAL into the database file and closes it; idempotent. */
  close(): void {
    if (!this.#db.open) return;
    this.#db.pragma('wal_checkpoint(TRUNCATE)');
    this.#db.close();
  }
}

function migrate(db: Database.Database): void {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > migrations.length) {
    throw new Error(
      `The store's schema version ${applied} is newer than this Parlor knows (${migrations.length})`,
    );
  }
  for (let version = applied + 1; version <= migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version - 1] as string);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
