// The demo's "test your network" page: OpenTok's pre-call network test (opentok-network-test-js,
// served by Parlor at /v2/js/network-test.js) with Parlor's OT, in a fresh routed demo session.
// `?timeout=MS` shortens the quality test (5000 to 30000; default 15000).
const status = document.getElementById('status');
const show = (id, text) => {
  document.getElementById(id).textContent = text;
};

/** What each failure type of testConnectivity means here. */
const failureWords = {
  api: "this server's API cannot be reached",
  messaging: 'the session cannot be joined (signaling refused or unreachable)',
  media: 'the Media Router cannot be reached: no media can flow',
  logging: "this server's logging endpoint cannot be reached",
  'OpenTok.js': 'the camera or microphone could not be used',
};

function mosWords(mos) {
  if (mos >= 4) return 'excellent';
  if (mos >= 3.5) return 'good';
  if (mos >= 3) return 'fair';
  if (mos >= 2.4) return 'poor';
  return 'bad';
}

const kbits = (bps) => `${Math.round(bps / 1000)} kbit/s`;
const percent = (ratio) => `${(100 * (ratio ?? 0)).toFixed(1)} % packets lost`;

function describeAudio(audio) {
  const measures = `MOS ${audio.mos.toFixed(2)} (${mosWords(audio.mos)}), ${kbits(audio.bitrate ?? 0)}, ${percent(audio.packetLossRatio)}`;
  return audio.supported ? `Supported: ${measures}.` : `Not supported (${audio.reason}): ${measures}.`;
}

function describeVideo(video) {
  if (!video.supported) {
    const mos = video.mos === undefined ? '' : `: MOS ${video.mos.toFixed(2)}`;
    return `Not supported (${video.reason})${mos}. Publish audio only.`;
  }
  return (
    `Supported: MOS ${video.mos.toFixed(2)} (${mosWords(video.mos)}), ${kbits(video.bitrate)}, ` +
    `${percent(video.packetLossRatio)}. Recommended: ${video.recommendedResolution} ` +
    `at ${video.recommendedFrameRate} fps.`
  );
}

const response = await fetch('/demo/credentials?mediaMode=routed');
const answer = await response.json();
if (!response.ok) {
  // Past the demo's rate limits: the message says when to try again.
  status.textContent = answer.message;
  throw new Error(answer.message);
}
const { apiKey, sessionId, token } = answer;
const timeout = Number(new URLSearchParams(location.search).get('timeout')) || 15000;
// proxyServerUrl: the package's own analytics go to this server (which drops them), not to
// OpenTok's logging host.
const NetworkTest = globalThis.OpenTokNetworkConnectivity.default;
const test = new NetworkTest(OT, { apiKey, sessionId, token }, { timeout, proxyServerUrl: location.origin });

status.textContent = 'Testing connectivity…';
const connectivity = await test.testConnectivity();
if (connectivity.success) {
  show('connectivity', 'All reachable: API, messaging, Media Router and logging.');
} else {
  const failures = connectivity.failedTests.map(
    ({ type, error }) => `${failureWords[type] ?? type} (${type}: ${error.name})`,
  );
  show('connectivity', `Failed: ${failures.join('; ')}.`);
  status.textContent = 'Done: fix connectivity first.';
  throw new Error('connectivity failed');
}

status.textContent = 'Testing quality…';
try {
  const quality = await test.testQuality();
  show('audio', describeAudio(quality.audio));
  show('video', describeVideo(quality.video));
  status.textContent = 'Done.';
} catch (error) {
  status.textContent = `The quality test failed: ${error.name}: ${error.message}`;
}
