/** What the verifiers need to know of projects and sessions; the store provides it. */
export interface CredentialLookup {
  /** The API secret of the OpenTok project with this API key, if there is one. */
  secretOf(apiKey: string): Promise<string | undefined>;
  /** The public key (SPKI PEM) of the Vonage application with this ID, if there is one. */
  publicKeyOf(applicationId: string): Promise<string | undefined>;
  /** The ID (API key or application ID) of the project a session belongs to, if it exists. */
  projectOfSession(sessionId: string): Promise<string | undefined>;
}
