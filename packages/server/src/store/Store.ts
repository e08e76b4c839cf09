import { ApplicationRepository } from './ApplicationRepository.js';
import { ArchiveRepository } from './ArchiveRepository.js';
import { CallbackRepository } from './CallbackRepository.js';
import { InspectorRepository } from './InspectorRepository.js';
import { DeliveryHistoryRepository } from './DeliveryHistoryRepository.js';
import { OperatorRepository } from './OperatorRepository.js';
import { PostgresDatabase, type PostgresOptions } from './PostgresDatabase.js';
import { ProjectRepository } from './ProjectRepository.js';
import { RenewalKeyRepository } from './RenewalKeyRepository.js';
import { SessionRepository } from './SessionRepository.js';
import type { SqlClient, SqlDialect } from './SqlClient.js';
import { SqliteDatabase } from './SqliteDatabase.js';
import type { StoreDatabase } from './StoreDatabase.js';
import { WebhookRepository } from './WebhookRepository.js';

/** A repository per entity, on the database or on one transaction of it. */
export interface Repositories {
  readonly projects: ProjectRepository;
  readonly applications: ApplicationRepository;
  readonly sessions: SessionRepository;
  readonly archives: ArchiveRepository;
  readonly callbacks: CallbackRepository;
  readonly webhooks: WebhookRepository;
  readonly inspector: InspectorRepository;
  readonly deliveryHistory: DeliveryHistoryRepository;
  readonly operators: OperatorRepository;
  readonly renewalKeys: RenewalKeyRepository;
}

/** Where the store is: a SQLite file (one node) or a PostgreSQL database (a cluster). */
export type StoreLocation =
  { readonly engine: 'sqlite'; readonly file: string } | ({ readonly engine: 'postgres' } & PostgresOptions);

/**
 * Parlor's durable records: projects, applications, sessions, archives, callbacks, the
 * webhook queue and its history, the Inspector's records, the console's operators and the keys of
 * renewed tokens, the same repositories on either engine. Every call is asynchronous.
 */
export class Store implements Repositories {
  readonly projects: ProjectRepository;
  readonly applications: ApplicationRepository;
  readonly sessions: SessionRepository;
  readonly archives: ArchiveRepository;
  readonly callbacks: CallbackRepository;
  readonly webhooks: WebhookRepository;
  readonly inspector: InspectorRepository;
  readonly deliveryHistory: DeliveryHistoryRepository;
  readonly operators: OperatorRepository;
  readonly renewalKeys: RenewalKeyRepository;
  readonly #database: StoreDatabase;

  private constructor(database: StoreDatabase) {
    this.#database = database;
    const repositories = repositoriesOn(database);
    this.projects = repositories.projects;
    this.applications = repositories.applications;
    this.sessions = repositories.sessions;
    this.archives = repositories.archives;
    this.callbacks = repositories.callbacks;
    this.webhooks = repositories.webhooks;
    this.inspector = repositories.inspector;
    this.deliveryHistory = repositories.deliveryHistory;
    this.operators = repositories.operators;
    this.renewalKeys = repositories.renewalKeys;
  }

  /** Opens (creating it if needed) the store and brings its schema up to date. */
  static async open(location: StoreLocation): Promise<Store> {
    return new Store(
      location.engine === 'sqlite'
        ? SqliteDatabase.open(location.file)
        : await PostgresDatabase.open(location),
    );
  }

  get engine(): SqlDialect {
    return this.#database.dialect;
  }

  get schemaVersion(): number {
    return this.#database.schemaVersion;
  }

  /**
   * Runs `fn` in one serializable transaction: all its writes land, or none (it throws, also
   * when it raced another node's transaction: try again). `fn` works through the repositories it
   * is given; the store's own wait for the transaction to end.
   */
  transaction<T>(fn: (tx: Repositories) => Promise<T>): Promise<T> {
    return this.#database.transaction((client) => fn(repositoriesOn(client)));
  }

  /** Closes the database once the statements under way have ended; idempotent. */
  close(): Promise<void> {
    return this.#database.close();
  }
}

function repositoriesOn(client: SqlClient): Repositories {
  return {
    projects: new ProjectRepository(client),
    applications: new ApplicationRepository(client),
    sessions: new SessionRepository(client),
    archives: new ArchiveRepository(client),
    callbacks: new CallbackRepository(client),
    webhooks: new WebhookRepository(client),
    inspector: new InspectorRepository(client),
    deliveryHistory: new DeliveryHistoryRepository(client),
    operators: new OperatorRepository(client),
    renewalKeys: new RenewalKeyRepository(client),
  };
}
