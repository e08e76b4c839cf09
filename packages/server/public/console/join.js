// A call with the API key, session ID and token of the link's fragment (made in the console).
import { joinCall } from '/call.js';

const params = new URLSearchParams(location.hash.slice(1));
const [apiKey, sessionId, token] = ['apiKey', 'sessionId', 'token'].map((name) => params.get(name) ?? '');
joinCall({ apiKey, sessionId, token, status: document.getElementById('status') });
