// One call, shared by the demo (/) and the console's join page (/join): connects with the
// credentials, publishes the camera when the token's role allows, subscribes to everyone else
// and says in the status line who is here.
const fill = { insertMode: 'append', width: '100%', height: '100%' };

/** Joins the session; `name` is the publisher's (none by default). Returns the OT session. */
export function joinCall({ apiKey, sessionId, token, status, name }) {
  const report = (error) => {
    if (error) status.textContent = `${error.name}: ${error.message}`;
  };
  const session = OT.initSession(apiKey, sessionId);
  let others = 0;
  const showPresence = () => {
    status.textContent = `Connected: ${others === 1 ? '1 other person' : `${others} other people`} here`;
  };

  session.on({
    streamCreated(event) {
      session.subscribe(event.stream, 'subscribers', fill, report);
    },
    connectionCreated() {
      others += 1;
      showPresence();
    },
    connectionDestroyed() {
      others -= 1;
      showPresence();
    },
    sessionDisconnected(event) {
      status.textContent = `Disconnected (${event.reason})`;
    },
  });

  session.connect(token, (error) => {
    if (error) {
      report(error);
      return;
    }
    showPresence();
    // A token with the subscriber role joins to watch.
    if (session.capabilities.publish !== 1) return;
    const publisher = OT.initPublisher('publisher', { ...fill, ...(name ? { name } : {}) }, report);
    session.publish(publisher, report);
  });
  return session;
}
