import { generateApiKey, generateApiSecret } from '../auth/credentials.js';
import type { Project } from '../store/ProjectRepository.js';
import type { Store } from '../store/Store.js';

export interface ProjectCredentials {
  readonly apiKey: string;
  readonly apiSecret: string;
}

/** Projects: who may use the REST API and mint tokens, each with its own key and secret. */
export class ProjectService {
  readonly #store: Store;

  constructor(store: Store) {
    this.#store = store;
  }

  /** Creates a project with fresh credentials. */
  create(name: string): Project {
    return this.#store.transaction(() => this.#insert(name, this.#freshCredentials(), false));
  }

  list(): Project[] {
    return this.#store.projects.list();
  }

  find(apiKey: string): Project | undefined {
    return this.#store.projects.find(apiKey);
  }

  /**
   * Returns the default project, creating it on first start. Given credentials, the default
   * project gets them: the same key with another secret rotates the secret; another key makes
   * that project the default (created if new), and the previous one keeps its own credentials
   * so that its sessions and tokens stay valid.
   */
  ensureDefault(credentials: ProjectCredentials | null): Project {
    const { projects } = this.#store;
    return this.#store.transaction(() => {
      const current = projects.findDefault();
      if (!credentials) return current ?? this.#insert('Default project', this.#freshCredentials(), true);
      if (current?.apiKey === credentials.apiKey && current.apiSecret === credentials.apiSecret) {
        return current;
      }
      const existing = projects.find(credentials.apiKey);
      if (!existing) return this.#insert('Default project', credentials, true);
      if (existing.apiSecret !== credentials.apiSecret) {
        projects.setSecret(credentials.apiKey, credentials.apiSecret);
      }
      projects.makeDefault(credentials.apiKey);
      return { ...existing, apiSecret: credentials.apiSecret, isDefault: true };
    });
  }

  #insert(name: string, credentials: ProjectCredentials, isDefault: boolean): Project {
    const project: Project = { ...credentials, name, isDefault: false, createdAt: Date.now() };
    this.#store.projects.insert(project);
    if (!isDefault) return project;
    this.#store.projects.makeDefault(project.apiKey);
    return { ...project, isDefault: true };
  }

  #freshCredentials(): ProjectCredentials {
    let apiKey = generateApiKey();
    while (this.#store.projects.find(apiKey)) apiKey = generateApiKey();
    return { apiKey, apiSecret: generateApiSecret() };
  }
}
