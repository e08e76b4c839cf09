// Parlor's Inspector page: type a session ID, see who connected when, what they published and
// subscribed to, each stream's quality over time from the clients' and the router's side, and
// what went wrong. The data comes from the REST API, authenticated with the project's API key
// and secret (a short-lived JWT signed here, with WebCrypto: HTTPS or localhost) or with a
// moderator token of the session; or, for an operator logged in to the console, from the
// console's API (its cookie), for the project whose API key is typed.
import uPlot from '/inspector/uPlot.esm.js';

const svgNs = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
const status = $('status');
const form = $('open');
const fields = ['apiKey', 'apiSecret', 'token', 'sessionId'];

/** Colours of the graphs' series, in turn. */
const palette = ['#2f6fdf', '#d9480f', '#2b8a3e', '#862e9c', '#e8590c', '#0b7285', '#5c940d', '#c2255c'];

// The credentials stay in this tab only.
for (const name of ['apiKey', 'apiSecret', 'token'])
  $(name).value = sessionStorage.getItem(`inspector.${name}`) ?? '';
$('sessionId').value = new URLSearchParams(location.search).get('sessionId') ?? '';

form.addEventListener('submit', (event) => {
  event.preventDefault();
  for (const name of ['apiKey', 'apiSecret', 'token'])
    sessionStorage.setItem(`inspector.${name}`, $(name).value);
  const sessionId = $('sessionId').value.trim();
  const url = new URL(location.href);
  if (sessionId) url.searchParams.set('sessionId', sessionId);
  else url.searchParams.delete('sessionId');
  history.replaceState(null, '', url);
  open(sessionId).catch((error) => {
    status.textContent = error.message;
  });
});
$('timeZone').addEventListener('change', () => {
  if (lastTimeline) render(meetingOf(lastTimeline));
});
$('meeting').addEventListener('change', () => {
  if (lastTimeline) render(meetingOf(lastTimeline));
});

let lastTimeline = null;

/** About how many samples (and score changes) the page asks for at most. */
const maxSamples = 10_000;

/** The console's operator, when this browser is logged in to the console; null otherwise. */
const operator = fetch('/console/api/me')
  .then((response) => (response.ok ? response.json() : null))
  .catch(() => null);
void operator.then((me) => {
  if (!me) return;
  for (const name of ['apiSecret', 'token']) $(name).closest('label').hidden = true;
  $('operator').textContent = `Console login: ${me.name}`;
  $('operator').hidden = false;
});

async function open(sessionId) {
  const values = Object.fromEntries(fields.map((name) => [name, $(name).value.trim()]));
  for (const id of ['recent', 'summary', 'issues', 'lanes', 'graphs']) $(id).hidden = true;
  status.textContent = 'Loading…';
  const apiKey = encodeURIComponent(values.apiKey);
  const session = encodeURIComponent(sessionId);
  const viaConsole = (await operator) !== null;
  const base = viaConsole ? `/console/api/projects/${apiKey}` : `/v2/project/${apiKey}`;
  const headers = viaConsole
    ? {}
    : values.token
      ? { 'X-Parlor-Token': values.token }
      : { 'X-OPENTOK-AUTH': await projectJwt(values.apiKey, values.apiSecret) };
  if (!sessionId) {
    const path = viaConsole ? '/inspector/sessions' : '/inspector/sessions?count=50';
    const recent = await getJson(`${base}${path}`, headers);
    renderRecent(recent.items);
    status.textContent = `${recent.count} recent sessions`;
    return;
  }
  // A long meeting's samples, each series thinned alike.
  const path = `${viaConsole ? '/sessions' : '/session'}/${session}/inspector?samples=${maxSamples}`;
  lastTimeline = await getJson(`${base}${path}`, headers);
  const choice = $('meeting');
  choice.replaceChildren(el('option', { value: 'all' }, 'all'));
  lastTimeline.meetings.forEach((meeting, index) => {
    const minutes = Math.round((meeting.endAt - meeting.startAt) / 60_000);
    choice.append(
      el('option', { value: String(index) }, `${index + 1}: ${time(meeting.startAt)}, ${minutes} min`),
    );
  });
  // The latest meeting is the one a developer looks for after a call.
  choice.value = lastTimeline.meetings.length > 1 ? String(lastTimeline.meetings.length - 1) : 'all';
  render(meetingOf(lastTimeline));
  status.textContent = '';
}

