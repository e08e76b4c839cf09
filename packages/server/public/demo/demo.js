// Parlor's demo, after OpenTok's basic video chat sample: join the session named in the page's
// URL (or a new one), publish the camera, subscribe to everyone else.
const status = document.getElementById('status');
const share = document.getElementById('share');

function report(error) {
  if (error) status.textContent = `${error.name}: ${error.message}`;
}

const requested = new URLSearchParams(location.search).get('session');
const query = requested ? `?session=${encodeURIComponent(requested)}` : '';
const response = await fetch(`/demo/credentials${query}`);
const answer = await response.json();
if (!response.ok) {
  // Past the demo's rate limits: the message says when to try again.
  status.textContent = answer.message;
  throw new Error(answer.message);
}
const { apiKey, sessionId, token } = answer;

const link = new URL(location.href);
link.search = `?session=${encodeURIComponent(sessionId)}`;
history.replaceState(null, '', link);
share.href = share.textContent = link.href;

const session = OT.initSession(apiKey, sessionId);
let others = 0;
function showPresence() {
  status.textContent = `Connected: ${others === 1 ? '1 other person' : `${others} other people`} here`;
}

session.on({
  streamCreated(event) {
    const properties = { insertMode: 'append', width: '100%', height: '100%' };
    session.subscribe(event.stream, 'subscribers', properties, report);
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

const publisher = OT.initPublisher(
  'publisher',
  { insertMode: 'append', width: '100%', height: '100%', name: `Guest ${Math.floor(Math.random() * 1000)}` },
  report,
);

session.connect(token, (error) => {
  if (error) {
    report(error);
    return;
  }
  showPresence();
  session.publish(publisher, report);
});
