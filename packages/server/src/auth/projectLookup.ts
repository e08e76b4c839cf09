/** What the verifiers need to know of projects and sessions; the store provides it. */
export interface CredentialLookup {
  /** The API secret of the project with this API key, if there is one. */
  secretOf(apiKey: string): string | undefined;
  /** The API key of the project a session belongs to, if the session exists. */
  projectOfSession(sessionId: string): string | undefined;
}