async function getJson(url, headers) {
  const response = await fetch(url, { headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${response.status}: ${body.message ?? 'refused'}`);
  return body;
}

/** An OpenTok project JWT (HS256), as the server SDKs make them, valid five minutes. */
async function projectJwt(apiKey, apiSecret) {
  if (!crypto.subtle) throw new Error('signing needs HTTPS (or localhost): use a moderator token instead');
  const now = Math.floor(Date.now() / 1000);
  const encode = (value) => base64url(new TextEncoder().encode(JSON.stringify(value)));
  const body = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({
    iss: apiKey,
    ist: 'project',
    iat: now,
    exp: now + 300,
    jti: crypto.randomUUID(),
  })}`;
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(apiSecret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const signature = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(body));
  return `${body}.${base64url(new Uint8Array(signature))}`;
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** The timeline within the chosen meeting (a stretch with somebody connected), or all of it. */
function meetingOf(timeline) {
  const meeting = timeline.meetings[Number($('meeting').value)];
  if (!meeting) return timeline;
  const within = (at) => at >= meeting.startAt && at <= meeting.endAt;
  return {
    ...timeline,
    firstAt: meeting.startAt,
    lastAt: meeting.endAt,
    connections: timeline.connections.filter((c) => meeting.connectionIds.includes(c.connectionId)),
    streams: timeline.streams.filter((s) => meeting.streamIds.includes(s.streamId)),
    events: timeline.events.filter((e) => within(e.at)),
    quality: timeline.quality.filter((e) => within(e.at)),
    scores: timeline.scores.filter((e) => within(e.at)),
    issues: timeline.issues.filter((e) => within(e.at)),
  };
}

function time(ms) {
  const zone = $('timeZone').value;
  return new Date(ms).toLocaleTimeString(undefined, zone === 'UTC' ? { timeZone: 'UTC' } : {});
}

function el(tag, attributes = {}, text = '') {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function svg(tag, attributes = {}, text = '') {
  const node = document.createElementNS(svgNs, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text) node.textContent = text;
  return node;
}

const short = (id) => (id ? id.slice(-6) : '?');

function renderRecent(items) {
  const list = $('recentList');
  list.replaceChildren();
  for (const item of items) {
    const link = el('a', { href: `?sessionId=${encodeURIComponent(item.sessionId)}` }, item.sessionId);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      $('sessionId').value = item.sessionId;
      form.requestSubmit();
    });
    const entry = el('li');
    entry.append(link, ` — last active ${time(item.lastAt)}, ${item.records} records`);
    list.append(entry);
  }
  $('recent').hidden = false;
}

function render(timeline) {
  renderSummary(timeline);
  renderIssues(timeline.issues);
  renderLanes(timeline);
  renderGraphs(timeline);
}

function renderSummary(timeline) {
  const section = $('summary');
  const mediaMode =
    timeline.events.find((event) => event.type === 'connectionCreated')?.data.mediaMode ?? '?';
  const peakStreams = peak(timeline.streams.map((s) => [s.createdAt, s.destroyedAt ?? timeline.lastAt]));
  const peakConnections = peak(
    timeline.connections.map((c) => [c.connectedAt, c.disconnectedAt ?? timeline.lastAt]),
  );
  const platforms = [...new Set(timeline.connections.map((c) => `${c.browser ?? '?'} on ${c.os ?? '?'}`))];
  const sdks = [...new Set(timeline.connections.map((c) => c.sdkVersion ?? '?'))];
  const paths = [...new Set(timeline.events.filter((e) => e.type === 'path').map((e) => e.data.path))];
  const rows = [
    ['Session', timeline.sessionId],
    ['Meetings', String(lastTimeline?.meetings.length ?? 1)],
    ['Start', time(timeline.firstAt)],
    ['Duration', `${Math.round((timeline.lastAt - timeline.firstAt) / 1000)} s`],
    ['Media mode', mediaMode],
    ['Connections', `${timeline.connections.length} (peak ${peakConnections})`],
    ['Streams', `${timeline.streams.length} (peak ${peakStreams})`],
    ['Browsers', platforms.join(', ') || '—'],
    ['SDK versions', sdks.join(', ') || '—'],
    ['Paths', paths.join(', ') || '—'],
    ['Archives', String(timeline.events.filter((e) => e.type === 'archiveStarted').length)],
    ['Records', `${timeline.records} (${timeline.dropped} dropped)`],
  ];
  const list = el('dl');
  for (const [name, value] of rows) list.append(el('dt', {}, name), el('dd', {}, value));
  section.replaceChildren(el('h2', {}, 'Summary'), list);
  section.hidden = false;
}

/** The most intervals open at once. */
function peak(intervals) {
  const edges = intervals.flatMap(([start, end]) => [
    [start, 1],
    [end, -1],
  ]);
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (open += step));
  return most;
}

function renderIssues(issues) {
  const list = $('issueList');
  list.replaceChildren();
  for (const issue of issues)
    list.append(el('li', { class: `issue-${issue.kind}` }, `${time(issue.at)} ${issue.message}`));
  if (issues.length === 0) list.append(el('li', {}, 'Nothing detected.'));
  $('issues').hidden = false;
}

/** The swim lanes under each connection, in this order, with how each is named. */
const laneNames = {
  connected: 'connected',
  publishing: 'publishing',
  subscribing: 'subscribing',
  reconnecting: 'reconnecting',
  audioFallback: 'audio fallback',
  errors: 'errors',
};

/** A hover text: what a span or mark is, then its events, one a line (the first 20). */
function hoverText(heading, events) {
  const lines = events
    .slice(0, 20)
    .map((e) => `${time(e.at)} ${e.source} ${e.type} ${JSON.stringify(e.data)}`);
  if (events.length > 20) lines.push(`… ${events.length - 20} more`);
  return [heading, ...lines].join('\n');
}

/**
 * The timeline: per connection a heading row, then a row per lane it has spans in (connected,
 * publishing, subscribing, reconnecting, audio fallback, errors); spans as bars, errors as marks,
 * each with its events on hover. Failed connects, which have no connection, come first.
 */
function renderLanes(timeline) {
  const width = 960;
  const labelWidth = 180;
  const rowHeight = 20;
  const start = timeline.firstAt;
  const span = Math.max(1000, timeline.lastAt - start);
  const x = (at) => labelWidth + ((at - start) / span) * (width - labelWidth - 10);
  const rows = [];
  const failures = timeline.events.filter((e) => e.connectionId === null && e.source === 'client');
  if (failures.length > 0) rows.push({ label: 'failed connects', marks: failures });
  for (const connection of timeline.connections) {
    const sdk = connection.sdkVersion ? ` · SDK ${connection.sdkVersion}` : '';
    rows.push({
      label: `${short(connection.connectionId)} ${connection.data}`.slice(0, 28),
      heading: true,
      title: `connection ${connection.connectionId}${connection.browser ? ` · ${connection.browser} on ${connection.os}` : ''}${sdk}`,
    });
    for (const lane of Object.keys(laneNames)) {
      const spans = connection.spans.filter((s) => s.lane === lane);
      if (spans.length > 0) rows.push({ label: laneNames[lane], lane, spans, connection });
    }
  }
  const chart = svg('svg', { width, height: rows.length * rowHeight + 24, class: 'lanes' });
  rows.forEach((row, index) => {
    const y = index * rowHeight + 4;
    const label = svg(
      'text',
      { x: row.heading ? 0 : 12, y: y + 12, class: row.heading ? 'lane-heading' : '' },
      row.label,
    );
    if (row.title) label.append(svg('title', {}, row.title));
    chart.append(label);
    for (const event of row.marks ?? []) {
      const mark = svg('circle', { cx: x(event.at), cy: y + 7, r: 4, class: 'lane-event failed' });
      mark.append(svg('title', {}, hoverText(`${time(event.at)} connect failed`, [event])));
      chart.append(mark);
    }
    for (const item of row.spans ?? []) {
      const what = `${laneNames[item.lane]}${item.streamId ? ` stream ${short(item.streamId)}` : ''}`;
      const until = item.open ? 'still at the end' : `until ${time(item.endAt)}`;
      const shape =
        item.lane === 'errors'
          ? svg('circle', { cx: x(item.startAt), cy: y + 7, r: 4, class: 'span-errors' })
          : svg('rect', {
              x: x(item.startAt),
              y: y + 1,
              width: Math.max(3, x(item.endAt) - x(item.startAt)),
              height: rowHeight - 6,
              class: `span-${item.lane}${item.open ? ' open' : ''}`,
            });
      shape.setAttribute('data-connection', row.connection.connectionId);
      if (item.streamId) shape.setAttribute('data-stream', item.streamId);
      const heading =
        item.lane === 'errors' ? `${time(item.startAt)} ${what}` : `${what}: ${time(item.startAt)} ${until}`;
      // The indexes are into the whole session's events, not the meeting's.
      const events = item.eventIndexes.map((i) => lastTimeline.events[i]).filter(Boolean);
      shape.append(svg('title', {}, hoverText(heading, events)));
      chart.append(shape);
    }
  });
  const axisY = rows.length * rowHeight + 18;
  chart.append(svg('text', { x: labelWidth, y: axisY }, time(start)));
  chart.append(svg('text', { x: width - 70, y: axisY }, time(timeline.lastAt)));
  $('laneChart').replaceChildren(chart);
  $('lanes').hidden = false;
}

/** The graphs of each stream: one per figure, a series per publisher, subscriber and router view. */
const figures = [
  {
    title: 'Video bitrate (kbit/s)',
    pick: (d) => (typeof d.videoBitrate === 'number' ? d.videoBitrate / 1000 : null),
    from: 'quality',
  },
  { title: 'Frame rate (fps)', pick: (d) => d.frameRate ?? null, from: 'quality' },
  { title: 'Packet loss (%)', pick: (d) => lossOf(d), from: 'quality' },
  { title: 'Round trip (ms)', pick: (d) => d.rttMs ?? null, from: 'quality' },
  { title: 'Video score (1–5)', pick: (d) => d.video ?? null, from: 'scores', max: 5 },
  { title: 'Audio score (1–5)', pick: (d) => d.audio ?? null, from: 'scores', max: 5 },
];

function lossOf(data) {
  const ratio = data.videoLoss ?? data.fractionLost;
  return typeof ratio === 'number' ? ratio * 100 : null;
}

function seriesName(entry) {
  if (entry.source === 'router') {
    return entry.type === 'publication' ? 'router: received' : `router → ${short(entry.connectionId)}`;
  }
  return `${entry.type} ${short(entry.connectionId)}`;
}

function renderGraphs(timeline) {
  const container = $('graphList');
  container.replaceChildren();
  const streamIds = [
    ...new Set([...timeline.quality, ...timeline.scores].map((e) => e.streamId).filter(Boolean)),
  ];
  for (const streamId of streamIds) {
    const block = el('div', { class: 'stream-graphs', 'data-stream': streamId });
    block.append(el('h3', {}, `Stream ${streamId}`));
    for (const figure of figures) {
      const entries = timeline[figure.from].filter((e) => e.streamId === streamId);
      const series = new Map();
      for (const entry of entries) {
        const value = figure.pick(entry.data);
        if (typeof value !== 'number' || Number.isNaN(value)) continue;
        const name = seriesName(entry);
        if (!series.has(name)) series.set(name, []);
        series.get(name).push([entry.at, value]);
      }
      // A score holds until it changes: each series runs on to the stream's end.
      if (figure.from === 'scores') {
        const end = timeline.streams.find((s) => s.streamId === streamId)?.destroyedAt ?? timeline.lastAt;
        for (const points of series.values())
          points.push([Math.max(end, points.at(-1)[0]), points.at(-1)[1]]);
      }
      if (series.size > 0) block.append(lineChart(figure, series, timeline));
    }
    container.append(block);
  }
  $('graphs').hidden = streamIds.length === 0;
}

/**
 * One figure's graph, drawn by uPlot: its series (the clients' and the router's) on the
 * meeting's time axis, each value shown in the legend as the cursor moves.
 */
function lineChart(figure, series, timeline) {
  // uPlot takes one x axis: every series' times, in seconds, the others' points left as gaps.
  const times = [...new Set([...series.values()].flat().map(([at]) => at))].sort((a, b) => a - b);
  const columns = [...series.values()].map((points) => {
    const byTime = new Map(points);
    return times.map((at) => byTime.get(at) ?? null);
  });
  const wrapper = el('div', { class: 'graph' });
  wrapper.append(el('h4', {}, figure.title));
  const target = el('div', { class: 'chart', 'data-figure': figure.title });
  wrapper.append(target);
  const names = [...series.keys()];
  const utc = $('timeZone').value === 'UTC';
  new uPlot(
    {
      width: 460,
      height: 170,
      tzDate: (seconds) =>
        utc ? uPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC') : new Date(seconds * 1000),
      scales: {
        x: {
          time: true,
          range: [timeline.firstAt / 1000, Math.max(timeline.lastAt, timeline.firstAt + 1000) / 1000],
        },
        y: figure.max
          ? { range: [0, figure.max] }
          : { range: (_u, _min, max) => [0, Math.max(1, max) * 1.1] },
      },
      series: [
        {},
        ...names.map((name, index) => ({
          label: name,
          stroke: palette[index % palette.length],
          width: 2,
          spanGaps: true,
          points: { show: true, size: 5 },
          value: (_u, value) => (value === null ? '—' : formatValue(value)),
        })),
      ],
      axes: [{}, { size: 50, values: (_u, ticks) => ticks.map(formatValue) }],
    },
    [times.map((at) => at / 1000), ...columns],
    target,
  );
  return wrapper;
}

function formatValue(value) {
  return value >= 100 ? String(Math.round(value)) : String(Math.round(value * 10) / 10);
}

if ($('sessionId').value && $('apiKey').value) form.requestSubmit();
