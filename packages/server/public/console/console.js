// The project console: every call goes to /console/api with the login's cookie and, for a
// change, its CSRF token. Values are shown with textContent only, never as HTML.
const $ = (id) => document.getElementById(id);
const status = $('status');
let csrfToken = '';
let projects = [];
let apiKey = '';
let sessionId = '';

async function api(method, path, body) {
  const headers = { 'X-CSRF-Token': csrfToken };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/console/api${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (response.status === 401) location.assign('/console/login');
  const answer = response.status === 204 ? null : await response.json();
  if (!response.ok) throw new Error(answer?.message ?? response.statusText);
  return answer;
}

/** Runs an action of a button or form, showing its error in the status line. */
function act(run) {
  return async (event) => {
    event.preventDefault();
    status.textContent = '';
    try {
      await run(event);
    } catch (error) {
      status.textContent = error.message;
    }
  };
}

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

function button(label, onClick) {
  const element = document.createElement('button');
  element.type = 'button';
  element.textContent = label;
  element.addEventListener('click', act(onClick));
  return element;
}

const time = (ms) => new Date(ms).toLocaleString();
const project = () => projects.find((each) => each.apiKey === apiKey);

async function loadProjects(select) {
  projects = await api('GET', '/projects');
  apiKey =
    select ?? (project() ? apiKey : ((projects.find((each) => each.isDefault) ?? projects[0])?.apiKey ?? ''));
  const selector = $('project-select');
  selector.replaceChildren(
    ...projects.map((each) => new Option(`${each.name}${each.suspended ? ' (suspended)' : ''}`, each.apiKey)),
  );
  selector.value = apiKey;
  showProject();
  await Promise.all([loadRecent(), loadCallbacks()]);
}

function showProject() {
  const current = project();
  if (!current) return;
  $('api-key').textContent = current.apiKey;
  $('api-secret').textContent = '••••••••';
  $('project-state').textContent = current.suspended
    ? 'suspended: its tokens and REST calls are refused'
    : 'active';
  $('suspend').textContent = current.suspended ? 'Reactivate' : 'Suspend';
}

async function loadRecent() {
  const [sessions, archives] = await Promise.all([
    api('GET', `/projects/${apiKey}/sessions`),
    api('GET', `/projects/${apiKey}/archives`),
  ]);
  $('sessions').replaceChildren();
  for (const session of sessions) {
    const row = $('sessions').insertRow();
    const link = document.createElement('a');
    link.href = `/inspector?sessionId=${encodeURIComponent(session.sessionId)}`;
    link.textContent = session.sessionId;
    const code = document.createElement('code');
    code.append(link);
    row.insertCell().append(code);
    cell(row, session.mediaMode);
    cell(row, session.archiveMode);
    // In a cluster, the node hosting it.
    const host = session.live?.nodeId ? ` on ${session.live.nodeId}` : '';
    cell(row, session.live ? `${session.live.connections}${host}` : '–');
    cell(row, session.live ? String(session.live.streams) : '–');
    cell(row, time(session.createdAt));
  }
  $('archives').replaceChildren();
  for (const archive of archives) {
    const row = $('archives').insertRow();
    cell(row, archive.name ?? archive.id);
    cell(row, archive.status);
    cell(row, `${archive.duration} s`);
    cell(row, `${(archive.size / 1e6).toFixed(1)} MB`);
    cell(row, time(archive.createdAt));
    const actions = row.insertCell();
    if (archive.url) {
      actions.append(
        button('Play', () => {
          const player = $('player');
          player.hidden = false;
          player.src = archive.url;
          void player.play();
        }),
      );
      const download = document.createElement('a');
      download.href = archive.url;
      download.textContent = ' Download ';
      actions.append(download);
    }
    if (archive.status === 'available')
      actions.append(
        button('Delete', async () => {
          if (!confirm(`Delete archive ${archive.id}?`)) return;
          await api('DELETE', `/projects/${apiKey}/archives/${archive.id}`);
          await loadRecent();
        }),
      );
  }
}

const callbackKinds = [
  ['session', 'Session monitoring'],
  ['archive', 'Archive status'],
  ['sip', 'SIP call events'],
];

async function loadCallbacks() {
  const { urls, deliveries } = await api('GET', `/projects/${apiKey}/callbacks`);
  const forms = callbackKinds.map(([kind, label]) => {
    const form = document.createElement('form');
    form.className = 'row';
    const input = document.createElement('input');
    input.id = `callback-${kind}`;
    input.size = 50;
    input.placeholder = 'https://…';
    input.value = urls[kind] ?? '';
    const title = document.createElement('label');
    title.append(`${label} `, input);
    const save = document.createElement('button');
    save.type = 'submit';
    save.textContent = 'Save';
    form.append(
      title,
      save,
      button('Send a test event', async () => {
        await api('POST', `/projects/${apiKey}/callbacks/${kind}/test`);
        status.textContent = 'Test event queued: its delivery shows below.';
        setTimeout(() => void loadCallbacks(), 1500);
      }),
    );
    form.addEventListener(
      'submit',
      act(async () => {
        await api('PUT', `/projects/${apiKey}/callbacks/${kind}`, { url: input.value.trim() || null });
        await loadCallbacks();
      }),
    );
    return form;
  });
  $('callback-urls').replaceChildren(...forms);
  $('deliveries').replaceChildren();
  for (const delivery of deliveries) {
    const row = $('deliveries').insertRow();
    cell(row, time(delivery.updatedAt));
    cell(row, delivery.event);
    cell(row, delivery.url);
    cell(row, delivery.state);
    cell(row, delivery.result);
    cell(row, String(delivery.attempts));
  }
}

async function loadApplications() {
  const applications = await api('GET', '/applications');
  $('application-list').replaceChildren(
    ...applications.map((application) => {
      const item = document.createElement('li');
      item.textContent = `${application.name}: ${application.applicationId}`;
      return item;
    }),
  );
}

async function loadApiTokens() {
  const tokens = await api('GET', '/tokens');
  $('token-list').replaceChildren();
  for (const token of tokens) {
    const row = $('token-list').insertRow();
    cell(row, token.label);
    cell(row, token.name);
    cell(row, time(token.createdAt));
    cell(row, token.lastUsedAt === null ? 'never' : time(token.lastUsedAt));
    row.insertCell().append(
      button('Revoke', async () => {
        if (!confirm(`Revoke the token "${token.label}"? Scripts using it will be refused.`)) return;
        await api('DELETE', `/tokens/${token.tokenId}`);
        await loadApiTokens();
      }),
    );
  }
}

function updateJoinLink() {
  const token = $('token').textContent;
  const link = $('join-link');
  link.href = token ? `/join#${new URLSearchParams({ apiKey, sessionId, token }).toString()}` : '#';
}

$('project-select').addEventListener(
  'change',
  act(async (event) => {
    await loadProjects(event.target.value);
  }),
);
$('logout').addEventListener(
  'click',
  act(async () => {
    await api('POST', '/logout');
    location.assign('/console/login');
  }),
);
$('reveal-secret').addEventListener(
  'click',
  act(async () => {
    $('api-secret').textContent = (await api('POST', `/projects/${apiKey}/secret`)).apiSecret;
  }),
);
$('rotate-secret').addEventListener(
  'click',
  act(async () => {
    if (!confirm('Tokens and REST calls signed with the current secret will be refused. Rotate?')) return;
    $('api-secret').textContent = (await api('POST', `/projects/${apiKey}/secret/rotate`)).apiSecret;
  }),
);
$('suspend').addEventListener(
  'click',
  act(async () => {
    await api('PATCH', `/projects/${apiKey}`, { suspended: !project().suspended });
    await loadProjects(apiKey);
  }),
);
$('rename').addEventListener(
  'submit',
  act(async () => {
    await api('PATCH', `/projects/${apiKey}`, { name: $('rename-name').value });
    await loadProjects(apiKey);
  }),
);
$('new-project').addEventListener(
  'submit',
  act(async () => {
    const created = await api('POST', '/projects', { name: $('new-project-name').value });
    $('new-project-name').value = '';
    await loadProjects(created.apiKey);
  }),
);
$('session-form').addEventListener(
  'submit',
  act(async () => {
    const location = $('session-location').value.trim();
    const session = await api('POST', `/projects/${apiKey}/sessions`, {
      mediaMode: $('session-media').value,
      archiveMode: $('session-archive').value,
      ...(location ? { location } : {}),
    });
    sessionId = session.sessionId;
    $('session-id').textContent = sessionId;
    $('token').textContent = '';
    updateJoinLink();
    await loadRecent();
  }),
);
$('token-form').addEventListener(
  'submit',
  act(async () => {
    if (!sessionId) throw new Error('Create a session first');
    const expireTime = Math.floor(Date.now() / 1000) + Number($('token-hours').value) * 3600;
    const data = $('token-data').value;
    const { token } = await api('POST', `/projects/${apiKey}/tokens`, {
      sessionId,
      role: $('token-role').value,
      expireTime,
      ...(data ? { data } : {}),
    });
    $('token').textContent = token;
    updateJoinLink();
  }),
);
$('refresh').addEventListener(
  'click',
  act(async () => {
    await Promise.all([loadRecent(), loadCallbacks()]);
  }),
);
$('new-application').addEventListener(
  'submit',
  act(async () => {
    const created = await api('POST', '/applications', { name: $('new-application-name').value });
    // The private key exists only in this answer: saved as a file, then forgotten by the page.
    const file = `${created.applicationId}.key`;
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([created.privateKey], { type: 'application/x-pem-file' }));
    link.download = file;
    link.click();
    URL.revokeObjectURL(link.href);
    $('private-key-file').textContent = file;
    $('private-key-note').hidden = false;
    await loadApplications();
  }),
);
$('new-api-token').addEventListener(
  'submit',
  act(async () => {
    const created = await api('POST', '/tokens', { label: $('new-api-token-label').value });
    $('new-api-token-value').textContent = created.token;
    $('new-api-token-note').hidden = false;
    $('new-api-token-label').value = '';
    await loadApiTokens();
  }),
);
for (const copy of document.querySelectorAll('[data-copy]')) {
  copy.addEventListener(
    'click',
    act(async () => {
      const source = $(copy.dataset.copy);
      await navigator.clipboard.writeText(
        source instanceof HTMLAnchorElement ? source.href : source.textContent,
      );
      status.textContent = 'Copied.';
    }),
  );
}

try {
  const me = await api('GET', '/me');
  csrfToken = me.csrfToken;
  $('operator').textContent = me.name;
  await Promise.all([loadProjects(), loadApplications(), loadApiTokens()]);
} catch (error) {
  status.textContent = error.message;
}
