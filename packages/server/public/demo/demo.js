// Parlor's demo, after OpenTok's basic video chat sample: join the session named in the page's
// URL (or a new one), publish the camera, subscribe to everyone else.
import { joinCall } from '/call.js';

const status = document.getElementById('status');
const share = document.getElementById('share');

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

joinCall({ apiKey, sessionId, token, status, name: `Guest ${Math.floor(Math.random() * 1000)}` });
