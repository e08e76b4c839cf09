// A call with the API key, session ID and token of the link's fragment (made in the console):
// publish the camera, subscribe to everyone else.
const status = document.getElementById('status');
const params = new URLSearchParams(location.hash.slice(1));
const [apiKey, sessionId, token] = ['apiKey', 'sessionId', 'token'].map((name) => params.get(name) ?? '');

function report(error) {
  if (error) status.textContent = `${error.name}: ${error.message}`;
}

const session = OT.initSession(apiKey, sessionId);
let others = 0;
function showPresence() {
  status.textContent = `Connected: ${others === 1 ? '1 other person' : `${others} other people`} here`;
}

session.on({
  streamCreated(event) {
    session.subscribe(
      event.stream,
      'subscribers',
      { insertMode: 'append', width: '100%', height: '100%' },
      report,
    );
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
  const publisher = OT.initPublisher(
    'publisher',
    { insertMode: 'append', width: '100%', height: '100%' },
    report,
  );
  session.publish(publisher, report);
});
