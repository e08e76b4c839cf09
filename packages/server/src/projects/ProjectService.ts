import { ParlorError } from '@parlor/protocol';
import { generateApiKey, generateApiSecret } from '../auth/credentials.js';
import type { Project } from '../store/ProjectRepository.js';
import type { Repositories, Store } from '../store/Store.js';

export interface ProjectCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** Tries at making the default project, for nodes that start together. */
const maxDefaultAttempts = 3;

/** Projects: who may use the REST API and mint tokens, each with its own key and secret. */
export class ProjectService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Creates a project with fresh credentials. */
  create(name: string): Promise<Project> {
    return this.#store.transaction(async (tx) => insert(tx, name, await freshCredentials(tx), false));
  }

  list(): Promise<Project[]> {
    return this.#store.projects.list();
  }

  find(apiKey: string): Promise<Project | undefined> {
    return this.#store.projects.find(apiKey);
  }

  /** The project; PROJECT_NOT_FOUND when there is none. */
  async get(apiKey: string): Promise<Project> {
    const project = await this.#store.projects.find(apiKey);
    if (!project) throw new ParlorError('PROJECT_NOT_FOUND', apiKey);
    return project;
  }

  async rename(apiKey: string, name: string): Promise<void> {
    if (!(await this.#store.projects.rename(apiKey, name)))
      throw new ParlorError('PROJECT_NOT_FOUND', apiKey);
  }

  /** Suspends (or reactivates) the project: while suspended its REST calls and client tokens are refused. */
  async setSuspended(apiKey: string, suspended: boolean): Promise<void> {
    if (!(await this.#store.projects.setSuspended(apiKey, suspended)))
      throw new ParlorError('PROJECT_NOT_FOUND', apiKey);
  }

  /** Gives the project a new API secret: tokens and REST JWTs signed with the old one are refused from now on. */
  async rotateSecret(apiKey: string): Promise<string> {
    await this.get(apiKey);
    const apiSecret = generateApiSecret();
    await this.#store.projects.setSecret(apiKey, apiSecret);
    return apiSecret;
  }

  /**
   * Returns the default project, creating it on first start. Given credentials, the default
   * project gets them: the same key with another secret rotates the secret; another key makes
   * that project the default (created if new), and the previous one keeps its own credentials
   * so that its sessions and tokens stay valid. Nodes of a cluster starting together on one
   * database race to create it: the losers' transactions fail, and their next try finds the
   * winner's project.
   */
  async ensureDefault(credentials: ProjectCredentials | null): Promise<Project> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#ensureDefault(credentials);
      } catch (error) {
        if (attempt === maxDefaultAttempts) throw error;
      }
    }
  }

  #ensureDefault(credentials: ProjectCredentials | null): Promise<Project> {
    return this.#store.transaction(async (tx) => {
      const { projects } = tx;
      const current = await projects.findDefault();
      if (!credentials) return current ?? insert(tx, 'Default project', await freshCredentials(tx), true);
      if (current?.apiKey === credentials.apiKey && current.apiSecret === credentials.apiSecret) {
        return current;
      }
      const existing = await projects.find(credentials.apiKey);
      if (!existing) return insert(tx, 'Default project', credentials, true);
      if (existing.apiSecret !== credentials.apiSecret) {
        await projects.setSecret(credentials.apiKey, credentials.apiSecret);
      }
      await projects.makeDefault(credentials.apiKey);
      return { ...existing, apiSecret: credentials.apiSecret, isDefault: true };
    });
  }
}

async function insert(
  tx: Repositories,
  name: string,
  credentials: ProjectCredentials,
  isDefault: boolean,
): Promise<Project> {
  const project: Project = {
    ...credentials,
    name,
    isDefault: false,
    suspended: false,
    createdAt: Date.now(),
  };
  await tx.projects.insert(project);
  if (!isDefault) return project;
  await tx.projects.makeDefault(project.apiKey);
  return { ...project, isDefault: true };
}

async function freshCredentials(tx: Repositories): Promise<ProjectCredentials> {
  let apiKey = generateApiKey();
  while (await tx.projects.find(apiKey)) apiKey = generateApiKey();
  return { apiKey, apiSecret: generateApiSecret() };
}
